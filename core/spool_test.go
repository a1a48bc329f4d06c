//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadSpool leaves at path the spool that a process with buffers of size
// bytes leaves when it dies right after fill: fill logs into the buffers
// as the Writer's callers and writer goroutine would, and sets their
// progress; then the spool is let go as the kernel lets it go when a
// process dies: unlocked, its pages in the file, nothing marked written.
func deadSpool(t testing.TB, path string, size int, fill func(s *spool)) {
	t.Helper()
	s, err := openSpool(path, size)
	require.NoError(t, err)
	fill(s)
	s.close()
}

// commit starts epoch in b and commits records in it, as callers do, and
// returns the offset after each frame.
func commit(t testing.TB, b *buffer, epoch uint64, records ...[]byte) []uint64 {
	t.Helper()
	b.reopen(epoch, time.Now())
	return commitMore(t, b, records...)
}

// commitMore commits records in b, already reopened.
func commitMore(t testing.TB, b *buffer, records ...[]byte) []uint64 {
	t.Helper()
	ends := make([]uint64, len(records))
	for i, p := range records {
		off, ok := b.reserve(len(p))
		require.True(t, ok, "no room for record %d", i)
		b.put(off, p)
		ends[i] = off + frameLen(len(p))
	}
	return ends
}

// tear reserves a frame for p in b and copies half of it, as a caller
// that dies copying leaves it.
func tear(t testing.TB, b *buffer, p []byte) {
	t.Helper()
	off, ok := b.reserve(len(p))
	require.True(t, ok)
	copy(b.data[off+headerLen:], p[:len(p)/2])
}

// lines returns lines n of goroutine g, from seq on.
func lines(g, seq, n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, appendLine(nil, g, seq+i))
	}
	return out
}

// appendFile creates the file at path with data, and returns it opened
// for appending, as a log is.
func appendFile(t testing.TB, path string, data []byte) *os.File {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// readNotice decodes a JSONNotice line.
func readNotice(t testing.TB, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(line, &m), "%q", line)
	return m
}

const testSpoolSize = 64 << 10

// TestSpoolRecoversInOrder leaves a spool as a process dies: the older
// buffer half written, with a sink write in flight, the newer one
// unwritten with a torn record in it; and checks that New writes, after a
// notice, exactly the records not written, oldest buffer first, counting
// the ones in flight and the torn one, and then starts afresh.
func TestSpoolRecoversInOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	old, young := lines(0, 0, 5), lines(0, 5, 3)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		a, b := s.buffers[1], s.buffers[0]
		ends := commit(t, a, 7, old...)
		a.meta.written.Store(ends[1]) // old[0:2] written
		a.meta.writing.Store(ends[3]) // old[2:4] in flight
		commit(t, b, 8, young[0])
		tear(t, b, appendLine(nil, 9, 9))
		commitMore(t, b, young[1:]...)
	})
	// The sink has what the dead process wrote, and old[2] of the write
	// it died in.
	before := bytes.Join(append(old[:3:3], nil), nil)
	sink := appendFile(t, filepath.Join(dir, "log"), before)

	w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
	stats := w.Stats()
	_, err := w.Write(appendLine(nil, 1, 0))
	require.NoError(t, err)
	require.NoError(t, w.Close())

	want := append(append(old[2:], young...), appendLine(nil, 1, 0))
	data, err := os.ReadFile(sink.Name())
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(data, before))
	got := bytes.SplitAfter(data[len(before):], []byte("\n"))
	got = got[:len(got)-1]
	require.Len(t, got, 1+len(want))
	assert.Equal(t, want, got[1:])

	var recovered uint64
	for _, p := range want[:len(want)-1] {
		recovered += uint64(len(p))
	}
	note := readNotice(t, got[0])
	assert.Equal(t, "recovered", note["asynclog"])
	assert.EqualValues(t, 6, note["records"])
	assert.EqualValues(t, recovered, note["bytes"])
	assert.EqualValues(t, 2, note["repeated"])
	assert.EqualValues(t, 1, note["torn"])
	assert.Equal(t, uint64(6), stats.RecoveredRecords)
	assert.Equal(t, recovered, stats.RecoveredBytes)
	assert.Equal(t, uint64(2), stats.RepeatedRecords)
	assert.Equal(t, uint64(1), stats.TornRecords)

	// All of it is written now: the next New recovers nothing.
	w = New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
	require.NoError(t, w.Close())
	assert.Zero(t, w.Stats().RecoveredRecords)
	again, err := os.ReadFile(sink.Name())
	require.NoError(t, err)
	assert.Equal(t, data, again)
}

