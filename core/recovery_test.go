//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A countingWriter is a sink wrapped around another, as a rotating or
// counting writer wraps a file: recovery cannot read it back.
type countingWriter struct {
	w     io.Writer
	calls atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls.Add(1)
	return c.w.Write(p)
}

// TestRecoveryEndsTornLineWithNothingToRecover leaves a spool as a process
// leaves it when it dies inside a sink call of a record too long for the
// spool (or of a notice), with nothing in the spool: the next New ends
// the line, for a bare file (read back) and for a wrapped sink (the
// spool's header says it died in a call), before the first record; and a
// process that died between calls gets no newline.
func TestRecoveryEndsTornLineWithNothingToRecover(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		for _, died := range []bool{true, false} {
			t.Run(fmt.Sprintf("wrapped=%t/died-in-call=%t", wrapped, died), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "spool")
				deadSpool(t, path, testSpoolSize, func(s *spool) {
					if died {
						s.enter(nil)
					}
				})
				before := appendLine(nil, 0, 0)
				if died {
					before = append(before, cutLine...)
				}
				f := appendFile(t, filepath.Join(dir, "log"), before)
				var sink io.Writer = f
				if wrapped {
					sink = &countingWriter{w: f}
				}
				w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
				_, err := w.Write(appendLine(nil, 0, 1))
				require.NoError(t, err)
				require.NoError(t, w.Close())
				data, err := os.ReadFile(f.Name())
				require.NoError(t, err)
				want := string(before)
				if died {
					want += "\n"
				}
				assert.Equal(t, want+string(appendLine(nil, 0, 1)), string(data))
				assert.Zero(t, w.Stats().RecoveredRecords)
			})
		}
	}
}

// TestRecoveryBoundedBySyncTimeout recovers a spool into a sink that
// stalls after the notice: New returns after about the sync timeout, with
// an error matching ErrSpool and ErrTimeout; the Writer runs on memory
// buffers, and the spool stays held, its records unwritten, so that
// nothing overwrites them; nothing else calls the sink while the stalled
// call lasts (Sync times out); once the sink returns, the recovered
// records come first, then the new ones, and the spool is let go, written.
func TestRecoveryBoundedBySyncTimeout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	recs := lines(0, 0, 50)
	deadSpool(t, path, testSpoolSize, func(s *spool) { commit(t, s.buffers[0], 1, recs...) })

	g := newGate()
	var inSink, most atomic.Int32
	sink := &recSink{}
	stall := writerFunc(func(p []byte) (int, error) {
		n := inSink.Add(1)
		defer inSink.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if bytes.Contains(p, []byte(`"seq":0,`)) {
			g.pass() // the first write of records stalls
		}
		return sink.Write(p)
	})
	var errs errorLog
	const timeout = 300 * time.Millisecond
	returned := make(chan *Writer)
	start := time.Now()
	go func() {
		returned <- New(WithSink(stall), WithSpool(path), WithBufferSize(testSpoolSize), WithMaxWriteSize(10*len(recs[0])),
			WithSyncTimeout(timeout), WithErrorHandler(errs.handle))
	}()
	var w *Writer
	select {
	case w = <-returned:
	case <-time.After(10 * timeout):
		g.open()
		<-returned
		t.Fatal("New did not return while the sink stalled in recovery")
	}
	took := time.Since(start)
	t.Logf("New returned after %v", took)
	assert.GreaterOrEqual(t, took, timeout)
	require.Len(t, errs.Errors(), 1)
	err := errs.Errors()[0]
	assert.ErrorIs(t, err, ErrSpool)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Nil(t, w.spool, "the Writer runs on memory buffers")

	// The spool is still held, by the recovery.
	_, rerr := Recover(path, io.Discard)
	require.ErrorIs(t, rerr, ErrSpool)

	_, err = w.Write([]byte("new 1\n"))
	require.NoError(t, err)
	require.ErrorIs(t, w.Sync(), ErrTimeout, "the sink is the recovery's until its call returns")
	g.open()
	_, err = w.Write([]byte("new 2\n"))
	require.NoError(t, err)
	require.ErrorIs(t, w.Close(), ErrSpool, "the first error since the last Sync that returned one")
	assert.Equal(t, int32(1), most.Load(), "sink calls at once")

	got := bytes.SplitAfter(sink.Data(), []byte("\n"))
	require.Equal(t, "recovered", readNotice(t, got[0])["asynclog"])
	want := append(append([][]byte{}, recs...), []byte("new 1\n"), []byte("new 2\n"), []byte{})
	assert.Equal(t, want, got[1:])
	st := w.Stats()
	assert.Equal(t, uint64(50), st.RecoveredRecords)

	note, err := Recover(path, io.Discard)
	require.NoError(t, err, "the spool is let go once the recovery ends")
	assert.Zero(t, note.Records)
}

