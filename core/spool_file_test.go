//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nobody is the uid (and gid) the refusal tests give to another user.
const nobody = 65534

// forgedSpool leaves at path a spool that a dead process left with
// records it never wrote: what another user would plant for this process
// to replay as its own.
func forgedSpool(t testing.TB, path string) {
	t.Helper()
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		s.head.pid.Store(4242)
		commit(t, s.buffers[0], 1, lines(7, 0, 5)...)
	})
}

// requireRefused checks that New with the spool at path refuses it with
// an error matching ErrSpool that contains want, writes nothing to the
// sink (no record of the spool, no notice), runs on memory buffers that
// lose nothing, and that Recover refuses it too; and that the file, if
// there is one, is left exactly as it was.
func requireRefused(t *testing.T, path, want string) {
	t.Helper()
	lbefore, lbeforeErr := os.Lstat(path)
	before, beforeErr := readRegular(path)

	var errs errorLog
	sink := &recSink{}
	w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(errs.handle))
	require.True(t, w.spool == nil, "the spool is used")
	assert.Empty(t, sink.Data(), "New wrote to the sink")
	require.Len(t, errs.Errors(), 1)
	err := errs.Errors()[0]
	require.ErrorIs(t, err, ErrSpool)
	require.Contains(t, err.Error(), want)
	require.Contains(t, err.Error(), path)
	recs := lines(0, 0, 100)
	for _, p := range recs {
		_, err := w.Write(p)
		require.NoError(t, err)
	}
	require.ErrorIs(t, w.Sync(), ErrSpool)
	require.NoError(t, w.Close())
	assert.Equal(t, string(bytes.Join(recs, nil)), string(sink.Data()), "the sink has more than this Writer's records")
	assert.Zero(t, w.Stats().RecoveredRecords)

	var out bytes.Buffer
	_, err = Recover(path, &out)
	require.ErrorIs(t, err, ErrSpool)
	require.Contains(t, err.Error(), want)
	assert.Empty(t, out.Bytes(), "Recover wrote records")

	after, afterErr := readRegular(path)
	assert.Equal(t, beforeErr == nil, afterErr == nil)
	assert.True(t, bytes.Equal(before, after), "the file changed")
	lafter, lafterErr := os.Lstat(path)
	assert.Equal(t, lbeforeErr == nil, lafterErr == nil)
	if lbeforeErr == nil && lafterErr == nil {
		assert.Equal(t, lbefore.Mode(), lafter.Mode())
		assert.Equal(t, lbefore.ModTime(), lafter.ModTime())
	}
}

// readRegular returns the content of the file at path if it is a regular
// file (a named pipe would block a read), and an error otherwise.
func readRegular(path string) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return os.ReadFile(path)
}

// TestSpoolCreatedPrivate checks that New creates a spool that only its
// owner can read or write, and opens it again.
func TestSpoolCreatedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	for range 2 {
		w := New(WithSink(io.Discard), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
		require.NotNil(t, w.spool)
		require.NoError(t, w.Close())
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode()) // with umask 022 or tighter
		assert.Equal(t, os.Geteuid(), int(info.Sys().(*syscall.Stat_t).Uid))
	}
}

// TestSpoolRefused checks each spool that another user could have read
// or forged: its records are never replayed, not even its notice written,
// New runs on memory buffers, and Recover refuses it too.
func TestSpoolRefused(t *testing.T) {
	t.Run("mode 0666", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "spool")
		forgedSpool(t, path)
		require.NoError(t, os.Chmod(path, 0o666))
		requireRefused(t, path, "refused: mode 0666 lets group or others read or write it")
	})
	t.Run("mode 0640", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "spool")
		forgedSpool(t, path)
		require.NoError(t, os.Chmod(path, 0o640))
		requireRefused(t, path, "refused: mode 0640")
	})
	t.Run("mode 0602", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "spool")
		forgedSpool(t, path)
		require.NoError(t, os.Chmod(path, 0o602))
		requireRefused(t, path, "refused: mode 0602")
	})
	t.Run("another owner", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "spool")
		forgedSpool(t, path)
		if err := os.Chown(path, nobody, nobody); err != nil {
			t.Skipf("cannot give a file to another user: %v (TestSpoolRefusedToAnotherUser covers it as that user)", err)
		}
		requireRefused(t, path, fmt.Sprintf("refused: owned by uid %d, not by uid %d", nobody, os.Geteuid()))
	})
	t.Run("symlink to a spool", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "target")
		forgedSpool(t, target)
		before, err := os.ReadFile(target)
		require.NoError(t, err)
		path := filepath.Join(dir, "spool")
		require.NoError(t, os.Symlink(target, path))
		requireRefused(t, path, "refused: a symbolic link, not a regular file")
		after, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(before, after), "the link's target changed")
	})
	t.Run("dangling symlink", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "target")
		path := filepath.Join(dir, "spool")
		require.NoError(t, os.Symlink(target, path))
		requireRefused(t, path, "refused: a symbolic link, not a regular file")
		_, err := os.Lstat(target)
		assert.ErrorIs(t, err, os.ErrNotExist, "the link's target was created")
	})
	t.Run("directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "spool")
		require.NoError(t, os.Mkdir(path, 0o700))
		requireRefused(t, path, "refused: a directory, not a regular file")
	})
	t.Run("fifo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "spool")
		require.NoError(t, syscall.Mkfifo(path, 0o600))
		requireRefused(t, path, "refused: a named pipe, not a regular file")
	})
}