// TestSpoolCloseLeavesNothing checks that records written and closed are
// not recovered again, across several runs of a program.
func TestSpoolCloseLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	sink := appendFile(t, filepath.Join(dir, "log"), nil)
	for run := range 3 {
		w := New(WithSink(sink), WithSpool(path), WithBufferSize(4096), WithErrorHandler(func(err error) { t.Error(err) }))
		for seq := range 500 { // several swaps of 4 KiB buffers
			_, err := w.Write(appendLine(nil, run, seq))
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		assert.Zero(t, w.Stats().RecoveredRecords)
	}
	data, err := os.ReadFile(sink.Name())
	require.NoError(t, err)
	var want []byte
	for run := range 3 {
		want = append(want, bytes.Join(lines(run, 0, 500), nil)...)
	}
	assert.Equal(t, string(want), string(data))
}

// cutLine is what a sink write cut short by the death of its process
// leaves at the end of a log.
var cutLine = []byte(`{"g":0,"seq":1,"msg":"ent`)

// TestRecoveryStartsOnFreshLine checks that what recovery writes starts
// on a line of its own when the log ends mid-line, as it does when the
// dead process died inside a sink write: of records of the spool (the
// progress says so), or of a record too long for the spool, or of a
// notice (it does not); with notices or without. The spool's calling mark
// says a call was under way, as it does whenever a process dies in one.
func TestRecoveryStartsOnFreshLine(t *testing.T) {
	for _, notices := range []bool{true, false} {
		for _, inFlight := range []bool{true, false} {
			t.Run(fmt.Sprintf("notices=%t/inflight=%t", notices, inFlight), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "spool")
				recs := lines(0, 1, 3)
				deadSpool(t, path, testSpoolSize, func(s *spool) {
					ends := commit(t, s.buffers[0], 1, recs...)
					s.head.calling.Store(callingSink)
					if inFlight {
						s.buffers[0].meta.writing.Store(ends[0])
						s.head.calling.Store(callingRun)
					}
				})
				sink := appendFile(t, filepath.Join(dir, "log"), append(appendLine(nil, 0, 0), cutLine...))
				opts := []Option{WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) })}
				if !notices {
					opts = append(opts, WithNotices(nil))
				}
				w := New(opts...)
				require.NoError(t, w.Close())

				data, err := os.ReadFile(sink.Name())
				require.NoError(t, err)
				got := bytes.SplitAfter(data, []byte("\n"))
				require.Equal(t, string(appendLine(nil, 0, 0)), string(got[0]))
				require.Equal(t, string(cutLine)+"\n", string(got[1]), "the line cut short is ended by a newline")
				rest := got[2 : len(got)-1]
				if notices {
					assert.Equal(t, "recovered", readNotice(t, rest[0])["asynclog"])
					rest = rest[1:]
				}
				assert.Equal(t, recs, rest)
			})
		}
	}
}

// TestRecoveryNewlineOnlyWhenCut checks that a log that ends in a newline
// gets no empty line, and that a sink that cannot be read gets a newline
// only if the process died inside a sink call (the spool's header says
// so), not merely with a write of the spool's records begun.
func TestRecoveryNewlineOnlyWhenCut(t *testing.T) {
	for _, inFlight := range []bool{true, false} {
		t.Run(fmt.Sprintf("file/inflight=%t", inFlight), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "spool")
			deadSpool(t, path, testSpoolSize, func(s *spool) {
				ends := commit(t, s.buffers[0], 1, lines(0, 1, 2)...)
				if inFlight {
					s.buffers[0].meta.writing.Store(ends[0])
				}
			})
			sink := appendFile(t, filepath.Join(dir, "log"), appendLine(nil, 0, 0))
			w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithNotices(nil), WithErrorHandler(func(err error) { t.Error(err) }))
			require.NoError(t, w.Close())
			data, err := os.ReadFile(sink.Name())
			require.NoError(t, err)
			assert.Equal(t, string(bytes.Join(lines(0, 0, 3), nil)), string(data))
		})
		t.Run(fmt.Sprintf("writer/inflight=%t", inFlight), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool")
			recs := lines(0, 1, 2)
			deadSpool(t, path, testSpoolSize, func(s *spool) {
				ends := commit(t, s.buffers[0], 1, recs...)
				s.buffers[0].meta.writing.Store(ends[0])
				if inFlight {
					s.enter(s.buffers[0].meta) // it died inside the call
				} // else between storing writing and the call
			})
			sink := &recSink{}
			w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithNotices(nil), WithErrorHandler(func(err error) { t.Error(err) }))
			require.NoError(t, w.Close())
			want := bytes.Join(recs, nil)
			if inFlight {
				want = append([]byte("\n"), want...)
			}
			assert.Equal(t, string(want), string(sink.Data()))
		})
	}
}