// TestRecoveryTimeoutThenKilled: a process whose recovery outlasts the
// sync timeout, so that New returns and it logs on (on memory buffers), is
// killed: the next start recovers every record the first had not
// written, the stalled call's again.
func TestRecoveryTimeoutThenKilled(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	dir := t.TempDir()
	path, sinkPath := filepath.Join(dir, "spool"), filepath.Join(dir, "log")
	recs := lines(0, 0, 100)
	deadSpool(t, path, testSpoolSize, func(s *spool) { commit(t, s.buffers[0], 1, recs...) })
	child := startExitChild(t, "TestRecoveryTimeoutThenKilled", exitPlan{Sink: sinkPath, Spool: path, BufferSize: testSpoolSize,
		MaxWriteSize: 10 * len(recs[0]), StallAfter: 3, Tear: true, SyncTimeout: 200 * time.Millisecond,
		Goroutines: 1, Rate: 1000, Ending: endSIGKILL})
	// Wait until New has returned and the child logs.
	eventually(t, "the child logs after New returned", func() bool {
		counts, err := os.ReadFile(child.plan.Progress)
		return err == nil && binary.NativeEndian.Uint64(counts) > 0
	})
	child.kill(t)

	stats := recoverInto(t, sinkPath, path, WithBufferSize(testSpoolSize))
	l := readExitLog(t, sinkPath, 1)
	require.Len(t, l.notices, 2)
	require.Len(t, l.broken, 1, "the stalled write, cut in half")
	assert.True(t, cutShort(l.broken[0].text))
	runs := runsOf(recs, 10*len(recs[0]))
	assert.Equal(t, uint64(100-runs[0]-runs[1]), stats.RecoveredRecords, "all but the 2 runs written")
	assert.Equal(t, uint64(runs[2]), stats.RepeatedRecords, "the run of the cut write")
	l.requirePrefixes(t, []int{100}, true)
	assert.LessOrEqual(t, l.duplicates(), 5, "the whole records of the half written")
}

// runsOf returns how many records each run of a replay of recs holds,
// with runs of at most limit bytes.
func runsOf(recs [][]byte, limit int) []int {
	var runs []int
	for i := 0; i < len(recs); {
		n, size := 0, 0
		for i < len(recs) && (size+len(recs[i]) <= limit || n == 0) {
			size += len(recs[i])
			n, i = n+1, i+1
		}
		runs = append(runs, n)
	}
	return runs
}

