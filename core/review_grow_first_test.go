package core

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReviewGrowFirstDropRecordNotHeldByLinger: the first record of a
// Writer under Drop finds a cur of no memory; writeOrDrop swaps (the swap
// allocates cur), unlocks, nudges the writer goroutine and then reserves
// in the new cur. If the writer goroutine runs in between, it must not
// end up lingering with awake set, which lets the record wait a whole
// flush interval: "the first record after a pause is written at once".
// The test makes that interleaving happen: the swap writeOrDrop makes,
// then the writer goroutine's turn, then the reservation of the retry.
func TestReviewGrowFirstDropRecordNotHeldByLinger(t *testing.T) {
	s := &recSink{}
	clock := newFakeClock()
	w := newWriter(t, WithSink(s), WithOverflow(Drop), WithFlushInterval(time.Hour), withClock(clock))
	eventually(t, "the writer goroutine sleeps", func() bool { return !w.awake.Load() })

	r := rec("first", 20)
	// writeOrDrop, attempt 0: cur holds no memory; the spare is free.
	w.mu.Lock()
	require.Equal(t, spareFree, w.spareState())
	w.swapLocked(len(r))
	w.mu.Unlock()
	w.nudge()
	// The writer goroutine takes its turn before the retry.
	eventually(t, "the writer goroutine is idle again", func() bool {
		w.mu.Lock()
		free := w.spareState() == spareFree
		w.mu.Unlock()
		armed, _ := clock.timer.state()
		return free && (armed || !w.awake.Load())
	})
	// writeOrDrop, attempt 1: the reservation in the new cur.
	_, err := w.Write(r)
	require.NoError(t, err)

	deadline := time.Now().Add(2 * time.Second)
	for len(s.Data()) < len(r) {
		if time.Now().After(deadline) {
			armed, _ := clock.timer.state()
			t.Fatalf("the first record waits in cur (writer awake=%v, linger timer armed=%v)", w.awake.Load(), armed)
		}
		time.Sleep(time.Millisecond)
	}
}
