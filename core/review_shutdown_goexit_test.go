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

// TestReviewGoexitInShutdownRepeats: shutdown records nothing in w.exited
// before its calls out of the package (notes.final, the sink's Sync, the
// error handler for a failed Sync). A Goexit in one of them, reached from
// loop's closing case, leaves w.exited empty: the new writer goroutine
// reports nothing (interrupted is false), goes round the loop, finds
// closing closed and runs shutdown again from the start, which calls the
// same function again. So
//
//   - a single Goexit in the sink's Sync at Close is never reported: Close
//     returns nil and the error handler hears nothing;
//   - a sink whose Sync always ends its goroutine (t.FailNow on a sync that
//     keeps failing), or an error handler that always does, while the sink's
//     Sync keeps failing, makes the writer goroutines start and end one
//     another without end: done is never closed, Close gives up with
//     ErrTimeout, and a core spins.
//
// Here the Goexits stop after 200 so that the test ends.
//
// Fixed: shutdown marks itself begun in w.exited, so that the Goexit is
// reported, and calls the sink's Sync once.
func TestReviewGoexitInShutdownRepeats(t *testing.T) {
	const limit = 200
	t.Run("sink Sync once", func(t *testing.T) {
		var syncs atomic.Int32
		s := &recSink{}
		s.sync = func() error {
			if syncs.Add(1) == 1 {
				runtime.Goexit()
			}
			return nil
		}
		var log errorLog
		w := newWriter(t, WithSink(s), WithErrorHandler(log.handle))
		_, err := w.Write([]byte("first\n"))
		require.NoError(t, err)
		closeErr := w.Close()
		t.Logf("Close: %v; errors heard: %v; sink Syncs: %d", closeErr, log.Errors(), syncs.Load())
		reported := errors.Is(closeErr, ErrSinkPanic)
		for _, err := range log.Errors() {
			reported = reported || errors.Is(err, ErrSinkPanic)
		}
		assert.True(t, reported, "the sink's Sync ended the writer goroutine at Close and nothing says so")
	})
	t.Run("sink Sync always", func(t *testing.T) {
		var syncs atomic.Int32
		s := &recSink{}
		s.sync = func() error {
			if syncs.Add(1) <= limit {
				runtime.Goexit()
			}
			return nil
		}
		w := newWriter(t, WithSink(s), WithErrorHandler(func(error) {}), WithSyncTimeout(2*time.Second))
		_, err := w.Write([]byte("first\n"))
		require.NoError(t, err)
		closeErr := w.Close()
		t.Logf("Close: %v; sink Syncs: %d", closeErr, syncs.Load())
		assert.LessOrEqual(t, syncs.Load(), int32(3), "writer goroutines started and ended by the sink's Sync at Close")
	})
	t.Run("handler on a failed Sync always", func(t *testing.T) {
		var goexits atomic.Int32
		s := &recSink{sync: func() error { return errSink }}
		w := newWriter(t, WithSink(s), WithSyncTimeout(2*time.Second), WithErrorHandler(func(err error) {
			if goexits.Add(1) <= limit {
				runtime.Goexit()
			}
		}))
		_, err := w.Write([]byte("first\n"))
		require.NoError(t, err)
		closeErr := w.Close()
		t.Logf("Close: %v; handler Goexits: %d", closeErr, goexits.Load())
		assert.LessOrEqual(t, goexits.Load(), int32(3), "writer goroutines started and ended by the error handler at Close")
	})
}
