package core

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewDropLongRecordWhileBuffersSmall: a Writer in memory starts
// with 64 KiB buffers and grows them only at a swap. Under Drop, a record
// longer than the present cur (less its header) but well within the
// configured buffer size cannot be reserved in cur; with the spare busy
// (the writer goroutine in a sink write, however short) it finds no
// buffer that can hold it.
//
// Two reviews pulled two ways here: the first found such a record dropped
// while cur was empty, the buffers configured to hold it; the fix made it
// wait in line for the swap that grows the buffers, and the second found
// that it then waited for a stalled sink (Drop promises never to wait) and
// that the cur it filled made every other record logged meanwhile
// dropped. The rule now: a Drop caller never waits; such a record is
// dropped, counted and reported like any other drop, and the next swap
// grows the buffers to hold it (they never shrink), so it happens once
// per Writer and record length. This test holds the Writer to that: the
// Write returns while the sink stalls, the records logged meanwhile go
// into cur, and after the next swap the same long record is accepted.
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
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Write under Drop waits for a stalled sink")
	}
	assert.Equal(t, uint64(1), w.Stats().DroppedRecords, "the long record, with no buffer that can hold it")

	var small [][]byte
	for i := range 10 {
		r := rec(fmt.Sprintf("small%d", i), 100)
		small = append(small, r)
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(1), w.Stats().DroppedRecords, "records that fit cur are not dropped")

	g.open()
	require.NoError(t, w.Sync()) // a swap: it grows the buffers for the long record
	_, err = w.Write(long)
	require.NoError(t, err)
	st := w.Stats()
	t.Logf("configured %d, buffer bytes now %d; dropped %d", st.BufferSize, st.BufferBytes, st.DroppedRecords)
	assert.Equal(t, uint64(1), st.DroppedRecords, "the long record again, after a swap: the buffers have grown to hold it")
	require.NoError(t, w.Close())
	data := s.Data()
	assert.Equal(t, 1, bytes.Count(data, long), "the long record, written the second time")
	for _, r := range small {
		assert.True(t, bytes.Contains(data, r), "%.7s is not in the sink", r)
	}
}
