//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file end a child process, a new run of the test
// binary, in each way a program can end without closing its Writer, and
// then read what reached its sink: with a spool, after a second Writer has
// recovered what the child left in it; without, as the child left it.
//
// A child logs numbered JSON lines from several goroutines into a Writer
// whose sink is a file, and keeps, in a small file mapped into memory that
// it shares with the parent, how many Writes of each goroutine have
// returned: the count survives whatever ends the child, so the parent
// knows exactly what was written.

// exitChildEnv names the environment variable that holds, in JSON, the
// plan of a child process: what it logs and how it ends. Its presence
// makes the test function a child.
const exitChildEnv = "ASYNCLOG_EXIT_CHILD"

// The ways a program ends without Close.
const (
	endReturn  = "return"  // main returns: the child exits with status 0
	endExit    = "exit"    // os.Exit(1)
	endPanic   = "panic"   // a panic in a goroutine of its own
	endSIGTERM = "sigterm" // SIGTERM, with no handler: the child sends it to itself
	endSIGKILL = "sigkill" // SIGKILL (or the OOM killer): the parent sends it
	endSignal  = "signal"  // the parent sends a signal and the test checks the ending
)

var endings = []string{endReturn, endExit, endPanic, endSIGTERM, endSIGKILL}

// An exitPlan says what a child logs and how it ends.
type exitPlan struct {
	Sink       string        // the sink file, opened for appending
	Spool      string        // the spool, or "" for memory buffers
	Progress   string        // the shared file of Writes returned, per goroutine
	BufferSize int           // 0: the default
	Goroutines int           // goroutines logging at once
	Rate       int           // lines a second, from all goroutines together; 0: flat out
	For        time.Duration // how long it logs before it ends itself (the parent times SIGKILL)
	Ending     string        // how it ends: one of the end constants

	// For a child that stalls while it recovers the spool, in New: the
	// sink takes StallAfter writes, then blocks, and the child says it is
	// ready. MaxWriteSize bounds the writes.
	StallAfter   int
	MaxWriteSize int
	Tear         bool          // the stalled write first writes half of its bytes, as a kill inside write(2) leaves them
	SyncTimeout  time.Duration // 0: the default

	// The sink: Delay before every write (a slow sink), and Wrapped in a
	// counting io.Writer, which recovery cannot read back. ReadyEarly says
	// ready before New, for a child killed while it recovers.
	Delay      time.Duration
	Wrapped    bool
	ReadyEarly bool

	// Records makes the sink a RecordWriter (recordFile) that writes each
	// record to the file. With StallAfter, it takes StallAfter calls,
	// then writes half of the next call's records, says it is ready and
	// blocks, in the middle of the call.
	Records bool

	// For the signal tests: each goroutine logs Lines lines (0: until the
	// process ends) into one of Writers Writers (0: one), with
	// FlushInterval; the child says it is ready when they are done, and
	// Signals says how it handles signals (see the signal tests).
	Lines         int
	Writers       int
	FlushInterval time.Duration
	Signals       string
}

// childPlan returns the plan of this process if it is a child.
func childPlan() (exitPlan, bool) {
	env := os.Getenv(exitChildEnv)
	if env == "" {
		return exitPlan{}, false
	}
	var p exitPlan
	if err := json.Unmarshal([]byte(env), &p); err != nil {
		panic(err)
	}
	return p, true
}