// TestSpoolInLongerBlankFile checks that a spool created in a blank file
// longer than a spool (as the creation, cut short, of a spool with larger
// buffers leaves it) can be opened again.
func TestSpoolInLongerBlankFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.WriteFile(path, make([]byte, 3*spoolSize(testSpoolSize)), 0o600))
	for range 2 {
		var errs errorLog
		w := New(WithSink(io.Discard), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(errs.handle))
		require.NoError(t, w.Close())
		require.Empty(t, errs.Errors())
	}
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, spoolSize(testSpoolSize), info.Size())
}

// dyingFile is a spoolFile in memory whose process dies at a given write:
// that write and everything after it have no effect.
type dyingFile struct {
	data   []byte
	writes int // writes that take effect
}

var errDied = errors.New("the process died")

func (f *dyingFile) WriteAt(p []byte, off int64) (int, error) {
	if f.writes == 0 {
		return 0, errDied
	}
	f.writes--
	if end := int(off) + len(p); end > len(f.data) {
		f.data = append(f.data, make([]byte, end-len(f.data))...)
	}
	return copy(f.data[off:], p), nil
}

func (f *dyingFile) Truncate(n int64) error {
	if f.writes == 0 {
		return errDied
	}
	f.writes--
	if int(n) < len(f.data) {
		f.data = f.data[:n]
	} else {
		f.data = append(f.data, make([]byte, int(n)-len(f.data))...)
	}
	return nil
}

// TestSpoolCreationCutShort lets the process die at every write of the
// creation of a spool, and checks that it always leaves either a blank
// file, which the next New creates the spool in again, or a whole spool:
// never a file that is neither, which every later New would refuse.
func TestSpoolCreationCutShort(t *testing.T) {
	const size = 64 << 10 // the zeros take several writes
	for writes := 0; ; writes++ {
		f := &dyingFile{writes: writes}
		err := writeSpool(f, size)
		if allZero(f.data) {
			require.Error(t, err)
			continue
		}
		require.GreaterOrEqual(t, len(f.data), 32)
		size, herr := parseSpoolHeader(f.data[:32])
		require.NoError(t, herr, "died after %d writes: neither blank nor a spool", writes)
		require.Equal(t, 64<<10, size)
		if err == nil {
			require.Len(t, f.data, int(spoolSize(size)))
			return
		}
	}
}

// writeSpoolHeader writes a spool header with buffers of size bytes into a
// file of n bytes at path.
func writeSpoolHeader(t testing.TB, path string, size uint64, n int) {
	t.Helper()
	data := make([]byte, n)
	copy(data, spoolMagic)
	binary.NativeEndian.PutUint32(data[16:], spoolOrder)
	binary.NativeEndian.PutUint32(data[20:], spoolVersion)
	binary.NativeEndian.PutUint64(data[24:], size)
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// TestRecoverCorruptHeader checks that Recover refuses a spool whose
// header gives a buffer size no spool has, rather than map it.
func TestRecoverCorruptHeader(t *testing.T) {
	for _, size := range []uint64{12, 0, 32, 1<<30 + 8, 1 << 62, 1<<64 - 8} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool")
			n := spoolHeadLen + 2*int(size)
			if n < spoolHeadLen || n > 1<<20 {
				n = spoolHeadLen + 64
			}
			writeSpoolHeader(t, path, size, n)
			var out bytes.Buffer
			_, err := Recover(path, &out)
			require.ErrorIs(t, err, ErrSpool)
			assert.Empty(t, out.Bytes())
		})
	}
}