// TestRecoveryGoexitInSink ends the goroutine of the recovery with
// runtime.Goexit, and with a panic, in a sink call: New returns, the
// error is reported, the other records are recovered, and the spool is
// let go at Close (its descriptor does not leak).
func TestRecoveryGoexitInSink(t *testing.T) {
	for _, how := range []string{"goexit", "panic"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "spool")
			recs := lines(0, 0, 30)
			deadSpool(t, path, testSpoolSize, func(s *spool) { commit(t, s.buffers[0], 1, recs...) })
			sink := &recSink{}
			calls := 0
			end := writerFunc(func(p []byte) (int, error) {
				calls++
				if calls == 2 { // the first run of records
					if how == "goexit" {
						runtime.Goexit()
					}
					panic("sink")
				}
				return sink.Write(p)
			})
			var errs errorLog
			returned := make(chan *Writer)
			go func() {
				returned <- New(WithSink(end), WithSpool(path), WithBufferSize(testSpoolSize), WithMaxWriteSize(10*len(recs[0])),
					WithErrorHandler(errs.handle))
			}()
			var w *Writer
			select {
			case w = <-returned:
			case <-time.After(waitLimit):
				t.Fatal("New did not return")
			}
			require.NotNil(t, w.spool)
			require.Len(t, errs.Errors(), 1)
			assert.ErrorIs(t, errs.Errors()[0], ErrSinkPanic)
			_, err := w.Write([]byte("after\n"))
			require.NoError(t, err)
			require.ErrorIs(t, w.Close(), ErrSinkPanic)
			got := bytes.SplitAfter(sink.Data(), []byte("\n"))
			require.Equal(t, "recovered", readNotice(t, got[0])["asynclog"])
			first := runsOf(recs, 10*len(recs[0]))[0]
			want := append(append([][]byte{}, recs[first:]...), []byte("after\n"), []byte{})
			assert.Equal(t, want, got[1:], "the records of the call that ended are lost, the others written")
			assert.Equal(t, uint64(30-first), w.Stats().RecoveredRecords)

			_, err = Recover(path, io.Discard)
			require.NoError(t, err, "the spool is let go")
		})
	}
}

// TestRecoveryKilledInTurn leaves a spool as a process leaves it when it
// dies in a sink write that reached the file but for half a record, then
// kills three recoveries in a row, each inside a sink call that has
// written half of its bytes, and recovers at last: every record is in the
// file, none whole more than twice, and each cut write is a line of its
// own.
func TestRecoveryKilledInTurn(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	for _, wrapped := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrapped=%t", wrapped), func(t *testing.T) {
			dir := t.TempDir()
			path, sinkPath := filepath.Join(dir, "spool"), filepath.Join(dir, "log")
			recs := lines(0, 0, 100)
			deadSpool(t, path, testSpoolSize, func(s *spool) {
				ends := commit(t, s.buffers[0], 1, recs...)
				s.buffers[0].meta.writing.Store(ends[39]) // recs[:40] in flight, and in the file
				s.enter(s.buffers[0].meta)
			})
			// The dead process's call wrote all but half a record.
			require.NoError(t, os.WriteFile(sinkPath, append(bytes.Join(recs[:39], nil), recs[39][:50]...), 0o600))
			for i, stall := range []int{4, 3, 4} {
				child := startExitChild(t, "TestRecoveryKilledInTurn", exitPlan{Sink: sinkPath, Spool: path, BufferSize: testSpoolSize,
					MaxWriteSize: 10 * len(recs[0]), StallAfter: stall, Tear: true, Ending: endSIGKILL})
				child.kill(t)
				t.Logf("recovery %d killed in its call %d", i, stall+1)
			}
			sink, err := os.OpenFile(sinkPath, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			defer sink.Close()
			var to io.Writer = sink
			if wrapped {
				to = &countingWriter{w: sink}
			}
			var errs errorLog
			w := New(WithSink(to), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(errs.handle))
			require.NoError(t, w.Close())
			require.Empty(t, errs.Errors())
			st := w.Stats()

			l := readExitLog(t, sinkPath, 1)
			require.Empty(t, l.tail)
			l.requirePrefixes(t, []int{100}, true)
			for seq, c := range l.counts[0] {
				require.LessOrEqual(t, c, uint8(2), "line %d appears %d times", seq, c)
			}
			for _, b := range l.broken {
				require.True(t, cutShort(b.text), "a broken line that is not a record cut short: %q", b.text)
			}
			require.Len(t, l.broken, 4, "one cut write per killed process")
			require.Len(t, l.notices, 4)
			t.Logf("lines twice: %d; last recovery: %d records, %d may appear twice", l.duplicates(), st.RecoveredRecords, st.RepeatedRecords)
		})
	}
}

