//go:build linux || darwin || freebsd

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

// childEnv names the environment variable that makes a test a child
// process that uses the spool it names.
const childEnv = "ASYNCLOG_RECOVER_CHILD"

const lines = 100

func line(i int) string { return fmt.Sprintf(`{"level":"info","msg":"line %d"}`+"\n", i) }

// stuckSink is a sink whose writes never return: every record a Writer
// accepts stays in its buffers, and so in its spool. It closes entered at
// the first.
type stuckSink struct{ entered chan struct{} }

func (s stuckSink) Write(p []byte) (int, error) {
	close(s.entered)
	select {}
}

// crash is the child of a test: it logs the lines through a Writer with
// the spool at path and a sink that never takes them, and, once the
// writer goroutine is stuck in its first write, exits without Close; or,
// with hold set, tells the parent it holds the spool, on file descriptor
// 3, and waits to be killed.
func crash(path string, hold bool) {
	sink := stuckSink{entered: make(chan struct{})}
	w := core.New(core.WithSpool(path), core.WithSink(sink), core.WithBufferSize(64<<10))
	if hold {
		os.NewFile(3, "ready").Write([]byte{1})
		time.Sleep(time.Hour)
	}
	for i := range lines {
		if _, err := w.Write([]byte(line(i))); err != nil {
			panic(err)
		}
	}
	<-sink.entered
	os.Exit(0)
}

// startChild runs test again as a child that crashes or holds the spool
// at path.
func startChild(t *testing.T, test, path string, hold bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	// No second's wait for race reports at exit under the race detector.
	cmd.Env = append(os.Environ(), childEnv+"="+path, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	if !hold {
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return cmd
	}
	ready, readyW, err := os.Pipe()
	require.NoError(t, err)
	defer ready.Close()
	cmd.Env = append(cmd.Env, childEnv+"_HOLD=1")
	cmd.ExtraFiles = []*os.File{readyW}
	require.NoError(t, cmd.Start())
	readyW.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	_, err = ready.Read(make([]byte, 1))
	require.NoError(t, err, "the child did not start")
	return cmd
}

// child runs the child's part of a test, if this process is one.
func child() {
	if path := os.Getenv(childEnv); path != "" {
		crash(path, os.Getenv(childEnv+"_HOLD") != "")
	}
}

func runCommand(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestRecover lets a process crash with its records in the spool, and
// checks that asynclog recover writes them all, in order, after the
// notice a restart writes, says so on standard error, and writes nothing
// the second time.
func TestRecover(t *testing.T) {
	child()
	path := filepath.Join(t.TempDir(), "app.spool")
	startChild(t, "TestRecover", path, false)

	code, stdout, stderr := runCommand("recover", path)
	require.Equal(t, 0, code, stderr)
	var want strings.Builder
	for i := range lines {
		want.WriteString(line(i))
	}
	notice, records, ok := strings.Cut(stdout, "\n")
	require.True(t, ok, "%q", stdout)
	assert.Equal(t, want.String(), records)
	var note map[string]any
	require.NoError(t, json.Unmarshal([]byte(notice), &note), "%q", notice)
	assert.Equal(t, "recovered", note["asynclog"])
	assert.Equal(t, "warn", note["level"])
	assert.EqualValues(t, lines, note["records"])
	assert.EqualValues(t, want.Len(), note["bytes"])
	assert.Contains(t, note["msg"], "from spool "+path)
	assert.Contains(t, stderr, fmt.Sprintf("asynclog: recovered %d records (%d bytes) from spool %s", lines, want.Len(), path))
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "a one-line summary")
	// The sink took none of them, but the process died in its first
	// write: those records may already be in its log, as far as the
	// spool can tell.
	assert.Contains(t, stderr, "may appear twice")

	code, stdout, stderr = runCommand("recover", path)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "nothing to recover in spool "+path)
}

// TestRecoverNoticeFormats checks -notice text, which writes the notice
// as a Writer with core.TextNotice does, and -notice none, which writes
// the records alone.
func TestRecoverNoticeFormats(t *testing.T) {
	child()
	var want strings.Builder
	for i := range lines {
		want.WriteString(line(i))
	}
	for _, format := range []string{"text", "none"} {
		path := filepath.Join(t.TempDir(), "app.spool")
		startChild(t, "TestRecoverNoticeFormats", path, false)
		code, stdout, stderr := runCommand("recover", "-notice", format, path)
		require.Equal(t, 0, code, stderr)
		if format == "none" {
			assert.Equal(t, want.String(), stdout)
			continue
		}
		notice, records, ok := strings.Cut(stdout, "\n")
		require.True(t, ok, "%q", stdout)
		assert.Equal(t, want.String(), records)
		assert.True(t, strings.HasPrefix(notice, fmt.Sprintf("asynclog: recovered %d records (%d bytes) from spool %s", lines, want.Len(), path)), "%q", notice)
		assert.Equal(t, strings.TrimSuffix(stderr, "\n"), notice, "the summary is the notice")
	}
	code, stdout, stderr := runCommand("recover", "-notice", "xml", "app.spool")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "-notice xml: want json, text or none")
}

// TestRecoverRefusesForeignSpool checks that asynclog recover refuses a
// spool that group or others may write, and a symbolic link, writing
// nothing and leaving them as they were.
func TestRecoverRefusesForeignSpool(t *testing.T) {
	child()
	path := filepath.Join(t.TempDir(), "app.spool")
	startChild(t, "TestRecoverRefusesForeignSpool", path, false)
	require.NoError(t, os.Chmod(path, 0o666))
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	code, stdout, stderr := runCommand("recover", path)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "asynclog: spool")
	assert.Contains(t, stderr, "refused: mode 0666 lets group or others read or write it")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, after), "the spool changed")

	require.NoError(t, os.Chmod(path, 0o600))
	link := filepath.Join(filepath.Dir(path), "link.spool")
	require.NoError(t, os.Symlink(path, link))
	code, stdout, stderr = runCommand("recover", link)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "refused: a symbolic link")
}

// TestRecoverHeldSpool checks that asynclog recover refuses a spool that a
// live process holds.
func TestRecoverHeldSpool(t *testing.T) {
	child()
	path := filepath.Join(t.TempDir(), "app.spool")
	startChild(t, "TestRecoverHeldSpool", path, true)
	code, stdout, stderr := runCommand("recover", path)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "in use by another process")
}

// TestRecoverErrors checks the exit status and message of a file that is
// not a spool and of one that does not exist.
func TestRecoverErrors(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	require.NoError(t, os.WriteFile(log, []byte(line(0)), 0o600))
	code, stdout, stderr := runCommand("recover", log)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "not a spool")
	data, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, line(0), string(data), "left as it was")

	code, _, stderr = runCommand("recover", filepath.Join(dir, "missing"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no such file or directory")
}

// TestUsage checks the usage errors, and -h.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"recover"}, {"recover", "a", "b"}, {"frobnicate", "a"}, {"-x"}, {"recover", "-x", "a"}} {
		code, stdout, stderr := runCommand(args...)
		assert.Equal(t, 2, code, "%q", args)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "usage: asynclog recover [-notice json|text|none] SPOOL", "%q", args)
	}
	for _, args := range [][]string{{"-h"}, {"recover", "-h"}} {
		code, _, stderr := runCommand(args...)
		assert.Equal(t, 0, code, "%q", args)
		assert.Contains(t, stderr, "usage: asynclog recover [-notice json|text|none] SPOOL", "%q", args)
	}
}
