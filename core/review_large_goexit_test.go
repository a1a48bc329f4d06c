package core

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewGoexitBeforeLargeWriteLosesRecord: cycle recorded a record too
// long for a buffer in w.exited.large before the drop report
// (notes.writeDue) and only then counts it accepted and writes it. A
// Goexit in that report (the error handler hearing ErrDropped) makes
// resume release the caller with nil, "accepted, and lost with the
// write", although no write was made: the sink never gets the record, it
// is not counted in Records, nor in LostRecords, nor in DroppedRecords.
// The caller's WriteWait returned len(p), nil for a record that vanished
// without a trace, and Records+DroppedRecords no longer adds up to the
// records given to Write.
//
// resume should tell a Goexit during the sink write (x.call set: lost,
// counted) from one before it (write the record now, then release the
// caller), e.g. by recording the sink call in w.exited before releasing.
//
// Fixed: resume writes a record whose write had not begun.
func TestReviewGoexitBeforeLargeWriteLosesRecord(t *testing.T) {
	g1, g2 := newGate(), newGate()
	s := &steppedSink{gates: map[int32]*gate{1: g1, 2: g2}}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()),
		WithErrorHandler(goexitOnce(&log, ErrDropped, make(chan struct{}))))
	t.Cleanup(g1.open)
	t.Cleanup(g2.open)
	given := 0
	write := func(p []byte) {
		t.Helper()
		given++
		_, err := w.Write(p)
		require.NoError(t, err)
	}
	write(rec("first", 40))
	g1.waitEntered(t) // the first buffer in the sink
	write(rec("r1", 20))
	write(rec("r2", 20))
	large := rec("large", 100)
	given++
	done := make(chan error, 1)
	go func() {
		_, err := w.WriteWait(large)
		done <- err
	}()
	eventually(t, "the large record waits in line", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.queue) == 1
	})
	g1.open()
	g2.waitEntered(t) // the buffer of r1 and r2 in the sink; cur is filled for the large record
	write(rec("r3", 20))
	require.Equal(t, uint64(1), w.Stats().DroppedRecords, "r3 is dropped")
	g2.open() // then the large record: the drop is reported first, and the handler ends the writer goroutine
	select {
	case err := <-done:
		require.NoError(t, err, "WriteWait of the large record")
	case <-time.After(5 * time.Second):
		t.Fatal("WriteWait of the large record has not returned")
	}
	noErrorBut(t, w.Close(), ErrSinkPanic)
	st := w.Stats()
	t.Logf("stats %v; errors heard %v", st, log.Errors())
	assert.True(t, bytes.Contains(s.Data(), large), "the large record, accepted, is not in the sink; the Goexit was in the error handler, before any sink write")
	assert.Equal(t, uint64(given), st.Records+st.DroppedRecords, "records given to Write but neither accepted nor dropped")
	assert.Equal(t, st.Records, st.WrittenRecords+st.LostRecords)
}