// TestSpoolTornLineSIGKILL kills a process inside the sink call of a
// record too long for its spool, after the call has written half of it,
// with nothing in the spool to recover; the next start, through a wrapped
// sink, ends the torn line before its first record.
func TestSpoolTornLineSIGKILL(t *testing.T) {
	if os.Getenv("ASYNCLOG_TORN_CHILD") != "" {
		tornLineChild()
		return
	}
	for _, wrapped := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrapped=%t", wrapped), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolTornLineSIGKILL$", "-test.count=1")
			cmd.Env = append(os.Environ(), "ASYNCLOG_TORN_CHILD="+dir)
			ready, readyW, err := os.Pipe()
			require.NoError(t, err)
			defer ready.Close()
			cmd.ExtraFiles = []*os.File{readyW}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			readyW.Close()
			var b [1]byte
			_, err = ready.Read(b[:])
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child: %v: %s", err, stderr.String())
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()

			logPath := filepath.Join(dir, "out.log")
			f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			defer f.Close()
			var sink io.Writer = f
			if wrapped {
				sink = &countingWriter{w: f}
			}
			w := New(WithSpool(filepath.Join(dir, "spool")), WithSink(sink), WithBufferSize(crashBuffer),
				WithErrorHandler(func(err error) { t.Error(err) }))
			_, err = w.Write([]byte("next\n"))
			require.NoError(t, err)
			require.NoError(t, w.Close())
			data, err := os.ReadFile(logPath)
			require.NoError(t, err)
			long := string(bytes.Repeat([]byte("L"), crashBuffer))
			assert.Equal(t, "before\n"+long+"\nnext\n", string(data))
		})
	}
}