// runChild carries out the plan in the child: it starts the goroutines
// logging, tells the parent on file descriptor 3, waits, and ends the
// process. It never returns, so the test binary's own ending (and its leak
// check) never runs.
func (p exitPlan) runChild() {
	ready := os.NewFile(3, "ready")
	file, err := os.OpenFile(p.Sink, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		panic(err)
	}
	sink := io.Writer(file)
	if p.Delay > 0 {
		sink = slowFile{file, p.Delay}
	}
	if p.Wrapped {
		sink = &countingWriter{w: sink}
	}
	switch {
	case p.Records:
		sink = &recordFile{f: file, left: p.StallAfter, ready: ready}
	case p.StallAfter > 0:
		sink = &stallingFile{f: file, left: p.StallAfter, ready: ready, tear: p.Tear}
	}
	if p.ReadyEarly {
		if _, err := ready.Write([]byte{1}); err != nil {
			panic(err)
		}
	}
	opts := []Option{WithSink(sink), WithBufferSize(p.BufferSize), WithMaxWriteSize(p.MaxWriteSize), WithFlushInterval(p.FlushInterval),
		WithSyncTimeout(p.SyncTimeout)}
	if p.Spool != "" {
		opts = append(opts, WithSpool(p.Spool))
	}
	writers := []*Writer{New(opts...)}
	for range p.Writers - 1 {
		writers = append(writers, New(opts...))
	}
	handleSignals(p.Signals)
	progress := mapProgress(p.Progress, p.Goroutines)
	from := make([]int, p.Goroutines)
	if p.Lines > 0 {
		// Each Writer writes its first line at once, and then, after the
		// Sync, lingers for a flush interval without being woken: the
		// lines that follow stay in its buffers until then.
		for i, w := range writers {
			if _, err := w.Write(appendLine(nil, i, 0)); err != nil {
				panic(err)
			}
			if err := w.Sync(); err != nil {
				panic(err)
			}
			progress[i].Store(1)
			from[i] = 1
		}
	}
	var wg sync.WaitGroup
	for g := range p.Goroutines {
		wg.Go(func() { p.log(writers[g%len(writers)], g, from[g], &progress[g]) })
	}
	if p.Lines > 0 {
		wg.Wait()
	}
	if p.Records && p.StallAfter > 0 {
		time.Sleep(time.Hour) // the sink says when it is ready, and the parent kills the process
	}
	if !p.ReadyEarly && p.StallAfter == 0 {
		if _, err := ready.Write([]byte{1}); err != nil {
			panic(err)
		}
	}
	if p.Ending == endSIGKILL || p.Ending == endSignal {
		time.Sleep(time.Hour) // until the parent ends it
	}
	time.Sleep(p.For)
	switch p.Ending {
	case endReturn:
		os.Exit(0)
	case endExit:
		os.Exit(1)
	case endPanic:
		go panic("exit test: a panic in a goroutine")
	case endSIGTERM:
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
	time.Sleep(time.Hour)
}

// log writes the lines of goroutine g, numbered from seq on, at the plan's
// pace, until it has written p.Lines or the process ends, and counts every
// Write that returned.
func (p exitPlan) log(w *Writer, g, seq int, returned *atomic.Uint64) {
	interval := time.Duration(0) // between two lines of this goroutine
	if p.Rate > 0 {
		interval = time.Second * time.Duration(p.Goroutines) / time.Duration(p.Rate)
	}
	start := time.Now()
	var line []byte
	for ; p.Lines == 0 || seq < p.Lines; seq++ {
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(seq) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		line = appendLine(line[:0], g, seq)
		if _, err := w.Write(line); err != nil {
			panic(err)
		}
		returned.Store(uint64(seq + 1))
	}
}

// A stallingFile is a sink that takes the first writes, then tells the
// parent it is ready and blocks (having written half of the write, if it
// tears).
type stallingFile struct {
	f     *os.File
	left  int
	ready *os.File
	tear  bool
}

func (s *stallingFile) Write(p []byte) (int, error) {
	if s.left == 0 {
		if s.tear {
			if _, err := s.f.Write(p[:len(p)/2]); err != nil {
				panic(err)
			}
		}
		if _, err := s.ready.Write([]byte{1}); err != nil {
			panic(err)
		}
		time.Sleep(time.Hour) // until the parent kills the process
	}
	s.left--
	return s.f.Write(p)
}

// A recordFile is a RecordWriter sink that writes each record to a file
// with a write of its own. If left is not 0, it takes left calls, then
// writes half of the records of the next one, tells the parent it is
// ready and blocks: the process is killed in the middle of the call.
type recordFile struct {
	f     *os.File
	left  int
	ready *os.File
}

func (r *recordFile) WriteRecords(recs [][]byte) (int, error) {
	stall := false
	if r.left > 0 {
		r.left--
		stall = r.left == 0
	}
	n := len(recs)
	if stall {
		n = (len(recs) + 1) / 2
	}
	for i, rec := range recs[:n] {
		if _, err := r.f.Write(rec); err != nil {
			return i, err
		}
	}
	if stall {
		if _, err := r.ready.Write([]byte{1}); err != nil {
			panic(err)
		}
		time.Sleep(time.Hour) // until the parent kills the process
	}
	return n, nil
}

// Write is never called: a Writer hands a RecordWriter everything with
// WriteRecords, what it recovers from a spool too (see
// TestSpoolReplayIntoRecordWriter).
func (r *recordFile) Write(p []byte) (int, error) { return r.f.Write(p) }

// mapProgress maps the progress file, shared, as n counters.
func mapProgress(path string, n int) []atomic.Uint64 {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		panic(err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, progressLen, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		panic(err)
	}
	return unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(&mem[0])), n)
}

