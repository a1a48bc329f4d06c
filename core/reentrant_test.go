package core

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reentrantSink is a sink that, in each Write that does not hold one of its
// own records, calls back into the Writer it serves.
type reentrantSink struct {
	recSink
	w       atomic.Pointer[Writer]
	call    func(w *Writer) error
	errs    chan error
	ownMark []byte
}

func (s *reentrantSink) Write(p []byte) (int, error) {
	if w := s.w.Load(); w != nil && !bytes.Contains(p, s.ownMark) {
		s.errs <- s.call(w)
	}
	return s.recSink.Write(p)
}

func newReentrant(t *testing.T, call func(w *Writer) error, opts ...Option) (*Writer, *reentrantSink) {
	s := &reentrantSink{call: call, errs: make(chan error, 1000), ownMark: []byte("from-the-sink")}
	w := newWriter(t, append([]Option{WithSink(s)}, opts...)...)
	s.w.Store(w)
	return w, s
}

// TestSinkWritesShortRecordBack checks that a sink that logs through the
// Writer it serves, with records that fit, gets them written later, and
// nothing waits for itself.
func TestSinkWritesShortRecordBack(t *testing.T) {
	w, s := newReentrant(t, func(w *Writer) error {
		_, err := w.Write([]byte("from-the-sink\n"))
		return err
	}, WithBufferSize(256))
	for i := range 20 {
		_, err := w.Write(rec(fmt.Sprint("r", i), 100))
		require.NoError(t, err)
		require.NoError(t, w.Sync())
	}
	require.NoError(t, w.Close())
	close(s.errs)
	for err := range s.errs {
		assert.NoError(t, err)
	}
	st := w.Stats()
	assert.Equal(t, st.Records, st.WrittenRecords)
	assert.Contains(t, string(s.Data()), "from-the-sink\n")
}

// TestSinkWritesLongRecordBack is the regression test for a sink that
// writes a record too long for a buffer back into the Writer it serves:
// that used to stop every Sync until Close. The writer goroutine cannot
// wait for itself, so the record is dropped and counted, and Sync and Close
// go on.
func TestSinkWritesLongRecordBack(t *testing.T) {
	long := append(bytes.Repeat([]byte("x"), 300), []byte("from-the-sink\n")...)
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			w, s := newReentrant(t, func(w *Writer) error {
				_, err := w.WriteWait(long)
				return err
			}, WithBufferSize(256), WithOverflow(policy))
			for i := range 5 {
				_, err := w.Write(rec(fmt.Sprint("r", i), 50))
				require.NoError(t, err)
				require.NoError(t, w.Sync())
			}
			require.NoError(t, w.Close())
			close(s.errs)
			for err := range s.errs {
				assert.NoError(t, err)
			}
			st := w.Stats()
			assert.Positive(t, st.DroppedRecords)
			assert.Equal(t, uint64(5), st.WrittenRecords)
			assert.NotContains(t, string(s.Data()), "from-the-sink")
		})
	}
}

// TestSinkWritingBackIntoFullBuffersDrops checks a sink that writes back
// while both buffers are full, under Block: it must not wait for room,
// which only it could make; its record is dropped and counted.
func TestSinkWritingBackIntoFullBuffersDrops(t *testing.T) {
	var once atomic.Bool
	w, s := newReentrant(t, func(w *Writer) error {
		if once.Swap(true) {
			return nil
		}
		// Fill whatever room is left, then one more.
		for range 10 {
			if _, err := w.Write(rec("from-the-sink", 56)); err != nil {
				return err
			}
		}
		return nil
	}, WithBufferSize(64), withClock(newFakeClock()))
	_, err := w.Write(rec("first", 56))
	require.NoError(t, err)
	require.NoError(t, <-s.errs)
	require.NoError(t, w.Close())
	assert.Positive(t, w.Stats().DroppedRecords)
}

