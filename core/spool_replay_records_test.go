//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordsOnly is a RecordWriter that writes each record to a file with a
// write of its own, checks that each is one whole line, and fails the
// test if recovery uses Write: a spool recovered into a RecordWriter is
// replayed with WriteRecords, records with their boundaries.
type recordsOnly struct {
	t *testing.T
	f *os.File

	mu             sync.Mutex
	calls, records int
}

func (r *recordsOnly) WriteRecords(recs [][]byte) (int, error) {
	r.mu.Lock()
	r.calls++
	r.records += len(recs)
	r.mu.Unlock()
	for i, rec := range recs {
		if len(rec) == 0 || bytes.IndexByte(rec, '\n') != len(rec)-1 {
			r.t.Errorf("not one whole line: %q", rec)
		}
		if _, err := r.f.Write(rec); err != nil {
			return i, err
		}
	}
	return len(recs), nil
}

func (r *recordsOnly) Write(p []byte) (int, error) {
	r.t.Errorf("recovery wrote %d bytes to a RecordWriter with Write", len(p))
	return r.f.Write(p)
}

// TestSpoolReplayIntoRecordWriter: a child whose sink is a RecordWriter is
// killed in the middle of a WriteRecords call, with a spool; the Writer
// that recovers the spool has a RecordWriter sink too, and gets the
// records with WriteRecords, one whole record a slice: every line whose
// Write returned is in the sink, each goroutine's in order.
func TestSpoolReplayIntoRecordWriter(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	for round, size := range []int{4 << 10, 64 << 10} {
		dir := t.TempDir()
		plan := exitPlan{Sink: filepath.Join(dir, "log"), Spool: filepath.Join(dir, "spool"), BufferSize: size,
			Goroutines: 4, Records: true, StallAfter: 10 + 7*round, Ending: endSIGKILL}
		r := startExitChild(t, "TestSpoolReplayIntoRecordWriter", plan).kill(t)

		f, err := os.OpenFile(plan.Sink, os.O_WRONLY|os.O_APPEND, 0o600)
		require.NoError(t, err)
		sink := &recordsOnly{t: t, f: f}
		var errs errorLog
		w := New(WithSink(sink), WithSpool(plan.Spool), WithBufferSize(size), WithMaxWriteSize(8<<10), WithErrorHandler(errs.handle))
		stats := w.Stats()
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
		require.Empty(t, errs.Errors())

		l := readExitLog(t, plan.Sink, plan.Goroutines)
		requireRecovered(t, r, l, stats)
		require.Empty(t, l.broken)
		require.NotZero(t, stats.RecoveredRecords)
		// The recovered records and the recovery notice, in calls within
		// the max write size.
		assert.EqualValues(t, stats.RecoveredRecords+1, sink.records)
		assert.Greater(t, sink.calls, 1)
	}
}
