package core

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dropLongWaiting sets up a Writer under Drop with 1 MiB buffers
// configured, still at its first 64 KiB, whose first sink write stalls at
// the returned gate (the spare busy, cur empty), and a Write of a 100 KiB
// record, longer than cur but not than the configured size, that has gone
// to wait in line (writeOrDrop: !fits, the spare not free). It returns the
// long record and a channel that receives that Write's error.
func dropLongWaiting(t *testing.T) (*Writer, *steppedSink, *gate, []byte, chan error) {
	t.Helper()
	g := newGate()
	s := &steppedSink{gates: map[int32]*gate{1: g}}
	w := newWriter(t, WithSink(s), WithOverflow(Drop), WithBufferSize(1<<20), WithErrorHandler(func(error) {}))
	t.Cleanup(g.open)
	_, err := w.Write(rec("first", 100))
	require.NoError(t, err)
	g.waitEntered(t) // written at once; the spare is busy in the sink
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
	return w, s, g, long, done
}

// TestReviewDropLongWaiterFillsCurAndDropsOthers: a record under Drop
// that is longer than cur but within the configured size now waits in
// line (writeOrDrop -> writeInLine), and writeInLine fills cur for it
// (w.cur.Load().fill()) so that nobody overtakes it. cur here is empty:
// 64 KiB of room. Every other Write under Drop, until the stalled sink
// returns and the writer goroutine swaps, finds cur "full" of padding and
// the spare busy, and is dropped: one long record turns a sink stall into
// the loss of every record logged meanwhile, where before this change
// only the long record was dropped and the others went into cur.
//
// README "What can still be lost" allows, under Drop, only records that
// find both buffers full (and records longer than a buffer); these find
// one buffer empty but for padding. Nor does any guarantee need the fill
// here: the "Waiting" guarantee (nobody overtakes a caller in line) is
// for Block and WriteWait callers, and the long Write has not returned,
// so the ordering guarantee allows the others to go first.
//
// Fix: fill cur in writeInLine only for a caller that waits by policy
// (Block or WriteWait), not for a Drop caller sent to wait by
// writeOrDrop; let serveLocked serve it at the next swap, which grows the
// buffer for it, behind whatever the others put in cur meanwhile.
func TestReviewDropLongWaiterFillsCurAndDropsOthers(t *testing.T) {
	w, s, g, long, done := dropLongWaiting(t)
	var small [][]byte
	for i := range 10 {
		r := rec(fmt.Sprintf("small%d", i), 100)
		small = append(small, r)
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	st := w.Stats()
	t.Logf("cur offset %d of %d; stats %v", w.cur.Load().offset(), len(w.cur.Load().data), st)
	assert.Zero(t, st.DroppedRecords, "small records dropped under Drop with cur empty (1 KiB of 64 KiB)")
	g.open()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	data := s.Data()
	assert.True(t, bytes.Contains(data, long), "the long record is not in the sink")
	for _, r := range small {
		assert.True(t, bytes.Contains(data, r), "%.7s is not in the sink", r)
	}
}

// TestReviewDropWriteWaitsForStalledSink: the same Write of a long record
// under Drop waits, not just "for the swap that grows" the buffers (README,
// "Buffer sizes") but for the sink write in progress to return, however
// long that takes: with a sink that stalls, as a network collector does
// (the README's own case for larger buffers), Write under Drop blocks for
// the whole stall, or for ever. The Overflow documentation says Drop makes
// Write "return at once", the package documentation "never waited for",
// and the README's option table "Drop: never wait"; a program picks Drop
// precisely so that its logging never blocks on the sink.
//
// This is in tension with TestReviewDropLongRecordWhileBuffersSmall, which
// asks that such a record not be dropped. Both hold if the record does not
// wait on the sink: e.g. when cur is empty (as there and here), replace
// it under the mutex with a buffer grown for the record (the memory bound
// still holds: the old cur held nothing); otherwise drop the record but
// make the next swap grow the buffers for it (a pending "need" in
// swapLocked), so that at most one such record is dropped per growth step.
// At the least, the documentation of Drop must say that Write can block
// for as long as the sink does.
func TestReviewDropWriteWaitsForStalledSink(t *testing.T) {
	_, _, g, _, done := dropLongWaiting(t)
	defer g.open()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Error("Write under Drop has been blocked for 2 s on a stalled sink")
	}
}
