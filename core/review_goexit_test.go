package core

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewSinkGoexit failed before run started a new writer goroutine
// after a Goexit.
//
// safeWrite recovers a sink's panic, but a sink that calls
// runtime.Goexit (t.FailNow, or a helper that ends "its" goroutine) runs
// the deferred recover with nothing to recover, and the writer goroutine
// ends: run's deferred close(w.done) makes every later Sync and Close
// return nil at once, as if everything had been written. Records accepted
// after that are never written, with no error anywhere, and under Block
// callers wait for room until Close releases them.
func TestReviewSinkGoexit(t *testing.T) {
	var calls atomic.Int32
	s := &recSink{write: func(p []byte) (int, error) {
		if calls.Add(1) == 1 {
			runtime.Goexit()
		}
		return len(p), nil
	}}
	var errs errorLog
	w := newWriter(t, WithSink(s), WithErrorHandler(errs.handle))
	_, err := w.Write([]byte("first\n"))
	require.NoError(t, err)
	eventually(t, "the sink is called", func() bool { return calls.Load() > 0 })
	select {
	case <-w.done: // the writer goroutine is gone
	case <-time.After(time.Second):
	}
	_, err = w.Write([]byte("second\n"))
	require.NoError(t, err)
	syncErr := w.Sync()
	closeErr := w.Close()
	t.Logf("sink %q, Sync %v, Close %v, errors %v", s.Data(), syncErr, closeErr, errs.Errors())
	reported := syncErr != nil || closeErr != nil || len(errs.Errors()) > 0
	assert.True(t, string(s.Data()) == "second\n" || reported,
		"the record accepted after the sink's Goexit is lost, and nothing says so")
}

// steppedSink blocks its calls number 1, 2, ... (counting from 1) at the
// gates given, until each is opened; other calls go through.
type steppedSink struct {
	recSink
	calls atomic.Int32
	gates map[int32]*gate
}

func (s *steppedSink) Write(p []byte) (int, error) {
	if g := s.gates[s.calls.Add(1)]; g != nil {
		g.pass()
	}
	return s.recSink.Write(p)
}

// goexitOnce returns an error handler that ends its goroutine with
// runtime.Goexit the first time it hears an error matching target, as a
// test's t.Fatal in an error handler does, and logs the rest.
// It closes fired first.
func goexitOnce(log *errorLog, target error, fired chan struct{}) func(error) {
	var done atomic.Bool
	return func(err error) {
		if errors.Is(err, target) && !done.Swap(true) {
			close(fired)
			runtime.Goexit()
		}
		log.handle(err)
	}
}

// TestReviewGoexitInDropReportLosesBuffer: run's new writer goroutine
// resumes what the Goexit interrupted from w.exited. writeOut used to
// report the drops (notes.writeDue: the error handler, the notice format, a
// sink write of the notice) before writeOutFrom records the buffer in
// w.exited. A Goexit there leaves the claimed spare busy and unrecorded:
// its records are never written, nothing is reported, Close returns nil.
// (And a later swap, as flush's, takes the busy spare as the next cur.)
func TestReviewGoexitInDropReportLosesBuffer(t *testing.T) {
	g := newGate()
	s := &steppedSink{gates: map[int32]*gate{1: g}}
	var log errorLog
	fired := make(chan struct{})
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()),
		WithErrorHandler(goexitOnce(&log, ErrDropped, fired)))
	t.Cleanup(g.open)
	first := rec("first", 40) // past the high-water mark: written at once
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)
	r1, r2 := rec("r1", 20), rec("r2", 20) // fill the other buffer
	for _, r := range [][]byte{r1, r2, rec("r3", 20)} {
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.Equal(t, uint64(1), w.Stats().DroppedRecords, "r3 is dropped")
	runner := w.runner.Load()
	g.open()
	// The writer goroutine swaps, takes the buffer of r1 and r2 and
	// reports the drop before it writes it: the handler ends it.
	<-fired
	eventually(t, "a new writer goroutine runs", func() bool { return w.runner.Load() != runner })
	noErrorBut(t, w.Sync(), ErrSinkPanic) // the Goexit may be reported
	noErrorBut(t, w.Close(), ErrSinkPanic)
	assert.Equal(t, string(bytesOf(first, r1, r2)), string(s.Data()), "accepted records lost; errors heard: %v", log.Errors())
}

