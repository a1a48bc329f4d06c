package core

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewGrowSteadyLoadDoesNotOvergrow: a steady load of about 40 KB
// between two swaps passes the high-water mark of a 64 KiB buffer (32 KiB)
// but never that of a 256 KiB one (128 KiB). Buffers of 256 KiB serve it;
// the growth should stop there, as it did when the swap grew both buffers
// at once. If the swap that grows w.size reuses the old small spare, that
// spare, filled past its own small mark by the same load, grows w.size
// once more, and the buffers end at 1 MiB: four times the memory the load
// needs.
func TestReviewGrowSteadyLoadDoesNotOvergrow(t *testing.T) {
	w := newWriter(t, WithSink(io.Discard), WithBufferSize(16<<20), WithFlushInterval(time.Hour))
	record := rec("steady", 1000)
	for range 30 {
		for range 40 { // about 40 KB: past 32 KiB, well short of 128 KiB
			_, err := w.Write(record)
			require.NoError(t, err)
		}
		require.NoError(t, w.Sync())
	}
	st := w.Stats()
	w.mu.Lock()
	size := w.size
	w.mu.Unlock()
	t.Logf("w.size %d, buffer bytes %d", size, st.BufferBytes)
	assert.LessOrEqual(t, size, 256<<10, "the grown size a 40 KB load needs")
	assert.LessOrEqual(t, st.BufferBytes, 2*(256<<10), "two buffers of 256 KiB serve this load")
	require.NoError(t, w.Close())
}
