//go:build linux || darwin || freebsd

package core

import (
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordWriterSpoolProgress checks the progress a spool keeps for a
// RecordWriter sink: during a call, the frames up to the end of the
// call's last record are being written and those before the call
// written; after it, whatever it returned, written up to that end. And
// the records go to the sink from the spool's mapping itself: no staging
// buffer.
func TestRecordWriterSpoolProgress(t *testing.T) {
	type progress struct{ written, writing uint64 }
	var w *Writer
	var during []progress
	var calls atomic.Int32
	s := &recordSink{}
	s.writeRecords = func(recs [][]byte) (int, error) {
		for _, b := range w.spool.buffers {
			if m := b.meta; m.writing.Load() > m.written.Load() {
				during = append(during, progress{m.written.Load(), m.writing.Load()})
			}
		}
		if calls.Add(1) == 4 {
			return 0, errSink // the last call fails: its record is lost, not retried
		}
		return len(recs), nil
	}
	path := filepath.Join(t.TempDir(), "spool")
	w = newWriter(t, WithSink(s), WithSpool(path), WithBufferSize(4096), WithMaxWriteSize(15),
		withClock(newFakeClock()), WithErrorHandler(func(error) {}))
	require.NotNil(t, w.spool)
	warm := warmUpRecords(t, w, s) // 10 bytes: a frame of 24
	require.Equal(t, []progress{{0, 24}}, during)
	recs := [][]byte{rec("a", 10), rec("b", 10), rec("c", 10)} // one a call: 15 bytes is the most
	for _, r := range recs {
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.ErrorIs(t, w.Sync(), errSink)
	assert.Equal(t, []progress{{0, 24}, {0, 24}, {24, 48}, {48, 72}}, during)
	assert.Equal(t, [][]byte{warm, recs[0], recs[1]}, s.Delivered())
	for _, b := range w.spool.buffers {
		assert.Equal(t, b.meta.writing.Load(), b.meta.written.Load(), "a call in progress after Sync")
	}
	assert.Nil(t, w.stage, "a staging buffer for a RecordWriter")
	st := w.Stats()
	assert.Equal(t, uint64(1), st.LostRecords)
	assert.Equal(t, uint64(3), st.WrittenRecords)
}

// TestTortureRecordWriterSpool is TestTortureRecordWriter with a spool:
// the records go to the sink as slices into the spool's mapping, with no
// staging buffer, each exactly once, whole, in its writer's order.
func TestTortureRecordWriterSpool(t *testing.T) {
	s := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		runtime.Gosched()
		return len(recs), nil
	}}
	w := newWriter(t, WithSink(s), WithSpool(filepath.Join(t.TempDir(), "spool")), WithBufferSize(tortureSize),
		WithMaxWriteSize(1000), WithFlushInterval(time.Millisecond))
	require.NotNil(t, w.spool)
	st := streams{seed: 48, writers: 16, records: 300, size: tortureSize, minLen: 4, maxLen: 5000}
	st.run(t, func(g, k int, p []byte) (int, error) { return w.Write(p) })
	require.NoError(t, w.Close())
	delivered := requireOneRecordEach(t, st, s.Delivered(), true)
	assert.Nil(t, w.stage, "a staging buffer for a RecordWriter")
	stats := w.Stats()
	assert.Equal(t, uint64(delivered), stats.WrittenRecords)
	assert.Equal(t, stats.Records, stats.WrittenRecords)
	assert.Zero(t, s.Writes())
}
