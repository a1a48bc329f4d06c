// Package logtest holds the checks the adapter tests share: reading a log
// file back as JSON lines, proving that sequence-numbered entries arrived
// exactly once and in order, checking the core's notices, running a test
// in a child process that exits or panics, a sink that stalls until
// released, and a sink that records its Write and Sync calls.
package logtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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
	release   chan struct{}
	once      sync.Once
	entered   chan struct{}
	enterOnce sync.Once

	mu  sync.Mutex
	buf bytes.Buffer
}

// NewStallingSink returns a stalled sink, which the test's cleanup
// releases, so that a test that fails before its Release leaves no
// Writer stuck behind it.
func NewStallingSink(t testing.TB) *StallingSink {
	s := &StallingSink{release: make(chan struct{}), entered: make(chan struct{})}
	t.Cleanup(s.Release)
	return s
}

// Write waits for Release and keeps p.
func (s *StallingSink) Write(p []byte) (int, error) {
	s.enterOnce.Do(func() { close(s.entered) })
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// Release lets every Write, waiting or to come, go through.
func (s *StallingSink) Release() { s.once.Do(func() { close(s.release) }) }

// AwaitEntered returns once a Write has been called. The core writes the
// first record promptly, so after one record and this call the core's
// writer goroutine holds the buffer with that record in the stalled Write
// until Release: the other buffer is the only room left, and records that
// find it full wait (core.Block, WriteWait) or are dropped (core.Drop). It
// fails the test if no Write comes within WaitLimit.
func (s *StallingSink) AwaitEntered(t testing.TB) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(WaitLimit):
		t.Fatalf("gave up waiting for the sink to be written to")
	}
}

// Bytes returns a copy of what has been written.
func (s *StallingSink) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

// WaitLimit bounds every wait of these helpers for something certain to
// happen. It only turns a hang into a failure with a message: no check
// relies on anything happening within it, so it is far longer than any
// wait should take on a loaded machine.
const WaitLimit = time.Minute

// Eventually calls cond until it returns true, and fails the test if that
// takes longer than WaitLimit. It is for conditions on state that cannot
// signal a change, such as a file the core writes: cond must be certain to
// become true, the polling only decides how soon that is noticed.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The events a RecordingSink logs.
const (
	EventWrite = "write"
	EventSync  = "sync"
)

// A RecordingSink is a sink that keeps what is written to it and logs each
// of its Write and Sync calls as an event, in order, so that a test can
// tell whether a logging call synced the sink before it returned, and wait
// for records to arrive.
type RecordingSink struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every call
	buf     bytes.Buffer
	writes  [][]byte
	events  []string
}

// NewRecordingSink returns an empty RecordingSink.
func NewRecordingSink() *RecordingSink {
	return &RecordingSink{changed: make(chan struct{})}
}

func (s *RecordingSink) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Write keeps p and logs EventWrite.
func (s *RecordingSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	s.writes = append(s.writes, bytes.Clone(p))
	s.events = append(s.events, EventWrite)
	s.changedLocked()
	return len(p), nil
}

// Sync logs EventSync.
func (s *RecordingSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, EventSync)
	s.changedLocked()
	return nil
}

// Bytes returns a copy of everything written, in order.
func (s *RecordingSink) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

// Writes returns a copy of what each Write call was given, in order.
func (s *RecordingSink) Writes() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.writes...)
}

// Events returns a copy of the events so far.
func (s *RecordingSink) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// AwaitWrites returns once the sink has had n Write calls, and fails the
// test if that takes longer than WaitLimit.
func (s *RecordingSink) AwaitWrites(t testing.TB, n int) {
	t.Helper()
	deadline := time.NewTimer(WaitLimit)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.writes), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("gave up waiting for %d writes to the sink; %d came", n, got)
		}
	}
}

// RequireSyncedLast checks that the sink's last call was a Sync, after at
// least one Write: what a logging call that syncs leaves when it returns.
func (s *RecordingSink) RequireSyncedLast(t testing.TB) {
	t.Helper()
	events := s.Events()
	require.GreaterOrEqual(t, len(events), 2, "events: %v", events)
	require.Equal(t, EventSync, events[len(events)-1], "the sink was not synced last: %v", events)
}

// RequireNotSynced checks that the sink's Sync was never called.
func (s *RecordingSink) RequireNotSynced(t testing.TB) {
	t.Helper()
	require.NotContains(t, s.Events(), EventSync)
}

// RequireSyncLevel checks a test of an adapter's sync level, which logs
// "first", waits for its write (so that the core's writer goroutine has
// written its buffer), then logs "held" and "last", the last at the level
// under test. If synced, the three lines were written and the sink synced
// by the time "last" returned; otherwise only "first" was written. Then
// close, the Writer's Close, must write and sync the rest. parse reads the
// sink's bytes as lines (nil: Lines) and key names their message field. It
// returns the lines written before close.
func (s *RecordingSink) RequireSyncLevel(t testing.TB, synced bool, key string, parse func([]byte) []map[string]any, close func() error) []map[string]any {
	t.Helper()
	if parse == nil {
		parse = func(data []byte) []map[string]any { return Lines(t, data) }
	}
	lines := parse(s.Bytes())
	if synced {
		s.RequireSyncedLast(t)
		require.Len(t, lines, 3)
		require.Equal(t, "held", lines[1][key])
		require.Equal(t, "last", lines[2][key])
	} else {
		s.RequireNotSynced(t)
		require.Len(t, lines, 1, "held and last were written without a sync")
	}
	require.Equal(t, "first", lines[0][key])
	require.NoError(t, close())
	s.RequireSyncedLast(t)
	require.Len(t, parse(s.Bytes()), 3)
	return lines
}