// TestRecover checks core.Recover: it writes what the dead process did
// not, in order, and marks it written, so that neither another Recover
// nor the next New writes it again.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	recs := lines(3, 0, 10)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		s.head.pid.Store(4242)
		ends := commit(t, s.buffers[1], 1, recs[:4]...)
		s.buffers[1].meta.written.Store(ends[0])
		s.buffers[1].meta.writing.Store(ends[1])
		commit(t, s.buffers[0], 2, recs[4:6]...)
		tear(t, s.buffers[0], appendLine(nil, 9, 9))
		commitMore(t, s.buffers[0], recs[6:]...)
	})

	var out bytes.Buffer
	note, err := Recover(path, &out)
	require.NoError(t, err)
	assert.Equal(t, string(bytes.Join(recs[1:], nil)), out.String())
	assert.Equal(t, NoticeRecovered, note.Kind)
	assert.Equal(t, uint64(9), note.Records)
	assert.Equal(t, uint64(out.Len()), note.Bytes)
	assert.Equal(t, uint64(1), note.Repeated)
	assert.Equal(t, uint64(1), note.Torn)
	assert.Equal(t, path, note.Spool)
	assert.Equal(t, 4242, note.PID)

	out.Reset()
	note, err = Recover(path, &out)
	require.NoError(t, err)
	assert.Zero(t, note.Records)
	assert.Empty(t, out.Bytes())

	sink := &recSink{}
	w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
	require.NoError(t, w.Close())
	assert.Zero(t, w.Stats().RecoveredRecords)
	assert.Empty(t, sink.Data())
}

// TestRecoverNotASpool checks that Recover refuses what is not a spool and
// leaves it alone.
func TestRecoverNotASpool(t *testing.T) {
	dir := t.TempDir()
	_, err := Recover(filepath.Join(dir, "missing"), io.Discard)
	require.ErrorIs(t, err, ErrSpool)
	require.ErrorIs(t, err, os.ErrNotExist)

	path := filepath.Join(dir, "log")
	data := bytes.Join(lines(0, 0, 100), nil)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	_, err = Recover(path, io.Discard)
	require.ErrorIs(t, err, ErrSpool)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, after)
}

// failAfterSink is a sink that takes n writes and fails every one after.
type failAfterSink struct {
	recSink
	n int
}

func (s *failAfterSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	fail := s.n == 0
	if !fail {
		s.n--
	}
	s.mu.Unlock()
	if fail {
		return 0, errSink
	}
	return s.recSink.Write(p)
}

// TestRecoverStopsAtSinkError checks that Recover returns the error of its
// destination and leaves the records it could not write in the spool.
func TestRecoverStopsAtSinkError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	recs := lines(0, 0, 4)
	deadSpool(t, path, testSpoolSize, func(s *spool) { commit(t, s.buffers[0], 1, recs...) })
	_, err := Recover(path, &failAfterSink{})
	require.ErrorIs(t, err, errSink)
	var out bytes.Buffer
	note, err := Recover(path, &out)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), note.Records)
	assert.Equal(t, string(bytes.Join(recs, nil)), out.String())
}

