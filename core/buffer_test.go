package core

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openBuffer returns a buffer of size bytes in its first epoch.
func openBuffer(size int) *buffer {
	b := newBuffer(make([]byte, size))
	b.reopen(1, time.Now())
	return b
}

// put reserves a frame for p in b and, if it got one, commits p there.
func put(b *buffer, p []byte) bool {
	off, ok := b.reserve(len(p))
	if ok {
		b.put(off, p)
	}
	return ok
}

// walk returns the records of sealed buffer b, in order.
func walk(b *buffer) [][]byte {
	var out [][]byte
	for off := uint64(0); ; {
		rec, next, ok := b.next(off, b.end())
		if !ok {
			return out
		}
		out = append(out, rec)
		off = next
	}
}

// TestFrameLen checks the frame arithmetic: an 8-byte header, then the
// record rounded up to 8 bytes.
func TestFrameLen(t *testing.T) {
	for _, c := range []struct{ n, want int }{{1, 16}, {7, 16}, {8, 16}, {9, 24}, {24, 32}, {56, 64}} {
		assert.Equal(t, uint64(c.want), frameLen(c.n), "frameLen(%d)", c.n)
	}
	assert.Equal(t, 56, maxRecordIn(64))
}

// TestBufferWalkReturnsCommittedRecords checks that the records put into a
// buffer come back from the walk, whole and in order, without headers.
func TestBufferWalkReturnsCommittedRecords(t *testing.T) {
	b := openBuffer(256)
	want := [][]byte{rec("a", 1), rec("bb", 8), rec("ccc", 9), rec("dddd", 30)}
	for _, r := range want {
		require.True(t, put(b, r))
	}
	b.seal()
	assert.Equal(t, want, walk(b))
}

// TestBufferSealedRefusesReservations checks that once sealed a buffer
// refuses every reservation, and the walk ends where the seal found the
// offset.
func TestBufferSealedRefusesReservations(t *testing.T) {
	b := openBuffer(256)
	require.True(t, put(b, rec("before", 10)))
	b.seal()
	_, ok := b.reserve(10)
	assert.False(t, ok)
	assert.Equal(t, [][]byte{rec("before", 10)}, walk(b))
}

// TestBufferCrosserPadsTheEnd checks the reservation that runs past the
// end: it fails, and its caller commits a padding frame at its start that
// ends the walk; a later reservation, past the end, fails too.
func TestBufferCrosserPadsTheEnd(t *testing.T) {
	b := openBuffer(64)
	first := rec("first", 20) // a 32-byte frame
	require.True(t, put(b, first))
	assert.False(t, put(b, rec("crosser", 30)), "a 40-byte frame at 32 crosses 64")
	assert.False(t, put(b, rec("after", 1)))
	h := b.header(32).Load()
	assert.NotZero(t, h&paddingBit, "the crosser leaves a padding frame")
	assert.Equal(t, uint64(64-32-headerLen), h&lengthMask)
	b.seal()
	assert.Equal(t, [][]byte{first}, walk(b))
}

// TestBufferExactFit checks records that fill the buffer to its last byte:
// one frame the size of the buffer, and frames that end exactly at the end
// followed by a reservation that starts there.
func TestBufferExactFit(t *testing.T) {
	t.Run("one record", func(t *testing.T) {
		b := openBuffer(64)
		r := rec("whole", maxRecordIn(64))
		require.True(t, put(b, r))
		assert.False(t, put(b, rec("x", 1)))
		b.seal()
		assert.Equal(t, [][]byte{r}, walk(b))
	})
	t.Run("two records", func(t *testing.T) {
		b := openBuffer(64)
		r1, r2 := rec("one", 24), rec("two", 24)
		require.True(t, put(b, r1))
		require.True(t, put(b, r2))
		assert.False(t, put(b, rec("x", 1)), "a reservation that starts at the end")
		b.seal()
		assert.Greater(t, b.sealedAt, b.size())
		assert.Equal(t, [][]byte{r1, r2}, walk(b))
	})
}

// TestBufferWalkWaitsForUnfinishedCopy checks that the walk waits at a
// frame reserved before the seal whose caller has not committed it, as a
// caller preempted mid-copy leaves it, and then returns the record whole.
func TestBufferWalkWaitsForUnfinishedCopy(t *testing.T) {
	b := openBuffer(256)
	first := rec("first", 10)
	require.True(t, put(b, first))
	slow := rec("slow", 40)
	off, ok := b.reserve(len(slow))
	require.True(t, ok)
	copy(b.data[off+headerLen:], slow[:20]) // half copied
	b.seal()

	walked := make(chan [][]byte, 1)
	go func() { walked <- walk(b) }()
	select {
	case got := <-walked:
		t.Fatalf("the walk returned %q before the copy was committed", got)
	case <-time.After(20 * time.Millisecond):
	}
	b.put(off, slow)
	select {
	case got := <-walked:
		assert.Equal(t, [][]byte{first, slow}, got)
	case <-time.After(waitLimit):
		t.Fatal("the walk did not return after the commit")
	}
}

