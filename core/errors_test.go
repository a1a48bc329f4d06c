package core

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSinkWriteFailureIsReportedAndWriterGoesOn checks each way a sink
// Write can fail (an error, a short write without one, a panic): the
// failure is passed to the error handler, counted in SinkErrors, returned
// by the next Sync, its records are counted as lost, and the writer
// goroutine goes on delivering later records.
func TestSinkWriteFailureIsReportedAndWriterGoesOn(t *testing.T) {
	cases := []struct {
		name string
		fail func(p []byte) (int, error)
		want error
	}{
		{"error", func(p []byte) (int, error) { return 0, errSink }, errSink},
		{"short write", func(p []byte) (int, error) { return len(p) - 1, nil }, io.ErrShortWrite},
		{"panic", func(p []byte) (int, error) { panic("sink exploded") }, ErrSinkPanic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			s := &recSink{write: func(p []byte) (int, error) {
				if calls.Add(1) == 2 {
					return c.fail(p)
				}
				return len(p), nil
			}}
			var log errorLog
			w := newWriter(t, WithSink(s), WithErrorHandler(log.handle), withClock(newFakeClock()))
			warm := warmUp(t, w, s) // then the next records wait for Sync, in one sink call
			lost1, lost2 := rec("lost1", 10), rec("lost2", 15)
			for _, r := range [][]byte{lost1, lost2} {
				_, err := w.Write(r)
				require.NoError(t, err)
			}
			assert.ErrorIs(t, w.Sync(), c.want)
			require.Len(t, log.Errors(), 1)
			assert.ErrorIs(t, log.Errors()[0], c.want)
			st := w.Stats()
			assert.Equal(t, uint64(1), st.SinkErrors)
			assert.Equal(t, uint64(2), st.LostRecords)
			assert.Equal(t, uint64(25), st.LostBytes)
			assert.Equal(t, uint64(1), st.WrittenRecords)

			later := rec("later", 20)
			_, err := w.Write(later)
			require.NoError(t, err)
			assert.NoError(t, w.Sync())
			assert.Equal(t, string(bytesOf(warm, later)), string(s.Data()), "records after the failure still arrive")
			st = w.Stats()
			assert.Equal(t, uint64(2), st.WrittenRecords)
			assert.Equal(t, uint64(len(warm)+20), st.WrittenBytes)
			assert.Equal(t, st.Records, st.WrittenRecords+st.LostRecords)
			assert.Equal(t, st.Bytes, st.WrittenBytes+st.LostBytes)
		})
	}
}

// TestSinkFailureOfLargeRecord checks that a failed sink Write of a record
// that bypasses the buffers is reported and counted like any other.
func TestSinkFailureOfLargeRecord(t *testing.T) {
	s := &recSink{write: func(p []byte) (int, error) { return 0, errSink }}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithErrorHandler(log.handle), withClock(newFakeClock()))
	_, err := w.Write(rec("large", 100))
	require.NoError(t, err, "Write does not report sink errors")
	assert.ErrorIs(t, w.Sync(), errSink)
	st := w.Stats()
	assert.Equal(t, uint64(1), st.LostRecords)
	assert.Equal(t, uint64(100), st.LostBytes)
	assert.Equal(t, st.Records, st.WrittenRecords+st.LostRecords)
	assert.Len(t, log.Errors(), 1)
}

// TestSinkSyncPanicIsReported checks that a panic in the sink's Sync is
// recovered and returned by Sync as ErrSinkPanic.
func TestSinkSyncPanicIsReported(t *testing.T) {
	var panics atomic.Bool
	panics.Store(true)
	s := &recSink{sync: func() error {
		if panics.Load() {
			panic("sync exploded")
		}
		return nil
	}}
	var log errorLog
	w := newWriter(t, WithSink(s), WithErrorHandler(log.handle), withClock(newFakeClock()))
	assert.ErrorIs(t, w.Sync(), ErrSinkPanic)
	assert.Equal(t, uint64(1), w.Stats().SinkErrors)
	panics.Store(false)
	r := rec("after", 10)
	_, err := w.Write(r)
	require.NoError(t, err)
	assert.NoError(t, w.Sync())
	assert.Equal(t, string(r), string(s.Data()))
}

// TestPanickingErrorHandlerDoesNotStopWriter checks that an error handler
// that panics does not kill the writer goroutine.
func TestPanickingErrorHandlerDoesNotStopWriter(t *testing.T) {
	var calls atomic.Int32
	s := &recSink{write: func(p []byte) (int, error) {
		if calls.Add(1) == 1 {
			return 0, errSink
		}
		return len(p), nil
	}}
	w := newWriter(t, WithSink(s), WithErrorHandler(func(error) { panic("handler exploded") }), withClock(newFakeClock()))
	_, err := w.Write(rec("lost", 10))
	require.NoError(t, err)
	assert.ErrorIs(t, w.Sync(), errSink)
	r := rec("after", 10)
	_, err = w.Write(r)
	require.NoError(t, err)
	assert.NoError(t, w.Sync())
	assert.Equal(t, string(r), string(s.Data()))
}

// TestStderrReporterRateLimits checks the default error handler: the first
// error is printed at once, errors within the interval after it are only
// counted, and the next line printed once the interval has passed says how
// many were left out.
func TestStderrReporterRateLimits(t *testing.T) {
	var out bytes.Buffer
	r := newStderrReporter(&out, time.Hour)
	r.report(errors.New("first"))
	r.report(errors.New("second"))
	r.report(errors.New("third"))
	assert.Equal(t, "first\n", out.String(), "errors within the interval are not printed")

	// Let the interval pass.
	r.mu.Lock()
	r.last = r.last.Add(-2 * time.Hour)
	r.mu.Unlock()
	r.report(errors.New("fourth"))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[1], "fourth")
	assert.Contains(t, lines[1], "2 more", "the line counts the errors left out")

	// The count starts again from zero.
	r.mu.Lock()
	r.last = r.last.Add(-2 * time.Hour)
	r.mu.Unlock()
	r.report(errors.New("fifth"))
	assert.True(t, strings.HasSuffix(out.String(), "\nfifth\n"), "got %q", out.String())
}