// TestReviewGoexitHandlerRespawns: resume used to report errGoexit to the
// error handler before it clears what the Goexit interrupted. A handler
// that ends its goroutine on every error (t.Fatal in a test's handler) then
// ends the new writer goroutine too, which starts another, which reports
// again: a loop that never ends. The handler here stops after 200 Goexits,
// so that the test does.
func TestReviewGoexitHandlerRespawns(t *testing.T) {
	var failed atomic.Bool
	s := &recSink{write: func(p []byte) (int, error) {
		if !failed.Swap(true) {
			return 0, errSink
		}
		return len(p), nil
	}}
	var goexits atomic.Int32
	w := newWriter(t, WithSink(s), WithErrorHandler(func(err error) {
		if goexits.Add(1) <= 200 {
			runtime.Goexit()
		}
	}))
	_, err := w.Write([]byte("first\n"))
	require.NoError(t, err)
	_ = w.Sync()
	require.NoError(t, w.Close())
	assert.LessOrEqual(t, goexits.Load(), int32(3), "writer goroutines started and ended by the handler's Goexit")
}

// TestReviewGoexitBeforeLargeWriteHangs: cycle used to pop a record too
// long for a buffer from the line, reports the drops due (notes.writeDue)
// and only then records the waiter in w.exited. A Goexit in that report
// leaves the waiter out of the line and out of w.exited: its WriteWait
// never returns, not even after Close.
func TestReviewGoexitBeforeLargeWriteHangs(t *testing.T) {
	g1, g2 := newGate(), newGate()
	s := &steppedSink{gates: map[int32]*gate{1: g1, 2: g2}}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()),
		WithErrorHandler(goexitOnce(&log, ErrDropped, make(chan struct{}))))
	t.Cleanup(g1.open)
	t.Cleanup(g2.open)
	_, err := w.Write(rec("first", 40))
	require.NoError(t, err)
	g1.waitEntered(t) // the first buffer in the sink
	for _, r := range [][]byte{rec("r1", 20), rec("r2", 20)} {
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	large := make(chan error, 1)
	go func() {
		_, err := w.WriteWait(rec("large", 100))
		large <- err
	}()
	eventually(t, "the large record waits in line", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.queue) == 1
	})
	w.mu.Lock()
	wt := w.queue[0]
	w.mu.Unlock()
	g1.open()
	g2.waitEntered(t) // the buffer of r1 and r2 in the sink; cur is filled for the large record
	_, err = w.Write(rec("r3", 20))
	require.NoError(t, err)
	require.Equal(t, uint64(1), w.Stats().DroppedRecords, "r3 is dropped")
	g2.open() // then the large record: the drop is reported first
	select {
	case err := <-large:
		require.NoError(t, err)
		noErrorBut(t, w.Close(), ErrSinkPanic) // the Goexit may be reported
		return
	case <-time.After(2 * time.Second):
		t.Errorf("WriteWait of the large record has not returned")
	}
	noErrorBut(t, w.Close(), ErrSinkPanic)
	select {
	case err := <-large:
		t.Logf("after Close: %v", err)
	case <-time.After(time.Second):
		t.Errorf("WriteWait of the large record has not returned after Close")
		wt.done <- ErrClosed // let the goroutine go
		<-large
	}
}

// noErrorBut checks that err is nil or matches allowed.
func noErrorBut(t *testing.T, err, allowed error) {
	t.Helper()
	if err != nil {
		assert.ErrorIs(t, err, allowed)
	}
}
