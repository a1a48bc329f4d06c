package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewGrowthFromPadding: buffers grow four times at a swap when the
// buffer swapped out "filled up between two swaps" (swapLocked:
// old.sealedAt >= old.high). But a buffer filled with padding counts as
// full too: serveLocked fills the fresh cur whenever the head of the line
// is a record longer than any buffer (so that nobody overtakes it), and
// the swap after that record's write finds the padded buffer past its
// high-water mark and grows. Each such record, logged however rarely,
// grows the buffers one step: three of them take a Writer that logs a
// few lines a second from 64 KiB buffers to the full 4 MiB, the memory
// the README says such a Writer does not hold ("a Writer that logs a few
// lines a second holds 128 KiB").
//
// Suggested fix: count only records (not the padding of fill) in the
// growth test, e.g. keep the offset fill started at and compare that with
// the high-water mark.
//
// Fixed: the growth test uses where records stopped (buffer.used).
func TestReviewGrowthFromPadding(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(writerOnly{s}), WithBufferSize(4<<20))
	for i := range 3 {
		_, err := w.Write(rec("small", 100))
		require.NoError(t, err)
		require.NoError(t, w.Sync())
		_, err = w.Write(rec("huge", 5<<20)) // longer than any buffer: written alone
		require.NoError(t, err)
		_, err = w.Write(rec("small", 100))
		require.NoError(t, err)
		require.NoError(t, w.Sync())
		t.Logf("after %d records longer than a buffer: buffers hold %d bytes", i+1, w.Stats().BufferBytes)
	}
	assert.LessOrEqual(t, w.Stats().BufferBytes, 2*initialBufferSize,
		"the buffers grew although no buffer ever held more than a few hundred bytes of records")
}