// NoticeKey names the field of the core's JSON notices (core.JSONNotice)
// that says what a notice reports: "dropped" or "recovered".
const NoticeKey = "asynclog"

// SplitNotices separates the core's notices, the lines with a NoticeKey
// field, from the entries.
func SplitNotices(lines []map[string]any) (entries, notices []map[string]any) {
	for _, line := range lines {
		if _, ok := line[NoticeKey]; ok {
			notices = append(notices, line)
		} else {
			entries = append(entries, line)
		}
	}
	return entries, notices
}

// RequireErrorsKept checks what an adapter's drop test left in the sink:
// infos records at level info and errs at level errLevel were logged under
// Drop behind a stalled sink, then the Writer was closed and one more
// record refused. Every error record is there, in order; the info records
// kept are in order, and the rest are counted as dropped (before: Stats
// before Close) and said so in a notice; after (Stats after the refused
// record) counts that one too, and every kept record written.
func RequireErrorsKept(t testing.TB, lines []map[string]any, info, errLevel string, infos, errs int, before, after core.Stats) {
	t.Helper()
	entries, notices := SplitNotices(lines)
	kept := RequireSubsequence(t, Filter(entries, "level", info), infos)
	errLines := Filter(entries, "level", errLevel)
	require.Len(t, errLines, errs)
	RequireSubsequence(t, errLines, errs)
	require.Len(t, entries, kept+errs)
	require.EqualValues(t, infos-kept, before.DroppedRecords)
	require.Equal(t, before.DroppedRecords+1, after.DroppedRecords)
	require.EqualValues(t, kept+errs, after.WrittenRecords)
	// The core says what it dropped, in the sink (to the error handler:
	// see ErrorLog.RequireDropReports).
	RequireNotices(t, notices, "dropped", after.DroppedRecords-1, before.DroppedBytes)
}

// RequireNotices checks that notices are notices of kind ("dropped" or
// "recovered") as core.JSONNotice formats them, or as ParseTextNotice
// reads core.TextNotice's, and that they report records records and
// bytes bytes in all.
func RequireNotices(t testing.TB, notices []map[string]any, kind string, records, bytes uint64) {
	t.Helper()
	var gotRecords, gotBytes uint64
	for _, n := range notices {
		require.Equal(t, kind, n[NoticeKey], "notice %v", n)
		require.Equal(t, "warn", n["level"], "notice %v", n)
		msg, _ := n["msg"].(string)
		require.True(t, strings.HasPrefix(msg, "asynclog: "+kind+" "), "notice %v", n)
		r, b := Int(t, n, "records"), Int(t, n, "bytes")
		require.Positive(t, r, "notice %v", n)
		require.Positive(t, b, "notice %v", n)
		gotRecords += uint64(r)
		gotBytes += uint64(b)
	}
	require.Equal(t, records, gotRecords, "records the notices report")
	require.Equal(t, bytes, gotBytes, "bytes the notices report")
}

// ParseTextNotice reads a drop notice in the form core.TextNotice writes,
// "asynclog: dropped N records (M bytes) since T", into the fields
// core.JSONNotice would give it, for RequireNotices. It reports false for
// a line that is not one.
func ParseTextNotice(line string) (map[string]any, bool) {
	rest, ok := strings.CutPrefix(line, "asynclog: dropped ")
	if !ok {
		return nil, false
	}
	var records, bytes uint64
	var since string
	if n, err := fmt.Sscanf(rest, "%d records (%d bytes) since %s", &records, &bytes, &since); n != 3 || err != nil {
		return nil, false
	}
	if _, err := time.Parse(time.RFC3339Nano, since); err != nil {
		return nil, false
	}
	return map[string]any{
		NoticeKey: "dropped",
		"level":   "warn",
		"msg":     line,
		"records": float64(records),
		"bytes":   float64(bytes),
	}, true
}

// ErrorLog is an error handler for core.WithErrorHandler that keeps what
// it is given. It is safe for concurrent use.
type ErrorLog struct {
	mu   sync.Mutex
	errs []error
}

// Handle keeps err.
func (l *ErrorLog) Handle(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// Errors returns a copy of the errors kept so far.
func (l *ErrorLog) Errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// RequireDropReports checks that the error handler was told of drops,
// and of nothing else: every error kept matches core.ErrDropped.
func (l *ErrorLog) RequireDropReports(t testing.TB) {
	t.Helper()
	errs := l.Errors()
	require.NotEmpty(t, errs, "no drop reported to the error handler")
	for _, err := range errs {
		require.ErrorIs(t, err, core.ErrDropped)
	}
}

// RequireStatsVar checks that v, an expvar.Var of a Writer's Stats, shows
// want in JSON.
func RequireStatsVar(t testing.TB, v expvar.Var, want core.Stats) {
	t.Helper()
	var got core.Stats
	require.NoError(t, json.Unmarshal([]byte(v.String()), &got))
	require.Equal(t, want, got)
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