// TestSyncAndCloseFromTheSinkReturnAtOnce checks that Sync and Close called
// by the sink, on the writer goroutine, return ErrReentrant instead of
// waiting for themselves.
func TestSyncAndCloseFromTheSinkReturnAtOnce(t *testing.T) {
	for name, call := range map[string]func(w *Writer) error{
		"Sync":  (*Writer).Sync,
		"Close": (*Writer).Close,
	} {
		t.Run(name, func(t *testing.T) {
			w, s := newReentrant(t, call)
			_, err := w.Write(rec("r", 10))
			require.NoError(t, err)
			require.NoError(t, w.Sync())
			assert.ErrorIs(t, <-s.errs, ErrReentrant)
			require.NoError(t, w.Close())
		})
	}
}

// TestErrorHandlerLogsThroughTheWriter checks the mistake the error
// handler's documentation allows: a handler that logs each sink error
// through the same Writer. Nothing waits for itself, and the records get
// written once the sink recovers.
func TestErrorHandlerLogsThroughTheWriter(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	s := &recSink{write: func(p []byte) (int, error) {
		if failing.Load() {
			return 0, errSink
		}
		return len(p), nil
	}}
	var w *Writer
	var ready atomic.Bool
	w = newWriter(t, WithSink(s), WithBufferSize(256), WithErrorHandler(func(err error) {
		if ready.Load() {
			_, _ = fmt.Fprintf(w, "sink failed: %v\n", err)
		}
	}))
	ready.Store(true)
	for i := range 10 {
		_, err := w.Write(rec(fmt.Sprint("r", i), 40))
		require.NoError(t, err)
	}
	assert.ErrorIs(t, w.Sync(), errSink)
	failing.Store(false)
	_ = w.Sync() // the failures between the two Syncs
	require.NoError(t, w.Close())
	assert.Contains(t, string(s.Data()), "sink failed: ")
}

// TestSinkGoexitDoesNotStopTheWriter checks a sink that ends the writer
// goroutine with runtime.Goexit, which no recover stops: once in the middle
// of a buffer, once while writing a record too long for a buffer, once in
// its Sync. Each time a new writer goroutine reports it, counts the records
// of the write as lost, writes the rest of the buffer, answers the Sync,
// and every caller returns.
func TestSinkGoexitDoesNotStopTheWriter(t *testing.T) {
	var syncExit atomic.Bool
	s := &recSink{
		write: func(p []byte) (int, error) {
			if bytes.Contains(p, []byte("boom")) {
				runtime.Goexit()
			}
			return len(p), nil
		},
		sync: func() error {
			if syncExit.Swap(false) {
				runtime.Goexit()
			}
			return nil
		},
	}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(4096), WithMaxWriteSize(100), WithErrorHandler(log.handle), withClock(newFakeClock()))
	warm := warmUp(t, w, s)
	r0, r1, boom, r2, r3 := rec("r0", 40), rec("r1", 40), rec("boom", 40), rec("r2", 40), rec("r3", 40)
	for _, r := range [][]byte{r0, r1, boom, r2, r3} { // sink calls of two: [r0 r1] [boom r2] [r3]
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	assert.ErrorIs(t, w.Sync(), ErrSinkPanic)
	_, err := w.Write(rec("boom-large", 5000))
	require.NoError(t, err, "accepted, then lost with its write")
	syncExit.Store(true)
	assert.ErrorIs(t, w.Sync(), ErrSinkPanic)
	last := rec("last", 30)
	_, err = w.Write(last)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	assert.Equal(t, string(bytesOf(warm, r0, r1, r3, last)), string(s.Data()))
	st := w.Stats()
	assert.Equal(t, uint64(3), st.LostRecords, "boom and r2, and the large record")
	assert.Equal(t, st.Records, st.WrittenRecords+st.LostRecords)
	assert.Len(t, log.Errors(), 3)
	for _, err := range log.Errors() {
		assert.ErrorIs(t, err, ErrSinkPanic)
	}
}
