//go:build linux || darwin || freebsd

package core

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newWithin calls New with opts on a goroutine of its own and returns the
// Writer and how long New took, failing the test if New has not returned
// within limit. unblock, if not nil, runs once New has returned or limit
// has passed, so that a sink held up by the test never keeps New waiting
// for ever.
func newWithin(t *testing.T, limit time.Duration, unblock func(), opts ...Option) (*Writer, time.Duration) {
	t.Helper()
	returned := make(chan *Writer, 1)
	start := time.Now()
	go func() { returned <- New(opts...) }()
	var w *Writer
	select {
	case w = <-returned:
	case <-time.After(limit):
	}
	took := time.Since(start)
	if unblock != nil {
		unblock()
	}
	if w == nil {
		w = <-returned
		require.Failf(t, "New did not return in time", "within %v", limit)
	}
	return w, took
}

// assertNothingLeft checks that a New on the spool at path, after the
// test's Writer closed it, finds nothing to recover: every record was
// handed to the sink and marked written.
func assertNothingLeft(t *testing.T, path string) {
	t.Helper()
	sink := &recordSink{}
	w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithNotices(nil))
	require.NoError(t, w.Close())
	assert.Empty(t, sink.Calls(), "a record recovered once is not recovered again")
}

// TestReview2RecoveryIntoBlockingRecordWriter: a RecordWriter sink that
// retries until its peer acknowledges (syslogsink, otlpsink: their
// WriteRecords returns only once the collector took the records, or the
// sink is closed) and a spool that holds records after a crash. New once
// replayed them on its caller's goroutine with no bound, so a service
// restarting while the collector was down hung in New. As WithSpool says,
// New now waits for the recovery at most the sync timeout, then returns a
// Writer on memory buffers and reports an error matching ErrSpool and
// ErrTimeout; the recovery goes on, and the Writer's own records follow
// the recovered ones once the sink takes them, each once.
func TestReview2RecoveryIntoBlockingRecordWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	recs := lines(0, 0, 4)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		commit(t, s.buffers[0], 3, recs...)
	})
	collectorUp := make(chan struct{})
	sink := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		<-collectorUp // retrying until the collector answers
		return len(recs), nil
	}}
	var errs errorLog
	const timeout = 300 * time.Millisecond
	w, took := newWithin(t, 2*time.Second, func() { close(collectorUp) },
		WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize),
		WithSyncTimeout(timeout), WithNotices(nil), WithErrorHandler(errs.handle))
	assert.GreaterOrEqual(t, took, timeout, "New waits for the recovery up to the sync timeout")
	assert.Less(t, took, timeout+time.Second, "New returns about the sync timeout after it started")
	assert.Nil(t, w.spool, "the Writer runs on memory buffers while the recovery holds the spool")

	own := appendLine(nil, 1, 0)
	_, err := w.Write(own)
	require.NoError(t, err)
	err = w.Close()
	require.Error(t, err, "the first Sync (here Close's) returns the error New reported")
	assert.ErrorIs(t, err, ErrSpool)
	assert.ErrorIs(t, err, ErrTimeout)
	reported := errs.Errors()
	require.NotEmpty(t, reported, "the error handler is told")
	assert.ErrorIs(t, reported[0], ErrSpool)
	assert.ErrorIs(t, reported[0], ErrTimeout)

	assert.Equal(t, append(recs, own), sink.Delivered(), "the recovered records, each once, then the Writer's own")
	assertNothingLeft(t, path)
}

// TestReview2RecoveryGoexitInWriteRecords: a runtime.Goexit in
// WriteRecords (a test's t.FailNow in a sink) while New replays a spool
// once ended the goroutine that called New, which never returned, and
// the locked spool stayed open for the rest of the process. As WithSpool
// says, the recovery now runs on a goroutine of its own: the Goexit is
// reported as ErrSinkPanic, the records of that call are lost (as on the
// writer goroutine) and not handed over again, the rest are recovered,
// and New returns with the spool.
func TestReview2RecoveryGoexitInWriteRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	// Two buffers' worth, so that the recovery makes a call after the one
	// that ends its goroutine.
	first, second := lines(0, 0, 3), lines(0, 3, 2)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		commit(t, s.buffers[0], 3, first...)
		commit(t, s.buffers[1], 4, second...)
	})
	var calls int
	sink := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		calls++ // the recovery's goroutines and the writer goroutine, one at a time
		if calls == 1 {
			runtime.Goexit()
		}
		return len(recs), nil
	}}
	var errs errorLog
	const timeout = 300 * time.Millisecond
	w, took := newWithin(t, 2*time.Second, nil, WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize),
		WithSyncTimeout(timeout), WithNotices(nil), WithErrorHandler(errs.handle))
	assert.Less(t, took, timeout, "the recovery finished: New did not wait for the sync timeout")
	assert.NotNil(t, w.spool, "the Writer took the spool over")

	own := appendLine(nil, 1, 0)
	_, err := w.Write(own)
	require.NoError(t, err)
	err = w.Close()
	require.Error(t, err, "the first Sync (here Close's) returns the error New reported")
	assert.ErrorIs(t, err, ErrSinkPanic)
	reported := errs.Errors()
	require.NotEmpty(t, reported)
	assert.ErrorIs(t, reported[0], ErrSinkPanic)

	handed := [][]byte{}
	for _, call := range sink.Calls() {
		handed = append(handed, call...)
	}
	assert.Equal(t, append(append(append([][]byte{}, first...), second...), own), handed,
		"every record handed to the sink once, in order, the call that ended in Goexit included")
	assert.Equal(t, append(append([][]byte{}, second...), own), sink.Delivered(),
		"the records of the call that ended in Goexit are lost, the rest delivered")
	assertNothingLeft(t, path)
}