// writeProbe reports whether a file can be created in dir.
func writeProbe(dir string) bool {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// mountTmpfs mounts a tmpfs with options at a new directory and returns
// it, unmounted at the end of the test, or "" if it cannot (not root, or
// no mount).
func mountTmpfs(t *testing.T, options string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return ""
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	require.NoError(t, os.Mkdir(dir, 0o700))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("mount: %v: %s", err, out)
		return ""
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	return dir
}

// A badSpool is a spool path New cannot use, and what the error says.
type badSpool struct {
	path string
	want string // in the error
	kept bool   // the file must be left as it was
}

// TestBadSpools checks each kind of spool New cannot use: the error,
// matching ErrSpool, goes to the error handler and to the first Sync, the
// Writer runs on memory buffers and loses nothing, and a file that is not
// its spool is left as it was.
func TestBadSpools(t *testing.T) {
	cases := map[string]func(t *testing.T) badSpool{
		"truncated": func(t *testing.T) badSpool {
			path := filepath.Join(t.TempDir(), "spool")
			w := New(WithSink(io.Discard), WithSpool(path), WithBufferSize(testSpoolSize))
			require.NoError(t, w.Close())
			require.NoError(t, os.Truncate(path, spoolSize(testSpoolSize)/2))
			return badSpool{path: path, want: "truncated", kept: true}
		},
		"random bytes": func(t *testing.T) badSpool {
			path := filepath.Join(t.TempDir(), "spool")
			data := make([]byte, spoolSize(testSpoolSize))
			for i := range data {
				data[i] = byte(rand.Uint32())
			}
			require.NoError(t, os.WriteFile(path, data, 0o600))
			return badSpool{path: path, want: "not a spool", kept: true}
		},
		"a log": func(t *testing.T) badSpool {
			path := filepath.Join(t.TempDir(), "app.log")
			require.NoError(t, os.WriteFile(path, bytes.Join(lines(0, 0, 10), nil), 0o600))
			return badSpool{path: path, want: "not a spool", kept: true}
		},
		"another buffer size": func(t *testing.T) badSpool {
			path := filepath.Join(t.TempDir(), "spool")
			deadSpool(t, path, 2*testSpoolSize, func(s *spool) { commit(t, s.buffers[0], 1, lines(0, 0, 3)...) })
			return badSpool{path: path, want: fmt.Sprintf("a spool with %d-byte buffers, not %d", 2*testSpoolSize, testSpoolSize), kept: true}
		},
		"no directory": func(t *testing.T) badSpool {
			return badSpool{path: filepath.Join(t.TempDir(), "missing", "spool"), want: "no such file or directory"}
		},
		"read-only directory": func(t *testing.T) badSpool {
			dir := filepath.Join(t.TempDir(), "ro")
			require.NoError(t, os.Mkdir(dir, 0o500))
			if writeProbe(dir) { // root writes anywhere: a read-only file system stops it
				if dir = mountTmpfs(t, "ro,size=64k"); dir == "" || writeProbe(dir) {
					t.Skip("cannot make a directory this process cannot write in")
				}
			}
			return badSpool{path: filepath.Join(dir, "spool"), want: "spool"}
		},
		"full disk": func(t *testing.T) badSpool {
			dir := mountTmpfs(t, "size=64k")
			if dir == "" {
				t.Log("no tmpfs: a creation that fails as a full disk makes it")
				dir = t.TempDir()
				create := createSpool
				t.Cleanup(func() { createSpool = create })
				createSpool = func(*os.File, int) error {
					return fmt.Errorf("allocating the spool: %w", syscall.ENOSPC)
				}
			}
			return badSpool{path: filepath.Join(dir, "spool"), want: "no space left on device"}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			bad := setup(t)
			before, _ := os.ReadFile(bad.path)
			info, _ := os.Stat(bad.path)
			requireMemoryWriter(t, bad)
			if bad.kept {
				after, err := os.ReadFile(bad.path)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(before, after), "the file changed")
				infoAfter, err := os.Stat(bad.path)
				require.NoError(t, err)
				assert.Equal(t, info.ModTime(), infoAfter.ModTime())
			}
		})
	}
}

// requireMemoryWriter checks that New with the bad spool reports an error
// matching ErrSpool to the error handler and to the first Sync only, and
// runs on memory buffers that lose nothing.
func requireMemoryWriter(t *testing.T, bad badSpool) {
	t.Helper()
	var errs errorLog
	sink := &recSink{}
	w := New(WithSink(sink), WithSpool(bad.path), WithBufferSize(testSpoolSize), WithErrorHandler(errs.handle), WithNotices(nil))
	require.Nil(t, w.spool)
	require.Len(t, errs.Errors(), 1)
	err := errs.Errors()[0]
	require.ErrorIs(t, err, ErrSpool)
	require.Contains(t, err.Error(), bad.want)
	recs := lines(0, 0, 1000) // several buffers
	for _, p := range recs {
		_, err := w.Write(p)
		require.NoError(t, err)
	}
	require.ErrorIs(t, w.Sync(), ErrSpool)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())
	assert.Equal(t, string(bytes.Join(recs, nil)), string(sink.Data()))
	assert.Len(t, errs.Errors(), 1)
}

