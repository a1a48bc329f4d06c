package core

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlushAtHighWaterMark checks that once more than half a buffer is
// waiting, the writer goroutine hands it to the sink by itself: no Sync,
// no Close, and a flush timer that never fires.
func TestFlushAtHighWaterMark(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(clk))
	var want []byte
	for i := 0; len(want) <= 128; i++ {
		r := rec(string(rune('a'+i)), 20)
		_, err := w.Write(r)
		require.NoError(t, err)
		want = append(want, r...)
	}
	s.waitForData(t, len(want))
	assert.Equal(t, string(want), string(s.Data()))
	assert.Equal(t, uint64(1), w.Stats().Flushes)
}

// TestFlushBelowHighWaterMarkWaitsForTimer checks that a record in a buffer
// that is not filling up waits for the flush timer, armed for the flush
// interval, and reaches the sink when it fires.
func TestFlushBelowHighWaterMarkWaitsForTimer(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithFlushInterval(7*time.Second), withClock(clk))
	r := rec("timer", 40)
	_, err := w.Write(r)
	require.NoError(t, err)

	clk.timer.waitArmed(t)
	clk.timer.mu.Lock()
	assert.Equal(t, 7*time.Second, clk.timer.d, "the timer runs for the flush interval")
	clk.timer.mu.Unlock()
	assert.Empty(t, s.Calls(), "the record must wait for the timer")

	clk.timer.fire(t)
	s.waitForData(t, len(r))
	assert.Equal(t, string(r), string(s.Data()))
}

// TestIdleWriterRunsNoTimer checks that the flush timer runs only while a
// record waits: a new Writer never arms it, and after the timer's flush
// empties the buffer it is not armed again.
func TestIdleWriterRunsNoTimer(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), withClock(clk))
	quiesce(t, w)
	armed, resets := clk.timer.state()
	assert.False(t, armed, "a Writer that has had no record runs no timer")
	assert.Zero(t, resets)

	_, err := w.Write(rec("one", 10))
	require.NoError(t, err)
	clk.timer.waitArmed(t)
	clk.timer.fire(t)
	s.waitForData(t, 10)
	quiesce(t, w)
	armed, resets = clk.timer.state()
	assert.False(t, armed, "the timer is not armed again once nothing waits")
	assert.Equal(t, 1, resets)
}

// TestTimerStopsWhenHighWaterFlushEmptiesBuffer checks that a flush at the
// high-water mark that leaves nothing waiting also stops the flush timer
// armed for the records it took.
func TestTimerStopsWhenHighWaterFlushEmptiesBuffer(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(clk))
	_, err := w.Write(rec("first", 10))
	require.NoError(t, err)
	clk.timer.waitArmed(t)
	_, err = w.Write(rec("second", 120)) // ends past the mark at 128
	require.NoError(t, err)
	s.waitForData(t, 130)
	quiesce(t, w)
	armed, resets := clk.timer.state()
	assert.False(t, armed, "nothing waits, so no timer runs")
	assert.Equal(t, 1, resets)
}

// TestTimerRearmsForRecordsAfterFlush checks that a record written after a
// timer flush arms the timer again and is flushed by it.
func TestTimerRearmsForRecordsAfterFlush(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), withClock(clk))
	var want []byte
	for i := range 5 {
		r := rec(string(rune('a'+i)), 10+i)
		_, err := w.Write(r)
		require.NoError(t, err)
		want = append(want, r...)
		clk.timer.waitArmed(t)
		clk.timer.fire(t)
		s.waitForData(t, len(want))
	}
	assert.Equal(t, string(want), string(s.Data()))
	assert.Len(t, s.Calls(), 5, "one flush per timer")
}

// TestSwapsLoseNoRecord checks that many swaps, at the high-water mark, at
// full buffers and at Sync, lose, repeat and tear no record: one goroutine
// writes records of every size into a small buffer, syncing now and then,
// and the sink gets exactly those records, whole, in order.
func TestSwapsLoseNoRecord(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(128), withClock(newFakeClock()))
	st := streams{seed: 5, writers: 1, records: 3000, size: 128, minLen: 1, maxLen: 300}
	buf := make([]byte, 0, st.maxLen)
	for k := range st.records {
		_, err := w.Write(st.record(buf[:0], 0, k))
		require.NoError(t, err)
		if k%97 == 0 {
			require.NoError(t, w.Sync())
		}
	}
	require.NoError(t, w.Close())
	require.NoError(t, st.parseStrict(s.Calls()))
	stats := w.Stats()
	records, size := st.total()
	assert.Equal(t, uint64(records), stats.Records)
	assert.Equal(t, uint64(size), stats.Bytes)
	assert.Equal(t, uint64(records), stats.WrittenRecords)
	assert.Equal(t, uint64(size), stats.WrittenBytes)
}

// TestSinkIsCalledFromOneGoroutineAtATime checks that no two sink calls
// overlap, although callers under Block and the writer goroutine all write
// to the sink.
func TestSinkIsCalledFromOneGoroutineAtATime(t *testing.T) {
	var inside, overlaps atomic.Int32
	enter := func() {
		if inside.Add(1) != 1 {
			overlaps.Add(1)
		}
	}
	leave := func() { inside.Add(-1) }
	s := &recSink{
		write: func(p []byte) (int, error) {
			enter()
			time.Sleep(time.Duration(len(p)%50) * time.Microsecond)
			leave()
			return len(p), nil
		},
		sync: func() error { enter(); leave(); return nil },
	}
	w := newWriter(t, WithSink(s), WithBufferSize(256), WithFlushInterval(time.Millisecond))
	st := streams{seed: 9, writers: 8, records: 300, size: 256, minLen: 1, maxLen: 600}
	st.run(t, func(g, k int, p []byte) (int, error) {
		if k%50 == 0 {
			assert.NoError(t, w.Sync())
		}
		return w.Write(p)
	})
	require.NoError(t, w.Close())
	require.NoError(t, st.parseStrict(s.Calls()))
	assert.Zero(t, overlaps.Load())
}

// bytesOf joins records.
func bytesOf(records ...[]byte) []byte { return bytes.Join(records, nil) }
