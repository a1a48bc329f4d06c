package core

import (
	"bytes"
	"errors"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestReviewSpool2HandlerGoexitRepeatsFailedRecovery shows that a
// runtime.Goexit in the error handler (t.Fatal from a handler does this),
// while it reports a failed sink call of recovered records, makes the
// recovery hand the same records to the sink again: the write closure of
// recovery.work reports the error before replayer.run stores the progress
// (leave) and moves next on, and interrupted skips the run only when a
// sink call is under way (rc.calling), which it no longer is. The code's
// comment says a failed call's records are "reported, and not written
// again, as the writer goroutine does"; the writer goroutine does not
// write them again. A handler that Goexits on every error and a sink that
// always fails keep the recovery going round for ever (here bounded to 3
// Goexits, so 4 calls).
func TestReviewSpool2HandlerGoexitRepeatsFailedRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.spool")
	recs := [][]byte{[]byte("one\n"), []byte("two\n")}
	forgeSpool(t, path, 4096, recs, 0, 0, notCalling)

	var calls atomic.Int64
	sink := writerFunc(func(p []byte) (int, error) {
		if bytes.Contains(p, []byte("one\n")) {
			calls.Add(1)
		}
		return 0, errors.New("sink down")
	})
	var goexits atomic.Int64
	handler := func(err error) {
		if goexits.Load() < 3 && !errors.Is(err, ErrSinkPanic) {
			goexits.Add(1)
			runtime.Goexit()
		}
	}
	w := New(WithNotices(nil), WithSink(sink), WithSpool(path), WithBufferSize(4096),
		WithErrorHandler(handler), WithSyncTimeout(2*time.Second))
	_ = w.Close()
	<-w.done
	assert.EqualValues(t, 1, calls.Load(), "the failed call of recovered records is made once (%d Goexits in the handler)", goexits.Load())
}

// TestSpoolHandlerGoexitRepeatsNoFailedRecordsCall is the same for a
// RecordWriter sink: the records a WriteRecords call of the recovery did
// not deliver are counted lost and reported once, not handed over again.
func TestSpoolHandlerGoexitRepeatsNoFailedRecordsCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.spool")
	forgeSpool(t, path, 4096, [][]byte{[]byte("one\n"), []byte("two\n")}, 0, 0, notCalling)

	sink := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		return 0, errors.New("collector down")
	}}
	var goexits atomic.Int64
	handler := func(err error) {
		if goexits.Load() < 3 && !errors.Is(err, ErrSinkPanic) {
			goexits.Add(1)
			runtime.Goexit()
		}
	}
	w := New(WithNotices(nil), WithSink(sink), WithSpool(path), WithBufferSize(4096),
		WithErrorHandler(handler), WithSyncTimeout(2*time.Second))
	_ = w.Close()
	<-w.done
	calls := 0
	for _, call := range sink.Calls() {
		for _, rec := range call {
			if bytes.Equal(rec, []byte("one\n")) {
				calls++
			}
		}
	}
	assert.Equal(t, 1, calls, "the failed call of recovered records is made once (%d Goexits in the handler)", goexits.Load())
}
