//go:build linux || darwin || freebsd

package core

import (
	"fmt"
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

// TestRecordWriterSpoolCallsMarkedAndStepped checks that every
// WriteRecords call of a Writer with a spool is marked in the spool's
// header while it runs, a call of records or of a record too long for a
// buffer alike (TestRecoveryIntoRecordWriter checks a notice's), and that a call of a spooled buffer's records
// holds at most a step of them, however many the max write size and
// maxRecordsPerCall allow.
func TestRecordWriterSpoolCallsMarkedAndStepped(t *testing.T) {
	const size = 4 << 20
	var w *Writer
	var unmarked atomic.Int32
	s := &recordSink{}
	s.writeRecords = func(recs [][]byte) (int, error) {
		if w.spool.head.calling.Load() == notCalling || !w.spool.diedInCall() {
			unmarked.Add(1)
		}
		return len(recs), nil
	}
	path := filepath.Join(t.TempDir(), "spool")
	w = New(WithSink(s), WithSpool(path), WithBufferSize(size), WithErrorHandler(func(err error) { t.Error(err) }))
	t.Cleanup(func() { _ = w.Close() })
	require.NotNil(t, w.spool)
	warmUpRecords(t, w, s)
	p := rec("r", 2000)
	for range 1500 { // 3 MB: more than two steps of 2000-byte records
		_, err := w.Write(p)
		require.NoError(t, err)
	}
	_, err := w.WriteWait(rec("long", size)) // too long for a buffer: a call of its own
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	assert.Zero(t, unmarked.Load(), "calls not marked in the spool")
	assert.Equal(t, uint32(notCalling), w.spool.head.calling.Load())
	recs := 0
	for _, call := range s.Calls() {
		n := 0
		for _, r := range call {
			n += len(r)
		}
		if len(call) > 1 {
			assert.LessOrEqual(t, n, spoolStep, "a call of %d records", len(call))
		}
		if len(call) > 0 && len(call[0]) == len(p) {
			recs += len(call)
		}
	}
	assert.Equal(t, 1500, recs)
	assert.Zero(t, s.Writes())
}

// TestRecoveryIntoRecordWriter recovers a spool left by a process that
// died inside a call of three of its records, the first of which had been
// written before: the next New hands a RecordWriter the notice in a call
// of its own, the two records that may be in the sink already one per
// call, then the rest in one call, all with WriteRecords, and no newline;
// the records a call does not deliver are counted lost, reported, and not
// recovered again.
func TestRecoveryIntoRecordWriter(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%t", fail), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool")
			recs := lines(0, 0, 6)
			deadSpool(t, path, testSpoolSize, func(s *spool) {
				ends := commit(t, s.buffers[0], 1, recs...)
				m := &s.head.meta[0]
				m.written.Store(ends[0])
				m.writing.Store(ends[2])
				s.enter(m)
			})
			s := &recordSink{}
			if fail {
				s.writeRecords = func(recs [][]byte) (int, error) {
					if len(recs) > 1 {
						return 1, errSink // the last call delivers one of its three
					}
					return len(recs), nil
				}
			}
			var errs errorLog
			w := New(WithSink(s), WithSpool(path), WithBufferSize(testSpoolSize), WithNotices(JSONNotice), WithErrorHandler(errs.handle))
			st := w.Stats()
			if err := w.Close(); fail {
				require.ErrorIs(t, err, errSink, "the first error reported")
			} else {
				require.NoError(t, err)
			}
			calls := s.Calls()
			require.Len(t, calls, 4)
			require.Len(t, calls[0], 1)
			assert.Contains(t, string(calls[0][0]), `"recovered"`)
			assert.Equal(t, [][][]byte{{recs[1]}, {recs[2]}, recs[3:6]}, calls[1:])
			assert.Zero(t, s.Writes(), "Write called on a RecordWriter")
			assert.Equal(t, uint64(2), st.RepeatedRecords)
			if fail {
				assert.Equal(t, uint64(3), st.RecoveredRecords)
				assert.Equal(t, uint64(2), st.LostRecords)
				require.Len(t, errs.Errors(), 1)
				assert.ErrorIs(t, errs.Errors()[0], errSink)
				assert.ErrorContains(t, errs.Errors()[0], "1 delivered, 2")
			} else {
				assert.Equal(t, uint64(5), st.RecoveredRecords)
				assert.Zero(t, st.LostRecords)
				assert.Empty(t, errs.Errors())
			}

			// Nothing is left to recover, and no newline to write.
			again := &recordSink{}
			w = New(WithSink(again), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
			require.NoError(t, w.Close())
			assert.Empty(t, again.Calls())
			assert.Zero(t, again.Writes())
		})
	}
}

// TestRecoveryIntoRecordWriterDiedInCall: a spool left by a process that
// died inside a sink call, with nothing to recover, gives a RecordWriter
// no call at all, and leaves the spool saying no call is under way, so
// that a later Writer with a sink of another kind writes no newline.
func TestRecoveryIntoRecordWriterDiedInCall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spool")
	deadSpool(t, path, testSpoolSize, func(s *spool) { s.enter(nil) })
	s := &recordSink{}
	w := New(WithSink(s), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
	require.NotNil(t, w.spool)
	assert.False(t, w.spool.diedInCall())
	require.NoError(t, w.Close())
	assert.Empty(t, s.Calls())
	assert.Zero(t, s.Writes())

	f := appendFile(t, filepath.Join(dir, "log"), nil)
	c := &countingWriter{w: f}
	w = New(WithSink(c), WithSpool(path), WithBufferSize(testSpoolSize), WithErrorHandler(func(err error) { t.Error(err) }))
	require.NoError(t, w.Close())
	assert.Zero(t, c.calls.Load(), "a newline written to a sink that was never torn")
}