// refusalChildEnv names the environment variable that makes
// TestSpoolRefusedToAnotherUser a child, run as another user, in the
// directory it names.
const refusalChildEnv = "ASYNCLOG_REFUSAL_CHILD"

// TestSpoolRefusedToAnotherUser runs the test binary again as uid 65534,
// an ordinary user, against spools that root left for it: a forged spool
// of root's that the child may write (mode 0666) is refused for its owner
// and one it may only read (0644) for its permissions, neither replayed;
// the spool the child creates itself is its own, mode 0600, and used;
// and a link to it, or a dangling link, is refused. It needs root, to
// change users.
func TestSpoolRefusedToAnotherUser(t *testing.T) {
	if dir := os.Getenv(refusalChildEnv); dir != "" {
		refusalChild(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	// The child must reach the test binary and its directory: a copy in a
	// directory everyone may enter.
	top, err := os.MkdirTemp("", "asynclog-refusal-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(top) })
	require.NoError(t, os.Chmod(top, 0o755))
	bin := filepath.Join(top, "core.test")
	exe, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, exe, 0o755))
	dir := filepath.Join(top, "child")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chown(dir, nobody, nobody))

	writable, readable := filepath.Join(dir, "writable.spool"), filepath.Join(dir, "readable.spool")
	forgedSpool(t, writable)
	require.NoError(t, os.Chmod(writable, 0o666))
	forgedSpool(t, readable)
	require.NoError(t, os.Chmod(readable, 0o644))
	before := map[string][]byte{}
	for _, p := range []string{writable, readable} {
		before[p], err = os.ReadFile(p)
		require.NoError(t, err)
	}

	cmd := exec.Command(bin, "-test.run=^TestSpoolRefusedToAnotherUser$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), refusalChildEnv+"="+dir, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0", "TMPDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		// A container may not map the uid, or /tmp may be noexec.
		t.Skipf("cannot run the test binary as uid %d: %v", nobody, err)
	}
	err = cmd.Wait()
	require.NoError(t, err, "%s", &out)
	require.Contains(t, out.String(), "refusal child: checked as uid "+strconv.Itoa(nobody), "the child did not run its checks:\n%s", &out)

	for p, data := range before {
		after, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, after), "%s changed", p)
	}
	_, err = os.Lstat(filepath.Join(dir, "target"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the dangling link's target was created")
}

// refusalChild is the child of TestSpoolRefusedToAnotherUser, running as
// another user in dir.
func refusalChild(t *testing.T, dir string) {
	require.Equal(t, nobody, os.Geteuid())
	requireRefused(t, filepath.Join(dir, "writable.spool"), "refused: owned by uid 0, not by uid "+strconv.Itoa(nobody))
	requireRefused(t, filepath.Join(dir, "readable.spool"), "permission denied")

	own := filepath.Join(dir, "own.spool")
	sink := &recSink{}
	w := New(WithSink(sink), WithSpool(own), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
	require.NotNil(t, w.spool)
	_, err := w.Write([]byte("mine\n"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "mine\n", string(sink.Data()))
	info, err := os.Stat(own)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode())
	assert.Equal(t, nobody, int(info.Sys().(*syscall.Stat_t).Uid))

	link := filepath.Join(dir, "link.spool")
	require.NoError(t, os.Symlink(own, link))
	requireRefused(t, link, "refused: a symbolic link")
	dangling := filepath.Join(dir, "dangling.spool")
	require.NoError(t, os.Symlink(filepath.Join(dir, "target"), dangling))
	requireRefused(t, dangling, "refused: a symbolic link")
	if !t.Failed() {
		fmt.Printf("refusal child: checked as uid %d\n", os.Geteuid())
	}
}
