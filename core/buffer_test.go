package core

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the reservation protocol of one buffer step by step
// from a single goroutine, so that they can put the callers' steps in any
// order, including orders that a scheduler produces only rarely.

// put reserves room for p in b and, if the reservation succeeded, copies
// and commits p, as Write's fast path does. It returns the range it got
// and whether p was stored.
func put(b *buffer, p []byte) (start, end uint64, stored bool) {
	start, end, sealed := b.reserve(len(p))
	if sealed || end > uint64(len(b.data)) {
		return start, end, false
	}
	copy(b.data[start:end], p)
	b.commitRecord(len(p))
	return start, end, true
}

// drainBeforeSettle calls drain while one reservation made before the seal
// is still unsettled, and lets settle run only once drain has returned. A
// drain that rightly waits for that reservation cannot return first, so
// settle also runs after a grace period: it only bounds how long such a
// drain waits, and a drain that returns too early has returned before it
// ends (unless the machine stalls this goroutine for that long, which can
// only hide a bug, never fail a correct drain).
func drainBeforeSettle(b *buffer, settle func()) (data []byte, records uint64) {
	returned := make(chan struct{})
	settled := make(chan struct{})
	go func() {
		defer close(settled)
		select {
		case <-returned:
		case <-time.After(200 * time.Millisecond):
		}
		settle()
	}()
	data, records = b.drain()
	data = bytes.Clone(data)
	close(returned)
	<-settled
	return data, records
}

// TestBufferDrainReturnsCommittedRecords checks the plain case: records
// reserved and committed before the seal are what drain returns.
func TestBufferDrainReturnsCommittedRecords(t *testing.T) {
	b := newBuffer(64)
	a, c := rec("a", 10), rec("c", 20)
	_, _, ok := put(b, a)
	require.True(t, ok)
	_, _, ok = put(b, c)
	require.True(t, ok)
	b.seal()
	data, records := b.drain()
	assert.Equal(t, string(bytesOf(a, c)), string(data))
	assert.Equal(t, uint64(2), records)
}

// TestBufferSealedRefusesReservations checks that once a buffer is sealed
// every reservation reports it, and drain ignores them.
func TestBufferSealedRefusesReservations(t *testing.T) {
	b := newBuffer(64)
	a := rec("a", 10)
	put(b, a)
	b.seal()
	_, _, sealed := b.reserve(5)
	assert.True(t, sealed)
	data, records := b.drain()
	assert.Equal(t, string(a), string(data))
	assert.Equal(t, uint64(1), records)
}

// TestBufferCrosserMarksTheEnd checks that the one reservation straddling
// the end marks where the data stops, so that drain returns exactly the
// records before it, and that reservations past the end change nothing.
func TestBufferCrosserMarksTheEnd(t *testing.T) {
	b := newBuffer(64)
	a := rec("a", 50)
	put(b, a)
	start, _, ok := put(b, rec("crosser", 20)) // [50, 70)
	require.False(t, ok)
	b.commitPadding(start)
	_, _, ok = put(b, rec("past", 5)) // [70, 75): commits nothing
	require.False(t, ok)
	b.seal()
	data, records := b.drain()
	assert.Equal(t, string(a), string(data))
	assert.Equal(t, uint64(1), records)
}

// TestBufferDrainWaitsForCopy checks that drain does not return while a
// record reserved before the seal is still being copied in.
func TestBufferDrainWaitsForCopy(t *testing.T) {
	b := newBuffer(64)
	a, late := rec("a", 10), rec("late", 20)
	put(b, a)
	start, end, sealed := b.reserve(len(late)) // reserved, not yet copied
	require.False(t, sealed)
	b.seal()
	data, records := drainBeforeSettle(b, func() {
		copy(b.data[start:end], late)
		b.commitRecord(len(late))
	})
	assert.Equal(t, string(bytesOf(a, late)), string(data))
	assert.Equal(t, uint64(2), records)
}

// TestBufferDrainWaitsForCrosser checks that drain does not return while
// the reservation straddling the end has not yet marked where the data
// stops.
func TestBufferDrainWaitsForCrosser(t *testing.T) {
	b := newBuffer(64)
	a := rec("a", 40)
	put(b, a)
	start, _, _ := b.reserve(30) // [40, 70): the crosser, not yet settled
	b.seal()
	data, records := drainBeforeSettle(b, func() { b.commitPadding(start) })
	assert.Equal(t, string(a), string(data))
	assert.Equal(t, uint64(1), records)
}

// TestBufferDrainWaitsForCrosserAtExactEnd checks the case where the
// records fill the buffer exactly: the reservation after them starts at
// the very end and pads nothing, yet drain must not use where an earlier
// epoch's crosser said the data stopped.
func TestBufferDrainWaitsForCrosserAtExactEnd(t *testing.T) {
	const size = 100
	b := newBuffer(size)
	// Epoch 1 ends at 70: its crosser marks the end there.
	put(b, rec("a", 40))
	put(b, rec("b", 30))
	start, _, _ := b.reserve(50) // [70, 120)
	b.commitPadding(start)
	b.seal()
	data, _ := b.drain()
	require.Len(t, data, 70)
	b.reopen()

	// Epoch 2: one record fills the buffer exactly; the next reservation,
	// [100, 110), straddles nothing but is the crosser, and is slow.
	full := rec("full", size)
	_, _, ok := put(b, full)
	require.True(t, ok)
	start, _, sealed := b.reserve(10)
	require.False(t, sealed)
	require.Equal(t, uint64(size), start)
	b.seal()
	data, records := drainBeforeSettle(b, func() { b.commitPadding(start) })
	assert.Equal(t, string(full), string(data), "the record that fills the buffer must come out whole")
	assert.Equal(t, uint64(1), records)
}

// TestBufferReopenStartsAfresh checks that a reopened buffer accepts
// records from offset 0 and drain returns only the new epoch's records.
func TestBufferReopenStartsAfresh(t *testing.T) {
	b := newBuffer(64)
	put(b, rec("old", 30))
	b.seal()
	b.drain()
	b.reopen()
	n := rec("new", 12)
	start, _, ok := put(b, n)
	require.True(t, ok)
	assert.Zero(t, start)
	b.seal()
	data, records := b.drain()
	assert.Equal(t, string(n), string(data))
	assert.Equal(t, uint64(1), records)
}
