package core

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWaitingCallersAreServedInArrivalOrder checks the line: with the sink
// stuck and both buffers full, callers that come one after another, with
// records of different lengths, one of them too long for any buffer, reach
// the sink in the order they came, and nobody who came later gets ahead of
// a caller already waiting, not even with a record that would fit where
// the waiting one did not.
func TestWaitingCallersAreServedInArrivalOrder(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(128), withClock(newFakeClock()))
	first := rec("first", 56) // a 64-byte frame: the high-water mark
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)
	fill := rec("fill", 120) // fills the other buffer
	_, err = w.Write(fill)
	require.NoError(t, err)

	lengths := []int{40, 100, 8, 300, 16, 56, 24, 1, 112}
	var queued []string
	results := make(chan error, len(lengths))
	for i, n := range lengths {
		tag := fmt.Sprint("w", i)
		queued = append(queued, tag)
		go func() {
			_, err := w.Write(rec(tag, n))
			results <- err
		}()
		eventually(t, tag+" waits in line", func() bool { return w.Stats().Waits == uint64(i+1) })
	}
	g.open()
	for range lengths {
		require.NoError(t, <-results)
	}
	require.NoError(t, w.Close())

	want := [][]byte{first, fill}
	for i, n := range lengths {
		want = append(want, rec(queued[i], n))
	}
	assertWholeRecords(t, s.Calls(), want)
}

// TestLineBoundsTheWait checks the bound the line gives under a slow sink:
// a caller in line is served at the first swap after it joined, unless the
// records of the callers ahead of it and its own do not fit in one buffer
// together. Many goroutines write through a small buffer into a sink that
// takes a while, so that many wait; the Writer keeps the most swaps any of
// them saw go by.
func TestLineBoundsTheWait(t *testing.T) {
	const (
		size       = 4096
		goroutines = 16
		recordLen  = 200
		records    = 150
	)
	s := &recSink{write: func(p []byte) (int, error) {
		time.Sleep(200 * time.Microsecond)
		return len(p), nil
	}}
	w := newWriter(t, WithSink(s), WithBufferSize(size))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for k := range records {
				_, err := w.Write(rec(fmt.Sprintf("g%02d-%04d", g, k), recordLen))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())
	st := w.Stats()
	assert.Equal(t, uint64(goroutines*records), st.WrittenRecords)
	assert.Positive(t, st.Waits, "the sink should have been slow enough for callers to wait")
	// At most goroutines-1 records are ahead of a caller in line, and with
	// their frames they fit in one buffer.
	require.Less(t, goroutines*int(frameLen(recordLen)), size)
	w.mu.Lock()
	longest := w.longestWait
	w.mu.Unlock()
	assert.Equal(t, uint64(1), longest, "a caller in line saw %d swaps go by", longest)
	t.Logf("%d of %d Writes waited in line", st.Waits, goroutines*records)
}

// TestCloseWaitsForRecordTooLongForBuffers is the regression test for a
// Close that returned while a record too long for the buffers, written
// when both were empty, was still in the sink's Write: Close now returns
// only after that Write, and the record is counted.
func TestCloseWaitsForRecordTooLongForBuffers(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(64), withClock(newFakeClock()))
	large := rec("large", 200)
	wrote := make(chan error, 1)
	go func() {
		_, err := w.Write(large)
		wrote <- err
	}()
	g.waitEntered(t) // the sink is writing the record
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the sink was still writing an accepted record", err)
	case <-time.After(20 * time.Millisecond):
	}
	g.open()
	require.NoError(t, <-wrote)
	require.NoError(t, <-closed)
	assert.Equal(t, string(large), string(s.Data()))
	st := w.Stats()
	assert.Equal(t, uint64(1), st.Records)
	assert.Equal(t, uint64(1), st.WrittenRecords)
}

// TestCloseRacingLongRecords checks, many times over, that a record too
// long for the buffers whose Write returned nil is in the sink when a
// concurrent Close returns, and that the sink is never written after
// Close returned.
func TestCloseRacingLongRecords(t *testing.T) {
	for i := range 300 {
		var closedAt, lastWrite time.Time
		var mu sync.Mutex
		s := &recSink{write: func(p []byte) (int, error) {
			mu.Lock()
			lastWrite = time.Now()
			mu.Unlock()
			return len(p), nil
		}}
		w := New(WithSink(s), WithBufferSize(64), WithNotices(nil))
		large := rec(fmt.Sprint("large-", i), 100)
		wrote := make(chan error, 1)
		go func() {
			_, err := w.Write(large)
			wrote <- err
		}()
		require.NoError(t, w.Close())
		mu.Lock()
		closedAt = time.Now()
		mu.Unlock()
		err := <-wrote
		if err == nil {
			require.Equal(t, string(large), string(s.Data()), "run %d: Write returned nil, Close returned, the record is not in the sink", i)
		} else {
			require.ErrorIs(t, err, ErrClosed)
			require.Empty(t, s.Calls(), "run %d", i)
		}
		mu.Lock()
		require.False(t, lastWrite.After(closedAt), "run %d: the sink was written after Close returned", i)
		mu.Unlock()
	}
}

// TestDropAfterTwoSwapsFindsRoom is the test for a suspected drop under
// Drop: a caller that found buffer A full, and was paused while A was
// swapped out, written and swapped back in, must not drop its record when
// it goes on and A has room again, although the other buffer is then busy.
// The caller's slow path is entered directly, as after its failed
// reservation in A's earlier epoch.
func TestDropAfterTwoSwapsFindsRoom(t *testing.T) {
	var stick atomic.Bool
	g := newGate()
	s := &recSink{write: func(p []byte) (int, error) {
		if stick.Load() {
			g.pass()
		}
		return len(p), nil
	}}
	w := newWriter(t, WithSink(s), WithBufferSize(128), WithOverflow(Drop), withClock(newFakeClock()))
	t.Cleanup(g.open) // before the Close registered by newWriter
	warm := rec("warm", 10)
	_, err := w.Write(warm)
	require.NoError(t, err)
	s.waitForData(t, len(warm))
	w.mu.Lock()
	a := w.spare // A: the caller found it full, and is paused
	w.mu.Unlock()

	// A goes out and comes back: the next record passes the high-water
	// mark of the buffer after A, which is swapped out for A and sticks
	// in the sink.
	stick.Store(true)
	_, err = w.Write(rec("b", 60))
	require.NoError(t, err)
	g.waitEntered(t)
	require.Same(t, a, w.cur.Load())
	require.Equal(t, spareBusy, w.spareState())

	late := rec("late", 20)
	_, err = w.writeOrDrop(late)
	require.NoError(t, err)
	assert.Zero(t, w.Stats().DroppedRecords, "a record was dropped although its buffer had room")
	g.open()
	require.NoError(t, w.Close())
	assert.Contains(t, string(s.Data()), string(late))
}
