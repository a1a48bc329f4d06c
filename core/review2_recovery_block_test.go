//go:build review && (linux || darwin || freebsd)

package core

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestReview2RecoveryIntoBlockingRecordWriter: a RecordWriter sink that
// retries until its peer acknowledges (syslogsink, otlpsink: their
// WriteRecords returns only once the collector took the records, or the
// sink is closed) and a spool that holds records after a crash. New
// replays them on its caller's goroutine, with no bound: while the
// collector is down, a service restarting after a crash hangs in New,
// whatever WithSyncTimeout says, and nobody can Close the sink since New
// has not returned it. (Issue 15, item 4, for every sink; with the network
// sinks it is the case of "the collector is down when the application
// restarts", which they make certain to block.)
func TestReview2RecoveryIntoBlockingRecordWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		commit(t, s.buffers[0], 3, lines(0, 0, 4)...)
	})
	collectorUp := make(chan struct{})
	sink := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		<-collectorUp // retrying until the collector answers
		return len(recs), nil
	}}
	returned := make(chan *Writer, 1)
	go func() {
		returned <- New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize),
			WithSyncTimeout(300*time.Millisecond), WithNotices(nil))
	}()
	var w *Writer
	select {
	case w = <-returned:
	case <-time.After(2 * time.Second):
	}
	close(collectorUp)
	if w == nil {
		w = <-returned
		assert.Fail(t, "New did not return within 2s (sync timeout 300ms): recovery into the sink blocks it")
	}
	assert.NoError(t, w.Close())
}

// TestReview2RecoveryGoexitInWriteRecords: a runtime.Goexit in
// WriteRecords (a test's t.FailNow in a sink) while New replays a spool
// ends the goroutine that called New: New never returns, and the locked
// spool stays open for the rest of the process (issue 15, item 5, on the
// RecordWriter's replay path).
func TestReview2RecoveryGoexitInWriteRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		commit(t, s.buffers[0], 3, lines(0, 0, 4)...)
	})
	var calls int
	sink := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		calls++
		if calls == 1 {
			runtime.Goexit()
		}
		return len(recs), nil
	}}
	returned := make(chan *Writer, 1)
	go func() {
		returned <- New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize),
			WithSyncTimeout(300*time.Millisecond), WithNotices(nil))
	}()
	select {
	case w := <-returned:
		assert.NoError(t, w.Close())
	case <-time.After(2 * time.Second):
		assert.Fail(t, "New never returned: the Goexit in WriteRecords during recovery ended its caller")
	}
}
