package core

import (
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
