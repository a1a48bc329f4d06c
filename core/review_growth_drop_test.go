package core

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewDropLongRecordWhileBuffersSmall: a Writer in memory starts
// with 64 KiB buffers and grows them only at a swap. Under Drop, a record
// longer than the present cur (less its header) but well within the
// configured buffer size skips the reservation (write, then writeOrDrop:
// n > maxRecordIn(len(b.data))); if the spare is not free at that moment
// (the writer goroutine is in a sink write, however short) writeOrDrop
// drops it, as if both buffers were full. Here cur is empty and the spare
// holds one 100-byte record, with 4 MiB buffers configured: a 100 KiB
// record is dropped. (Under Block, or with WriteWait, the same record
// waits in line and the next swap grows the buffer for it.)
//
// So the buffer size a user configures was not what Drop absorbs: until
// the buffers had grown, every record above 64 KiB was dropped whenever
// the writer goroutine was busy. Such a record now waits in line for the
// swap that grows the buffers, once (they never shrink), as WriteWait's
// would.
func TestReviewDropLongRecordWhileBuffersSmall(t *testing.T) {
	g := newGate()
	s := &steppedSink{gates: map[int32]*gate{1: g}}
	w := newWriter(t, WithSink(s), WithOverflow(Drop), WithBufferSize(4<<20), WithErrorHandler(func(error) {}))
	t.Cleanup(g.open)
	first := rec("first", 100)
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t) // written at once (the first record after a pause); the spare is busy
	require.Zero(t, w.cur.Load().offset(), "cur is empty")

	long := rec("long", 100<<10)
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(long)
		done <- err
	}()
	eventually(t, "the long record waits in line", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.queue) == 1
	})
	g.open()
	require.NoError(t, <-done)
	st := w.Stats()
	t.Logf("configured %d, buffer bytes now %d; dropped %d", st.BufferSize, st.BufferBytes, st.DroppedRecords)
	assert.Zero(t, st.DroppedRecords, "a 100 KiB record dropped with cur empty and 4 MiB buffers configured")
	require.NoError(t, w.Close())
	assert.True(t, bytes.Contains(s.Data(), long), "the long record is not in the sink")
}