// TestSpoolFullDiskGivesSpaceBack checks that a spool whose allocation
// fails on a full disk gives back what it took: the log may be on the
// same disk.
func TestSpoolFullDiskGivesSpaceBack(t *testing.T) {
	dir := mountTmpfs(t, "size=64k")
	if dir == "" {
		t.Skip("needs a small tmpfs: root, and mount")
	}
	f, err := os.Create(filepath.Join(dir, "log"))
	require.NoError(t, err)
	defer f.Close()
	var errs errorLog
	w := New(WithSink(f), WithSpool(filepath.Join(dir, "spool")), WithErrorHandler(errs.handle))
	recs := lines(0, 0, 100)
	for _, p := range recs {
		_, err := w.Write(p)
		require.NoError(t, err)
	}
	require.ErrorIs(t, w.Sync(), ErrSpool)
	require.NoError(t, w.Close(), "the log is on the disk the spool could not take")
	data, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	assert.Equal(t, string(bytes.Join(recs, nil)), string(data))
	info, err := os.Stat(filepath.Join(dir, "spool"))
	require.NoError(t, err)
	assert.Zero(t, info.Size())
}

// TestSpoolHeldByAnotherProcess checks that a spool held by a live process
// is refused, by New and by Recover, and can be used once that process
// has died.
func TestSpoolHeldByAnotherProcess(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	child := startExitChild(t, "TestSpoolHeldByAnotherProcess",
		exitPlan{Spool: path, BufferSize: testSpoolSize, Goroutines: 1, Rate: 1000, Ending: endSIGKILL})

	requireMemoryWriter(t, badSpool{path: path, want: "in use by another process"})
	_, err := Recover(path, io.Discard)
	require.ErrorIs(t, err, ErrSpool)
	require.Contains(t, err.Error(), "in use by another process")

	r := child.kill(t)
	stats := recoverInto(t, r.plan.Sink, path, WithBufferSize(testSpoolSize))
	requireRecovered(t, r, readExitLog(t, r.plan.Sink, 1), stats)
}

// TestRecoveryInterrupted kills a process while it recovers a spool, in
// the middle of writing the records to the sink, and checks that the
// next recovery repeats no more than the write it died in.
func TestRecoveryInterrupted(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	dir := t.TempDir()
	path, sinkPath := filepath.Join(dir, "spool"), filepath.Join(dir, "log")
	recs := lines(0, 0, 100)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		commit(t, s.buffers[1], 1, recs[:60]...)
		commit(t, s.buffers[0], 2, recs[60:]...)
	})
	// The child's sink takes the notice and 3 runs of records, each as
	// many as fit in limit, then stalls in the fourth, and the child is
	// killed there.
	limit := 10 * len(recs[0])
	var runs []int
	for i := 0; i < len(recs); {
		n, bytes := 0, 0
		for i < len(recs) && i != 60 && bytes+len(recs[i]) <= limit || n == 0 {
			bytes += len(recs[i])
			n, i = n+1, i+1
		}
		runs = append(runs, n)
	}
	child := startExitChild(t, "TestRecoveryInterrupted", exitPlan{Sink: sinkPath, Spool: path, BufferSize: testSpoolSize,
		MaxWriteSize: limit, StallAfter: 4, Ending: endSIGKILL})
	child.kill(t)

	stats := recoverInto(t, sinkPath, path, WithBufferSize(testSpoolSize))
	l := readExitLog(t, sinkPath, 1)
	require.Len(t, l.notices, 2)
	assert.Equal(t, uint64(100-runs[0]-runs[1]-runs[2]), stats.RecoveredRecords)
	assert.Equal(t, uint64(runs[3]), stats.RepeatedRecords)
	assert.Zero(t, l.duplicates(), "the write the child died in never reached the sink")
	l.requirePrefixes(t, []int{100}, true)
}