const progressLen = 4096

// An exitRun is a child process run to its end.
type exitRun struct {
	plan    exitPlan
	state   *os.ProcessState
	stderr  string
	written []int // per goroutine: the Writes that had returned when it died
}

// total returns the lines whose Write had returned.
func (r exitRun) total() int {
	n := 0
	for _, k := range r.written {
		n += k
	}
	return n
}

// An exitChild is a child process that carries out an exitPlan.
type exitChild struct {
	plan     exitPlan
	cmd      *exec.Cmd
	stderr   bytes.Buffer
	watchdog *time.Timer
}

// startExitChild runs test again in a child process that carries out
// plan, and returns once the child says it is ready: logging, or stalled
// in its sink (plan.StallAfter).
func startExitChild(t *testing.T, test string, plan exitPlan) *exitChild {
	t.Helper()
	dir := t.TempDir()
	if plan.Sink == "" {
		plan.Sink = filepath.Join(dir, "log")
	}
	plan.Progress = filepath.Join(dir, "progress")
	require.NoError(t, os.WriteFile(plan.Progress, make([]byte, progressLen), 0o600))
	env, err := json.Marshal(plan)
	require.NoError(t, err)

	ready, readyW, err := os.Pipe()
	require.NoError(t, err)
	defer ready.Close()
	c := &exitChild{plan: plan, cmd: exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")}
	// Under the race detector, a process that exits waits a second for
	// reports from other goroutines first, and they go on logging: not in
	// the child, whose ending is what is tested.
	c.cmd.Env = append(os.Environ(), exitChildEnv+"="+string(env), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	c.cmd.ExtraFiles = []*os.File{readyW}
	c.cmd.Stderr = &c.stderr
	require.NoError(t, c.cmd.Start())
	readyW.Close()
	// A child that hangs is a failure, not a hung test.
	c.watchdog = time.AfterFunc(waitLimit, func() { _ = c.cmd.Process.Kill() })
	var b [1]byte
	if _, err := ready.Read(b[:]); err != nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		t.Fatalf("the child did not start: %v\n%s", err, c.stderr.String())
	}
	return c
}

// kill kills the child with SIGKILL and waits for it.
func (c *exitChild) kill(t *testing.T) exitRun {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	return c.wait(t)
}

// wait waits for the child to end and returns how it ended.
func (c *exitChild) wait(t *testing.T) exitRun {
	t.Helper()
	_ = c.cmd.Wait() // the status is checked against the ending
	c.watchdog.Stop()
	r := exitRun{plan: c.plan, state: c.cmd.ProcessState, stderr: c.stderr.String()}
	counts, err := os.ReadFile(c.plan.Progress)
	require.NoError(t, err)
	for g := range c.plan.Goroutines {
		r.written = append(r.written, int(binary.NativeEndian.Uint64(counts[8*g:])))
	}
	r.requireEnding(t)
	return r
}

// runExitChild runs test again in a child process that carries out plan
// and returns how it ended. For SIGKILL, it kills the child once it has
// logged for plan.For.
func runExitChild(t *testing.T, test string, plan exitPlan) exitRun {
	t.Helper()
	c := startExitChild(t, test, plan)
	if plan.Ending == endSIGKILL {
		time.Sleep(plan.For)
		return c.kill(t)
	}
	return c.wait(t)
}

// requireEnding checks that the child ended the way its plan says.
func (r exitRun) requireEnding(t *testing.T) {
	t.Helper()
	status := r.state.Sys().(syscall.WaitStatus)
	switch r.plan.Ending {
	case endReturn:
		require.Equal(t, 0, r.state.ExitCode(), r.stderr)
	case endExit:
		require.Equal(t, 1, r.state.ExitCode(), r.stderr)
	case endPanic:
		require.Equal(t, 2, r.state.ExitCode(), r.stderr)
		require.Contains(t, r.stderr, "panic: exit test: a panic in a goroutine")
	case endSIGTERM:
		require.True(t, status.Signaled(), "%v: %s", r.state, r.stderr)
		require.Equal(t, syscall.SIGTERM, status.Signal())
	case endSIGKILL:
		require.True(t, status.Signaled(), "%v: %s", r.state, r.stderr)
		require.Equal(t, syscall.SIGKILL, status.Signal())
	case endSignal:
	default:
		t.Fatalf("unknown ending %q", r.plan.Ending)
	}
}

// recoverSpool recovers what the child left in its spool into its sink, as
// the next run of a program does: New with the same spool and sink, then
// Close. It returns the Stats of that Writer.
func recoverInto(t *testing.T, sinkPath, spoolPath string, opts ...Option) Stats {
	t.Helper()
	sink, err := os.OpenFile(sinkPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer sink.Close()
	var errs errorLog
	w := New(append([]Option{WithSink(sink), WithSpool(spoolPath), WithErrorHandler(errs.handle)}, opts...)...)
	require.NoError(t, w.Close())
	require.Empty(t, errs.Errors())
	return w.Stats()
}

// padding makes the lines about as long as a typical JSON log line.
var padding = strings.Repeat("p", 64)

// appendLine appends line seq of goroutine g, with its newline.
func appendLine(b []byte, g, seq int) []byte {
	b = append(b, `{"g":`...)
	b = strconv.AppendInt(b, int64(g), 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"msg":"entry `...)
	b = strconv.AppendInt(b, int64(g), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(seq), 10)
	return append(b, `","pad":"`+padding+`"}`+"\n"...)
}

// parseLine returns the goroutine and number of a line (without its
// newline), and false unless it is exactly the line appendLine makes of
// them: a line cut short or two run together are not.
func parseLine(line []byte) (g, seq int, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"g":`))
	if !ok {
		return 0, 0, false
	}
	g, rest = leadingInt(rest)
	rest, ok = bytes.CutPrefix(rest, []byte(`,"seq":`))
	if !ok {
		return 0, 0, false
	}
	seq, _ = leadingInt(rest)
	var buf [256]byte
	want := appendLine(buf[:0], g, seq)
	return g, seq, bytes.Equal(want[:len(want)-1], line)
}

func leadingInt(p []byte) (int, []byte) {
	n, i := 0, 0
	for ; i < len(p) && i < 9 && '0' <= p[i] && p[i] <= '9'; i++ {
		n = n*10 + int(p[i]-'0')
	}
	return n, p[i:]
}

// cutShort reports whether text is the start of a line, cut short.
func cutShort(text []byte) bool {
	rest, ok := bytes.CutPrefix(text, []byte(`{"g":`))
	if !ok {
		return bytes.HasPrefix([]byte(`{"g":`), text)
	}
	g, rest := leadingInt(rest)
	seq, _ := leadingInt(bytes.TrimPrefix(rest, []byte(`,"seq":`)))
	want := appendLine(nil, g, seq)
	return len(text) < len(want)-1 && bytes.HasPrefix(want, text)
}

// An exitLog is a sink file read back.
type exitLog struct {
	seqs    [][]int      // per goroutine, the numbers of its whole lines, in the order they appear
	notices []exitNotice // recovery notices
	broken  []brokenLine // lines that are neither a whole line nor a notice
	tail    []byte       // after the last newline: the last write cut short
	after   [][]byte     // the lines after the first notice
	counts  [][]uint8    // per goroutine, by number: how often each line appears
}

type exitNotice struct {
	at                           int // its line number, from 0
	Records, Bytes, Torn, Repeat uint64
}

type brokenLine struct {
	at   int
	text []byte
}

func readExitLog(t *testing.T, path string, goroutines int) exitLog {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	l := exitLog{seqs: make([][]int, goroutines), counts: make([][]uint8, goroutines)}
	lines := bytes.Split(data, []byte("\n"))
	l.tail = lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	for i, line := range lines {
		if len(l.notices) > 0 {
			l.after = append(l.after, line)
		}
		if g, seq, ok := parseLine(line); ok && g < goroutines {
			l.seqs[g] = append(l.seqs[g], seq)
			if seq >= len(l.counts[g]) {
				l.counts[g] = append(l.counts[g], make([]uint8, seq+1-len(l.counts[g]))...)
			}
			l.counts[g][seq]++
			continue
		}
		var n struct {
			Kind     string `json:"asynclog"`
			Records  uint64 `json:"records"`
			Bytes    uint64 `json:"bytes"`
			Torn     uint64 `json:"torn"`
			Repeated uint64 `json:"repeated"`
		}
		if json.Unmarshal(line, &n) == nil && n.Kind == "recovered" {
			l.notices = append(l.notices, exitNotice{at: i, Records: n.Records, Bytes: n.Bytes, Torn: n.Torn, Repeat: n.Repeated})
			continue
		}
		l.broken = append(l.broken, brokenLine{at: i, text: line})
	}
	return l
}

// kept returns how many distinct lines the log holds.
func (l exitLog) kept() int {
	n := 0
	for _, counts := range l.counts {
		for _, c := range counts {
			if c > 0 {
				n++
			}
		}
	}
	return n
}

// duplicates returns how many lines appear more than once, counting each
// extra appearance.
func (l exitLog) duplicates() int {
	n := 0
	for _, counts := range l.counts {
		for _, c := range counts {
			n += max(int(c), 1) - 1
		}
	}
	return n
}

// requirePrefixes checks that each goroutine's lines are an unbroken
// prefix of what it wrote: 0, 1, ... k-1 in order, the first appearance
// of each, where k is at least low[g] and at most low[g]+1 (the Write it
// was in when the process died may or may not have finished). A line
// repeated by recovery may appear again later.
func (l exitLog) requirePrefixes(t *testing.T, low []int, exact bool) {
	t.Helper()
	for g, seqs := range l.seqs {
		next := 0
		for _, seq := range seqs {
			if seq < next {
				continue // a repeat: counted apart
			}
			if seq != next {
				t.Fatalf("goroutine %d: line %d after line %d: a hole or a line out of order", g, seq, next-1)
			}
			next++
		}
		if exact {
			require.True(t, next == low[g] || next == low[g]+1,
				"goroutine %d: %d lines kept, %d Writes returned", g, next, low[g])
		} else {
			require.LessOrEqual(t, next, low[g]+1, "goroutine %d: more lines than were written", g)
		}
	}
}

// requireRecovered checks the sink of a child that had a spool, after
// recovery: every line whose Write returned is there, each goroutine's an
// unbroken prefix, each line once but for at most stats.RepeatedRecords
// repeats, and no line broken but, just before the notice, the one the
// child's last sink write may have cut short.
func requireRecovered(t *testing.T, r exitRun, l exitLog, stats Stats) {
	t.Helper()
	require.Empty(t, l.tail, "the log does not end in a newline")
	l.requirePrefixes(t, r.written, true)
	require.LessOrEqual(t, uint64(l.duplicates()), stats.RepeatedRecords, "lines that appear twice")
	for g, counts := range l.counts {
		for seq, c := range counts {
			if c > 2 {
				t.Fatalf("line %d of goroutine %d appears %d times", seq, g, c)
			}
		}
	}
	require.LessOrEqual(t, stats.TornRecords, uint64(r.plan.Goroutines), "torn records: at most one Write per goroutine was cut short")
	if stats.RecoveredRecords == 0 {
		require.Empty(t, l.notices)
		require.Empty(t, l.broken)
		return
	}
	require.Len(t, l.notices, 1)
	n := l.notices[0]
	assert.Equal(t, stats.RecoveredRecords, n.Records)
	assert.Equal(t, stats.RecoveredBytes, n.Bytes)
	assert.Equal(t, stats.RepeatedRecords, n.Repeat)
	assert.Equal(t, stats.TornRecords, n.Torn)
	assert.Equal(t, int(n.Records), len(l.after), "the lines after the notice are the records recovered")
	if len(l.broken) == 0 {
		return
	}
	// The child died in a sink write that it had begun: the part it wrote
	// is a line cut short, ended by the newline recovery writes first, and
	// the records of that write follow the notice again.
	require.Len(t, l.broken, 1, "broken lines")
	cut := l.broken[0]
	require.Equal(t, n.at-1, cut.at, "a broken line that is not the last before the notice: %q", cut.text)
	require.NotZero(t, stats.RepeatedRecords, "a line cut short, but no write was in flight: %q", cut.text)
	found := false
	for _, line := range l.after {
		found = found || bytes.HasPrefix(line, cut.text)
	}
	require.True(t, cutShort(cut.text) && found, "the line cut short is not the start of a recovered record: %q", cut.text)
}

// requireLossy checks the sink of a child without a spool and returns the
// lines kept: each goroutine's lines are an unbroken prefix of what it
// wrote (the records lost are the last ones), none twice, none broken but
// the last write, cut short.
func requireLossy(t *testing.T, r exitRun, l exitLog) int {
	t.Helper()
	require.Empty(t, l.notices)
	require.Empty(t, l.broken)
	require.Zero(t, l.duplicates())
	l.requirePrefixes(t, r.written, false)
	if len(l.tail) > 0 {
		require.True(t, cutShort(l.tail), "the log ends in neither a newline nor a line cut short: %q", l.tail)
	}
	return l.kept()
}

// exitPace is one of the two loads of the exit tests.
type exitPace struct {
	name string
	rate int // lines a second in all; 0: flat out
	// How long the child logs before it ends, with a spool and without.
	// Paced without a spool, what is lost is the last few milliseconds of
	// lines: 2 s of them keep a loaded machine's stalls of the writer
	// goroutine (up to 6 ms seen under the race detector) within 0.5%.
	spooled, memory time.Duration
}

var exitPaces = []exitPace{
	{"paced", 20000, time.Second, 2 * time.Second},
	{"flat-out", 0, 250 * time.Millisecond, 250 * time.Millisecond},
}

// exitRuns is how often each case of TestExits runs: 1, or the number in
// ASYNCLOG_EXIT_RUNS (the table in the README takes 3).
func exitRuns() int {
	if n, err := strconv.Atoi(os.Getenv("ASYNCLOG_EXIT_RUNS")); err == nil && n > 0 {
		return n
	}
	return 1
}

// TestExits ends a child process that logs from 4 goroutines in each of
// the five ways, paced (20,000 lines a second) and flat out, with and
// without a spool, and checks what reached the sink. With the spool, after
// recovery, every line whose Write returned is there, once, but for the
// bounded repeats. Without it, paced, at least 99.5% of the lines are
// kept: the writer goroutine writes within about a millisecond. It logs
// the lines kept of the lines written, the numbers of the README's table
// (go test -run TestExits -v, with ASYNCLOG_EXIT_RUNS=3).
func TestExits(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	for _, spool := range []bool{true, false} {
		for _, pace := range exitPaces {
			for _, ending := range endings {
				name := fmt.Sprintf("%s/%s/spool=%t", ending, pace.name, spool)
				t.Run(name, func(t *testing.T) {
					for range exitRuns() {
						testExit(t, ending, pace, spool)
					}
				})
			}
		}
	}
}

func testExit(t *testing.T, ending string, pace exitPace, spool bool) {
	dir := t.TempDir()
	plan := exitPlan{Sink: filepath.Join(dir, "log"), Goroutines: 4, Rate: pace.rate, For: pace.memory, Ending: ending}
	if spool {
		plan.Spool, plan.For = filepath.Join(dir, "spool"), pace.spooled
	}
	r := runExitChild(t, "TestExits", plan)
	if spool {
		stats := recoverInto(t, plan.Sink, plan.Spool)
		l := readExitLog(t, plan.Sink, plan.Goroutines)
		requireRecovered(t, r, l, stats)
		t.Logf("%s, %s, spool: kept %d of %d lines (recovered %d, repeated %d, torn %d)",
			ending, pace.name, l.kept(), r.total(), stats.RecoveredRecords, stats.RepeatedRecords, stats.TornRecords)
		return
	}
	l := readExitLog(t, plan.Sink, plan.Goroutines)
	kept := requireLossy(t, r, l)
	t.Logf("%s, %s, no spool: kept %d of %d lines (%.2f%%)", ending, pace.name, kept, r.total(), 100*float64(kept)/float64(r.total()))
	if pace.rate > 0 {
		require.GreaterOrEqual(t, float64(kept), 0.995*float64(r.total()), "lines kept of lines written")
	}
}

// TestSpoolSIGKILLBursts kills a child logging flat out from 8 goroutines
// at a random moment, again and again, and checks after each recovery that
// every goroutine's lines are an unbroken prefix of what it wrote, whole,
// with every line whose Write returned, none twice but the bounded
// repeats. The buffers are small, so that the kill lands in every part of
// the cycle: copying, swapping, writing, waiting for room.
func TestSpoolSIGKILLBursts(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		dir := t.TempDir()
		size := []int{0, 64 << 10, 4 << 10}[round%3]
		delay := time.Duration(rand.Int64N(int64(150 * time.Millisecond)))
		plan := exitPlan{Sink: filepath.Join(dir, "log"), Spool: filepath.Join(dir, "spool"), BufferSize: size,
			Goroutines: 8, For: delay, Ending: endSIGKILL}
		r := runExitChild(t, "TestSpoolSIGKILLBursts", plan)
		stats := recoverInto(t, plan.Sink, plan.Spool, WithBufferSize(size))
		l := readExitLog(t, plan.Sink, plan.Goroutines)
		requireRecovered(t, r, l, stats)
		t.Logf("round %d (buffers of %d bytes, killed after %v): kept %d of %d lines (recovered %d, repeated %d, torn %d, broken %d)",
			round, size, delay.Round(time.Millisecond), l.kept(), r.total(), stats.RecoveredRecords, stats.RepeatedRecords, stats.TornRecords, len(l.broken))
	}
}

// TestSpoolRecordWriterKilledMidCall kills a child whose sink is a
// RecordWriter, with a spool, in the middle of a WriteRecords call that
// has delivered half of its records, with 4 goroutines logging flat out,
// and checks after recovery that every line whose Write returned is in the
// sink, whole, each goroutine's in order, none twice but the records of
// the call the child died in. The recovering Writer's sink is the file
// itself, so that recovery replays through Write; replay through
// WriteRecords is tested with the recovery code.
func TestSpoolRecordWriterKilledMidCall(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	for round, size := range []int{4 << 10, 64 << 10, 0} {
		dir := t.TempDir()
		plan := exitPlan{Sink: filepath.Join(dir, "log"), Spool: filepath.Join(dir, "spool"), BufferSize: size,
			Goroutines: 4, Records: true, StallAfter: 10 + 7*round, Ending: endSIGKILL}
		r := startExitChild(t, "TestSpoolRecordWriterKilledMidCall", plan).kill(t)
		stats := recoverInto(t, plan.Sink, plan.Spool, WithBufferSize(size))
		l := readExitLog(t, plan.Sink, plan.Goroutines)
		requireRecovered(t, r, l, stats)
		require.Empty(t, l.broken, "a RecordWriter writes whole records")
		require.NotZero(t, stats.RepeatedRecords, "the child died in a call")
		require.NotZero(t, l.duplicates(), "half of the call it died in was delivered, and is delivered again")
		t.Logf("buffers of %d bytes: kept %d of %d lines (recovered %d, repeated %d, duplicates %d, torn %d)",
			size, l.kept(), r.total(), stats.RecoveredRecords, stats.RepeatedRecords, l.duplicates(), stats.TornRecords)
	}
}
