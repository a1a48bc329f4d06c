package core

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdleWriterRunsNoTimer checks that a Writer that has had no record
// sleeps: it never arms its timer.
func TestIdleWriterRunsNoTimer(t *testing.T) {
	clk := newFakeClock()
	w := newWriter(t, WithSink(&recSink{}), withClock(clk))
	quiesce(t, w)
	armed, resets := clk.timer.state()
	assert.False(t, armed, "a Writer that has had no record runs no timer")
	assert.Zero(t, resets)
	assert.False(t, w.awake.Load())
}

// TestFirstRecordIsWrittenAtOnce checks prompt flushing: a record written
// to a Writer whose goroutine sleeps wakes it and reaches the sink without
// any timer firing.
func TestFirstRecordIsWrittenAtOnce(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithFlushInterval(time.Hour), withClock(clk))
	r := rec("first", 40)
	_, err := w.Write(r)
	require.NoError(t, err)
	s.waitForData(t, len(r))
	assert.Equal(t, string(r), string(s.Data()))
}

// TestRecordsThatKeepComingWaitOneInterval checks that while records keep
// coming the writer goroutine swaps at most once per flush interval: a
// record written right after a swap waits for the timer, armed for the
// interval, and reaches the sink when it fires.
func TestRecordsThatKeepComingWaitOneInterval(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithFlushInterval(7*time.Second), withClock(clk))
	first, second := rec("first", 10), rec("second", 20)
	_, err := w.Write(first)
	require.NoError(t, err)
	s.waitForData(t, len(first))

	_, err = w.Write(second)
	require.NoError(t, err)
	clk.timer.waitArmed(t)
	clk.timer.mu.Lock()
	assert.Equal(t, 7*time.Second, clk.timer.d, "the timer runs for the flush interval")
	clk.timer.mu.Unlock()
	assert.Equal(t, string(first), string(s.Data()), "the second record must wait for the interval")

	clk.timer.fire(t)
	s.waitForData(t, len(first)+len(second))
	assert.Equal(t, string(bytesOf(first, second)), string(s.Data()))
}

// TestWriterSleepsAfterLingering checks that once records stop, the writer
// goroutine looks lingerLooks more times, one interval apart, then sleeps
// with no timer, and that the next record wakes it at once.
func TestWriterSleepsAfterLingering(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), withClock(clk))
	first := rec("one", 10)
	_, err := w.Write(first)
	require.NoError(t, err)
	s.waitForData(t, len(first))
	// A nudge that comes in after the write it was for (the caller's, if
	// the writer goroutine was quicker) takes a look too: at most
	// lingerLooks looks, then sleep.
	fires := 0
	for ; fires <= lingerLooks; fires++ {
		var armed bool
		eventually(t, "the timer is armed or the writer goroutine asleep", func() bool {
			armed, _ = clk.timer.state()
			return armed || !w.awake.Load()
		})
		if !armed {
			break
		}
		clk.timer.fire(t)
	}
	assert.LessOrEqual(t, fires, lingerLooks, "the writer goroutine still looks after %d empty looks", lingerLooks)
	assert.GreaterOrEqual(t, fires, lingerLooks-1)
	armed, _ := clk.timer.state()
	assert.False(t, armed)
	assert.False(t, w.awake.Load())

	next := rec("two", 10)
	_, err = w.Write(next)
	require.NoError(t, err)
	s.waitForData(t, len(first)+len(next))
}

// TestFlushAtHighWaterMark checks that a record that takes the buffer past
// its high-water mark makes the writer goroutine hand the buffer to the
// sink at once, although the flush interval has not passed.
func TestFlushAtHighWaterMark(t *testing.T) {
	clk := newFakeClock()
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), WithFlushInterval(time.Hour), withClock(clk))
	first := rec("first", 10)
	_, err := w.Write(first)
	require.NoError(t, err)
	s.waitForData(t, len(first))

	// 24-byte records take 32-byte frames: the fourth ends at the mark,
	// half of 256 bytes.
	want := [][]byte{first}
	for i := range 4 {
		r := rec(string(rune('a'+i)), 24)
		_, err := w.Write(r)
		require.NoError(t, err)
		want = append(want, r)
	}
	s.waitForData(t, len(bytesOf(want...)))
	assert.Equal(t, string(bytesOf(want...)), string(s.Data()))
	assert.Equal(t, uint64(2), w.Stats().Flushes)
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
// overlap, Writes and Syncs, under load, with callers that wait in line
// and records too long for a buffer.
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

// TestFirstRecordUnderDropIsWrittenAtOnce is the regression test for a
// first record, written with Write under Drop, that waited a whole flush
// interval: the swap that allocates the first buffer woke the writer
// goroutine, which counted writing the empty starting buffer as work and
// lingered, so the record, landing at offset 0 while it was awake, did not
// wake it.
func TestFirstRecordUnderDropIsWrittenAtOnce(t *testing.T) {
	for i := range 300 {
		s := &recSink{}
		w := New(WithSink(s), WithOverflow(Drop), WithFlushInterval(time.Hour), WithNotices(nil))
		time.Sleep(50 * time.Microsecond) // the writer goroutine goes to sleep, or nearly
		r := rec("first", 20)
		if _, err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		s.waitForData(t, len(r)) // fails after waitLimit if the record waits for the hour
		if err := w.Close(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}