// BenchmarkSpoolWrite measures Write of a 256-byte record with and without
// a spool, from one goroutine and from GOMAXPROCS goroutines, into a sink
// that discards and into a file. With the spool, the buffers are pages of
// a file mapping, and the writer goroutine copies the records out into a
// staging buffer (the frames must survive until written) instead of
// moving them in place. It reports the minor page faults per record: a
// page of the mapping that the kernel has written back may fault again
// when it is next written.
func BenchmarkSpoolWrite(b *testing.B) {
	for _, sink := range []string{"discard", "file"} {
		for _, spool := range []bool{false, true} {
			for _, mode := range []string{"serial", "parallel"} {
				b.Run(fmt.Sprintf("sink=%s/spool=%t/%s", sink, spool, mode), func(b *testing.B) {
					dir := b.TempDir()
					opts := []Option{WithSink(io.Discard)}
					if sink == "file" {
						f, err := os.Create(filepath.Join(dir, "log"))
						require.NoError(b, err)
						defer f.Close()
						opts = []Option{WithSink(f)}
					}
					if spool {
						opts = append(opts, WithSpool(filepath.Join(dir, "spool")))
					}
					w := New(opts...)
					defer w.Close()
					b.ReportAllocs()
					b.SetBytes(int64(len(record256)))
					faults := minorFaults()
					b.ResetTimer()
					if mode == "serial" {
						for b.Loop() {
							w.Write(record256)
						}
					} else {
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								w.Write(record256)
							}
						})
					}
					require.NoError(b, w.Sync())
					b.StopTimer()
					b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
				})
			}
		}
	}
}

// BenchmarkSpoolStart measures what a Writer costs before its first
// records are written, without a spool, with a spool that New creates
// (allocates, by writing zeros, and maps, faulting its pages in at once),
// and with the spool of the last run (which New checks and walks); and
// the minor page faults of New and of writing the first 16 MiB: the
// memory buffers of a Writer without a spool are allocated, and first
// touched, as they grow.
func BenchmarkSpoolStart(b *testing.B) {
	for _, spool := range []string{"none", "created", "reopened"} {
		b.Run("spool="+spool, func(b *testing.B) {
			dir := b.TempDir()
			var newFaults, writeFaults uint64
			var newTime time.Duration
			for i := 0; b.Loop(); i++ {
				opts := []Option{WithSink(io.Discard)}
				switch spool {
				case "created":
					opts = append(opts, WithSpool(filepath.Join(dir, fmt.Sprint("spool", i))))
				case "reopened":
					opts = append(opts, WithSpool(filepath.Join(dir, "spool")))
				}
				f0, t0 := minorFaults(), time.Now()
				w := New(opts...)
				f1 := minorFaults()
				newTime += time.Since(t0)
				for range (16 << 20) / len(record256) {
					w.Write(record256)
				}
				require.NoError(b, w.Close())
				newFaults += f1 - f0
				writeFaults += minorFaults() - f1
			}
			b.ReportMetric(float64(newTime.Microseconds())/float64(b.N), "new-µs/op")
			b.ReportMetric(float64(newFaults)/float64(b.N), "new-faults/op")
			b.ReportMetric(float64(writeFaults)/float64(b.N), "write-faults/op")
		})
	}
}

// minorFaults returns the minor page faults of the process so far.
func minorFaults() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Minflt)
}

// TestSpoolTagsAreSalted checks that a record cannot forge a header for
// recovery: a record torn by a crash whose bytes hold a committed header
// with the epoch's plain count as its tag, as anyone who can log could
// write, is skipped whole, because a spool mixes a salt drawn at its
// creation into its tags. Without the salt, recovery, looking past the torn
// record, would take the forged header for a record of 16 bytes.
func TestSpoolTagsAreSalted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	first, last := appendLine(nil, 0, 0), appendLine(nil, 0, 2)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		require.NotZero(t, s.head.salt, "a salt of 0 is one chance in 2^32")
		b := s.buffers[0]
		commit(t, b, 3, first)
		forged := make([]byte, 64) // torn after 32 bytes: the header at 8 is in
		copy(forged, "forged!\n")
		binary.NativeEndian.PutUint64(forged[8:], uint64(3)<<32|commitBit|16)
		copy(forged[16:], "not-a-record-xx\n")
		tear(t, b, forged)
		commitMore(t, b, last)
	})
	var out bytes.Buffer
	note, err := Recover(path, &out)
	require.NoError(t, err)
	assert.Equal(t, string(first)+string(last), out.String())
	assert.EqualValues(t, 1, note.Torn)
}