func tornLineChild() {
	dir := os.Getenv("ASYNCLOG_TORN_CHILD")
	f, err := os.OpenFile(filepath.Join(dir, "out.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		panic(err)
	}
	ready := os.NewFile(3, "ready")
	sink := writerFunc(func(p []byte) (int, error) {
		if len(p) > crashBuffer {
			_, _ = f.Write(p[:len(p)/2])
			_, _ = ready.Write([]byte{1})
			select {} // killed here
		}
		return f.Write(p)
	})
	w := New(WithSpool(filepath.Join(dir, "spool")), WithSink(sink), WithBufferSize(crashBuffer),
		WithErrorHandler(func(err error) { panic(err) }))
	if _, err := w.Write([]byte("before\n")); err != nil {
		panic(err)
	}
	if err := w.Sync(); err != nil {
		panic(err)
	}
	_, _ = w.Write(append(bytes.Repeat([]byte("L"), 2*crashBuffer), '\n'))
	select {}
}

// stepLines is the most records of the exit tests' lines one step holds:
// the bound of the records a crash may repeat.
func stepLines() uint64 { return uint64(spoolStep / len(appendLine(nil, 0, 0))) }

// TestSpoolKilledFlatOut kills a child logging flat out from 4 goroutines
// with the default buffers, with SIGKILL or os.Exit from another
// goroutine, at a random moment, 50 times, and checks after each recovery
// that no line is missing, none torn, none more than twice, and that the
// lines repeated are at most one step of them.
func TestSpoolKilledFlatOut(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	worst, worstRepeated := 0, uint64(0)
	for round := range rounds {
		dir := t.TempDir()
		ending := []string{endSIGKILL, endExit}[round%2]
		delay := time.Duration(rand.Int64N(int64(200 * time.Millisecond)))
		plan := exitPlan{Sink: filepath.Join(dir, "log"), Spool: filepath.Join(dir, "spool"), Goroutines: 4, For: delay, Ending: ending}
		r := runExitChild(t, "TestSpoolKilledFlatOut", plan)
		stats := recoverInto(t, plan.Sink, plan.Spool)
		l := readExitLog(t, plan.Sink, plan.Goroutines)
		requireRecovered(t, r, l, stats)
		require.LessOrEqual(t, stats.RepeatedRecords, stepLines(), "records that may be repeated: more than a step")
		worst, worstRepeated = max(worst, l.duplicates()), max(worstRepeated, stats.RepeatedRecords)
		t.Logf("round %d (%s after %v): %d lines written, recovered %d, %d may repeat, %d twice",
			round, ending, delay.Round(time.Millisecond), r.total(), stats.RecoveredRecords, stats.RepeatedRecords, l.duplicates())
	}
	t.Logf("worst of %d rounds: %d lines twice, %d counted as may repeat (a step holds %d lines)", rounds, worst, worstRepeated, stepLines())
}

// afterKill reads what a killed process left: whether it died inside a
// sink call (the spool's header, read as recovery reads it) and whether
// the log ends mid-line (the call was cut).
func afterKill(t *testing.T, spoolPath, logPath string) (inCall, cut bool) {
	t.Helper()
	head := make([]byte, spoolHeadLen)
	f, err := os.Open(spoolPath)
	require.NoError(t, err)
	_, err = f.ReadAt(head, 0)
	f.Close()
	require.NoError(t, err)
	h := (*spoolHeader)(unsafe.Pointer(&head[0]))
	s := spool{head: h}
	inCall = s.diedInCall()
	data, err := os.ReadFile(logPath)
	require.NoError(t, err)
	cut = len(data) > 0 && data[len(data)-1] != '\n'
	return inCall, cut
}

// tortureRounds is how many rounds TestSpoolKillTorture runs: a few dozen,
// or the number in ASYNCLOG_TORTURE_ROUNDS.
func tortureRounds() int {
	if n, err := strconv.Atoi(os.Getenv("ASYNCLOG_TORTURE_ROUNDS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 8
	}
	return 24
}

// TestSpoolKillTorture kills a child logging from 4 goroutines, then up to
// two children recovering its spool, each at a random moment, with a fast
// or a slow sink, a bare file or a wrapped one, and recovers at last. The
// log must hold every line whose Write returned, in order, none more than
// twice, none glued to another; a line cut short only where a kill cut a
// sink write, and ended by a newline. It counts the empty lines that a
// sink recovery cannot read back (wrapped, or slowed by a wrapper) may
// get, when a kill lands in a sink call that had written nothing or
// everything; a bare file, read back, gets none.
func TestSpoolKillTorture(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	var (
		mu                                      sync.Mutex
		rounds                                  = tortureRounds()
		blank, cut, worst, kills, inRecoveryDie int
		inCall, cutCalls                        int // kills inside a sink call, and those that cut it
	)
	for round := range rounds {
		wrapped, slow := round%2 == 1, round/2%2 == 1
		dir := t.TempDir()
		plan := exitPlan{Sink: filepath.Join(dir, "log"), Spool: filepath.Join(dir, "spool"), BufferSize: 64 << 10,
			Goroutines: 4, Wrapped: wrapped, MaxWriteSize: 8 << 10, For: time.Duration(rand.Int64N(int64(60 * time.Millisecond))), Ending: endSIGKILL}
		if slow {
			plan.Delay = 200 * time.Microsecond
		}
		r := runExitChild(t, "TestSpoolKillTorture", plan)
		n := 1
		count := func() {
			in, c := afterKill(t, plan.Spool, plan.Sink)
			if in {
				inCall++
			}
			if c {
				cutCalls++
			}
		}
		count()
		for range rand.IntN(3) {
			// A recovery in many calls, so that the kill may land in it.
			rp := plan
			rp.Goroutines, rp.ReadyEarly, rp.MaxWriteSize = 0, true, 1<<10
			if slow {
				rp.Delay = 300 * time.Microsecond
			}
			c := startExitChild(t, "TestSpoolKillTorture", rp)
			time.Sleep(time.Duration(rand.Int64N(int64(30 * time.Millisecond))))
			c.kill(t)
			count()
			n++
			inRecoveryDie++
		}
		sink, err := os.OpenFile(plan.Sink, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		var to io.Writer = sink
		if wrapped {
			to = &countingWriter{w: sink}
		}
		var errs errorLog
		w := New(WithSink(to), WithSpool(plan.Spool), WithBufferSize(plan.BufferSize), WithMaxWriteSize(plan.MaxWriteSize), WithErrorHandler(errs.handle))
		require.NoError(t, w.Close())
		require.NoError(t, sink.Close())
		require.Empty(t, errs.Errors())

		l := readExitLog(t, plan.Sink, plan.Goroutines)
		require.Empty(t, l.tail, "round %d: the log does not end in a newline", round)
		l.requirePrefixes(t, r.written, true)
		for g, counts := range l.counts {
			for seq, c := range counts {
				require.LessOrEqual(t, c, uint8(2), "round %d: line %d of goroutine %d appears %d times", round, seq, g, c)
			}
		}
		b, k := 0, 0
		for _, line := range l.broken {
			switch {
			case len(line.text) == 0:
				b++
			case cutShort(line.text), bytes.HasPrefix([]byte(`{"time":"`), line.text[:min(len(line.text), 9)]) && !bytes.Contains(line.text, []byte("\"}")):
				k++ // a record or a notice cut short: on a line of its own
			default:
				t.Fatalf("round %d: line %d is neither whole nor a line cut short: %q", round, line.at, line.text)
			}
		}
		require.LessOrEqual(t, k, n, "round %d: more lines cut short than kills", round)
		if !wrapped && !slow {
			require.Zero(t, b, "round %d: an empty line in a bare file, which recovery reads back", round)
		}
		mu.Lock()
		blank, cut, worst, kills = blank+b, cut+k, max(worst, l.duplicates()), kills+n
		mu.Unlock()
		t.Logf("round %d (wrapped %t, slow %t): %d kills, %d lines twice, %d cut, %d empty", round, wrapped, slow, n, l.duplicates(), k, b)
	}
	t.Logf("%d rounds, %d kills (%d during recovery), %d inside a sink call, %d of them cutting it: %d lines cut short, %d empty lines (sinks not read back), worst %d lines twice",
		rounds, kills, inRecoveryDie, inCall, cutCalls, cut, blank, worst)
}

// TestRecoverEndsTornLineOfFile checks that Recover into a regular file
// that ends mid-line ends the line before the records, and writes no
// newline into anything else.
func TestRecoverEndsTornLineOfFile(t *testing.T) {
	for _, file := range []bool{true, false} {
		t.Run(fmt.Sprintf("file=%t", file), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "spool")
			recs := lines(0, 1, 3)
			deadSpool(t, path, testSpoolSize, func(s *spool) {
				commit(t, s.buffers[0], 1, recs...)
				s.enter(nil) // it died writing a record too long for the spool
			})
			if !file {
				var out bytes.Buffer
				_, err := Recover(path, &out)
				require.NoError(t, err)
				assert.Equal(t, string(bytes.Join(recs, nil)), out.String())
				return
			}
			before := append(appendLine(nil, 0, 0), cutLine...)
			f := appendFile(t, filepath.Join(dir, "log"), before)
			_, err := Recover(path, f)
			require.NoError(t, err)
			data, err := os.ReadFile(f.Name())
			require.NoError(t, err)
			assert.Equal(t, string(before)+"\n"+string(bytes.Join(recs, nil)), string(data))
		})
	}
}

// TestRecoverTornLineThenNotice checks the order of what Recover writes
// into a log that ends mid-line, given a notice format: the newline that
// ends the torn line, then the notice, then the records.
func TestRecoverTornLineThenNotice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	recs := lines(0, 1, 3)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		commit(t, s.buffers[0], 1, recs...)
		s.enter(nil)
	})
	before := append(appendLine(nil, 0, 0), cutLine...)
	f := appendFile(t, filepath.Join(dir, "log"), before)
	note, err := Recover(path, f, WithNotices(JSONNotice))
	require.NoError(t, err)
	data, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	assert.Equal(t, string(before)+"\n"+string(JSONNotice(note))+string(bytes.Join(recs, nil)), string(data))
}