// TestBufferIgnoresHeadersOfEarlierEpochs checks that after reopen a
// committed header left by the previous epoch is not taken for a record of
// the new one: the walk waits for the new caller's commit.
func TestBufferIgnoresHeadersOfEarlierEpochs(t *testing.T) {
	b := openBuffer(64)
	require.True(t, put(b, rec("old", 24)))
	b.seal()
	walk(b)
	b.reopen(2, time.Now())

	off, ok := b.reserve(24) // a caller of epoch 2, not yet committed
	require.True(t, ok)
	require.Zero(t, off)
	b.seal()
	walked := make(chan [][]byte, 1)
	go func() { walked <- walk(b) }()
	select {
	case got := <-walked:
		t.Fatalf("the walk returned %q from a stale header", got)
	case <-time.After(20 * time.Millisecond):
	}
	fresh := rec("new", 24)
	b.put(off, fresh)
	assert.Equal(t, [][]byte{fresh}, <-walked)
}

// TestBufferClearZeroesWhatTheEpochWrote checks clear: after it, the part
// of the buffer the epoch used is zero, so that no byte of an earlier
// record can stand where the next epoch's headers go.
func TestBufferClearZeroesWhatTheEpochWrote(t *testing.T) {
	b := openBuffer(64)
	require.True(t, put(b, rec("one", 20)))
	assert.False(t, put(b, rec("crosser", 40)))
	b.seal()
	walk(b)
	b.clear()
	assert.Equal(t, make([]byte, 64), b.data)
}

// TestBufferWalkRefusesFrameRunningPastTheEnd checks that a header whose
// length runs past the buffer ends the walk instead of slicing past it.
func TestBufferWalkRefusesFrameRunningPastTheEnd(t *testing.T) {
	b := openBuffer(64)
	off, ok := b.reserve(10)
	require.True(t, ok)
	b.header(off).Store(uint64(b.tag.Load())<<32 | commitBit | 1000)
	b.seal()
	assert.Empty(t, walk(b))
}

// TestBufferFill checks that fill leaves no room, with a padding frame
// where the free space began, and no room is an already-full buffer's.
func TestBufferFill(t *testing.T) {
	b := openBuffer(128)
	first := rec("first", 10)
	require.True(t, put(b, first))
	b.fill()
	assert.False(t, put(b, rec("x", 1)))
	b.seal()
	assert.Equal(t, [][]byte{first}, walk(b))

	full := openBuffer(64)
	require.True(t, put(full, rec("full", 56)))
	full.fill()
	full.seal()
	assert.Len(t, walk(full), 1)
}

// TestRecordsOfEveryLength checks records of every length from 1 byte to
// past two buffers, through the smallest buffer, under both policies
// (WriteWait under Drop): each arrives once, whole, in order, and sink
// calls start and end on record boundaries.
func TestRecordsOfEveryLength(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &recSink{}
			w := newWriter(t, WithSink(s), WithBufferSize(MinBufferSize), WithOverflow(policy), withClock(newFakeClock()))
			var want [][]byte
			for n := 1; n <= 2*MinBufferSize+9; n++ {
				r := rec(fmt.Sprint("L", n), n)
				_, err := w.WriteWait(r)
				require.NoError(t, err)
				want = append(want, r)
			}
			require.NoError(t, w.Close())
			assertWholeRecords(t, s.Calls(), want)
			st := w.Stats()
			assert.Equal(t, uint64(len(want)), st.WrittenRecords)
			assert.Zero(t, st.DroppedRecords)
		})
	}
}

// TestSyncWaitsForUnfinishedCopy checks, on a Writer, that a record whose
// frame was reserved before a Sync but whose copy is not finished, as a
// caller preempted mid-copy leaves it, holds the Sync until it is
// committed, and then reaches the sink whole.
func TestSyncWaitsForUnfinishedCopy(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(newFakeClock()))
	first := rec("first", 10)
	_, err := w.Write(first)
	require.NoError(t, err)
	b := w.cur.Load()
	slow := rec("slow", 30)
	off, ok := b.reserve(len(slow)) // what Write does before its copy
	require.True(t, ok)

	synced := make(chan error, 1)
	go func() { synced <- w.Sync() }()
	select {
	case err := <-synced:
		t.Fatalf("Sync returned (%v) before the copy was committed", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.put(off, slow)
	require.NoError(t, <-synced)
	assert.Equal(t, string(bytesOf(first, slow)), string(s.Data()))
}
