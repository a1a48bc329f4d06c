// Package logtest holds the checks the adapter tests share: reading a log
// file back as JSON lines, proving that sequence-numbered entries arrived
// exactly once and in order, running a test in a child process that exits
// or panics, and a sink that stalls until released.
package logtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

// Field names the tests give sequence-numbered entries.
const (
	// GoroutineKey names the field holding the number of the goroutine
	// that logged the entry.
	GoroutineKey = "g"
	// SeqKey names the field holding the entry's number within its
	// goroutine, counting from 0.
	SeqKey = "seq"
)

// Lines splits data into lines and decodes each as a JSON object. It fails
// the test if data does not end in a newline or a line is not a JSON
// object: a record cut short or two records run together fail here.
func Lines(t testing.TB, data []byte) []map[string]any {
	t.Helper()
	if len(data) == 0 {
		return nil
	}
	require.Equal(t, byte('\n'), data[len(data)-1], "log does not end in a newline")
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %d: %q", len(out)+1, sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// ReadLines reads the file at path and returns its lines as Lines does.
func ReadLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return Lines(t, data)
}

// Int returns the number in field key of line, failing the test if there
// is none.
func Int(t testing.TB, line map[string]any, key string) int {
	t.Helper()
	v, ok := line[key].(float64)
	require.True(t, ok, "field %q missing or not a number in %v", key, line)
	return int(v)
}

// RequireAll checks that lines hold, for each of goroutines goroutines,
// the entries numbered 0 to perGoroutine-1, each exactly once and in that
// order, and nothing else.
func RequireAll(t testing.TB, lines []map[string]any, goroutines, perGoroutine int) {
	t.Helper()
	next := make([]int, goroutines)
	for i, line := range lines {
		g, seq := Int(t, line, GoroutineKey), Int(t, line, SeqKey)
		require.True(t, g >= 0 && g < goroutines, "line %d: goroutine %d out of range", i+1, g)
		require.Equal(t, next[g], seq, "line %d: goroutine %d out of order, duplicated or missing an entry", i+1, g)
		next[g]++
	}
	for g, n := range next {
		require.Equal(t, perGoroutine, n, "goroutine %d: entries that arrived", g)
	}
}

// RequireSubsequence checks that the entries of one goroutine in lines
// have strictly increasing sequence numbers below total, and returns how
// many there are: entries may be missing (dropped), but none is duplicated
// or out of order.
func RequireSubsequence(t testing.TB, lines []map[string]any, total int) int {
	t.Helper()
	last := -1
	for i, line := range lines {
		seq := Int(t, line, SeqKey)
		require.Greater(t, seq, last, "line %d: duplicated or out of order", i+1)
		require.Less(t, seq, total, "line %d", i+1)
		last = seq
	}
	return len(lines)
}

// Filter returns the lines whose field key is the string value.
func Filter(lines []map[string]any, key, value string) []map[string]any {
	var out []map[string]any
	for _, line := range lines {
		if line[key] == value {
			out = append(out, line)
		}
	}
	return out
}

// ChildEnv names the environment variable that tells a test it runs as the
// child of RunChild, and holds the path of the log file it writes.
const ChildEnv = "ASYNCLOG_CHILD_LOG"

// ChildLog returns the log file path a child process should write, or ""
// in the parent.
func ChildLog() string { return os.Getenv(ChildEnv) }

// RunChild runs test (a test name of the calling package) again in a new
// process of the test binary, with ChildLog returning path, and returns its
// exit code and standard error. The child is expected to end the process
// itself, by os.Exit or an unrecovered panic.
func RunChild(t testing.TB, test, path string) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), ChildEnv+"="+path)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), errBuf.String()
	}
	require.NoError(t, err, "running the child: %s", errBuf.String())
	return 0, errBuf.String()
}

// Burst logs perGoroutine entries from each of goroutines goroutines, by
// calling log(g, seq) for seq from 0 up, and waits for all of them.
func Burst(goroutines, perGoroutine int, log func(g, seq int)) {
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for seq := range perGoroutine {
				log(g, seq)
			}
		})
	}
	wg.Wait()
}

// A StallingSink is a sink whose Write blocks until Release is called, and
// then keeps everything written to it in memory.
type StallingSink struct {
	release chan struct{}
	once    sync.Once

	mu  sync.Mutex
	buf bytes.Buffer
}

// NewStallingSink returns a stalled sink.
func NewStallingSink() *StallingSink {
	return &StallingSink{release: make(chan struct{})}
}

// Write waits for Release and keeps p.
func (s *StallingSink) Write(p []byte) (int, error) {
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// Release lets every Write, waiting or to come, go through.
func (s *StallingSink) Release() { s.once.Do(func() { close(s.release) }) }

// Bytes returns a copy of what has been written.
func (s *StallingSink) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

// Entry formats the message the tests give entry seq of goroutine g, so
// that a line can be recognised in a panic message or on standard error.
func Entry(g, seq int) string { return fmt.Sprintf("entry %d/%d", g, seq) }

// Padding is a field value that makes entries long enough to fill small
// buffers quickly.
var Padding = strings.Repeat("p", 64)

// AwaitWait returns once stats reports a Write that waited for room, as an
// entry that must not be dropped does when it finds the buffers full of
// entries a stalled sink has not taken. It fails the test if done, closed
// when the goroutine logging such entries ends, is closed first: then none
// of them waited, and any that did not fit were dropped.
func AwaitWait(t testing.TB, stats func() core.Stats, done <-chan struct{}) {
	t.Helper()
	for stats().Waits == 0 {
		select {
		case <-done:
			if stats().Waits == 0 {
				t.Fatal("every entry was taken without waiting for room")
			}
			return
		default:
			runtime.Gosched()
		}
	}
}

// Modes are the ways the benchmarks log: from one goroutine, or from
// GOMAXPROCS goroutines at once.
var Modes = []string{"serial", "parallel"}

// Loop calls log b.N times, from one goroutine if mode is "serial" and
// from b.RunParallel's goroutines if it is "parallel".
func Loop(b *testing.B, mode string, log func()) {
	b.ReportAllocs()
	if mode != "parallel" {
		for b.Loop() {
			log()
		}
		return
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			log()
		}
	})
}
