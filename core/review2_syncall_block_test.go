package core

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2SyncAllWaitsThroughBlockedWrite: the package says "SyncAll
// called from there syncs the other Writers, and not this one, nor one
// whose own writer goroutine waits for this one's: a writer goroutine
// never waits for itself". Writer b's sink logs through Writer a (a
// network sink reporting through the application's logger, say), under
// Block. a's sink calls SyncAll while a's buffers are full: b's writer
// goroutine waits, in a.Write, for a's writer goroutine, which waits in
// SyncAll for b's Sync. Only Sync and Close waits are tracked, so the
// circle is not seen: SyncAll waits for b until b's sync timeout, and
// every caller of a.Write (Block) waits with it.
func TestReview2SyncAllWaitsThroughBlockedWrite(t *testing.T) {
	var wa, wb *Writer
	entered, filled := make(chan struct{}), make(chan struct{})
	type result struct {
		err  error
		took time.Duration
	}
	got := make(chan result, 1)
	sa := &recSink{write: func(p []byte) (int, error) {
		if bytes.HasPrefix(p, []byte("sync-all")) {
			close(entered)
			<-filled
			start := time.Now()
			err := SyncAll()
			got <- result{err, time.Since(start)}
		}
		return len(p), nil
	}}
	var logged atomic.Int32
	sb := &recSink{write: func(p []byte) (int, error) {
		if bytes.HasPrefix(p, []byte("log-to-a")) {
			for range 200 {
				_, _ = wa.Write(rec("from-b", 200))
				logged.Add(1)
			}
		}
		return len(p), nil
	}}
	wa = newWriter(t, WithSink(sa), WithBufferSize(4096), WithOverflow(Block))
	wb = newWriter(t, WithSink(sb), WithSyncTimeout(1500*time.Millisecond))

	_, err := wa.Write(rec("sync-all", 30))
	require.NoError(t, err)
	<-entered // a's writer goroutine is in its sink
	_, err = wb.Write(rec("log-to-a", 30))
	require.NoError(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for wa.Stats().Waits == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // until b's sink waits for room in a
	}
	require.NotZero(t, wa.Stats().Waits, "b's sink never waited for room in a")
	close(filled)

	r := <-got
	assert.ErrorIs(t, r.err, ErrReentrant, "a's own Sync")
	assert.NotErrorIs(t, r.err, ErrTimeout, "a's writer goroutine waited for itself through b (SyncAll took %v)", r.took)
	assert.Less(t, r.took, 500*time.Millisecond)
}
