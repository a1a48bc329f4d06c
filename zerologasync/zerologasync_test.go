package zerologasync_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/zerologasync"
)

func createFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// logEntry logs entry seq of goroutine g.
func logEntry(logger zerolog.Logger, g, seq int) {
	logger.Info().Int(logtest.GoroutineKey, g).Int(logtest.SeqKey, seq).Str("pad", logtest.Padding).Msg("entry")
}

func TestConcurrentEventsArriveOnceInOrder(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	f := createFile(t)
	// Small buffers: thousands of swaps, and callers that find both
	// buffers full.
	w := zerologasync.Writer(core.WithSink(f), core.WithBufferSize(4<<10))
	logger := zerolog.New(w).With().Timestamp().Str("svc", "test").Logger()

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, w.Close())

	lines := logtest.ReadLines(t, f.Name())
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.Equal(t, "entry", line["message"])
		require.Equal(t, "info", line["level"])
		require.Equal(t, "test", line["svc"])
		require.Equal(t, logtest.Padding, line["pad"])
	}
	st := w.Stats()
	assert.EqualValues(t, goroutines*perGoroutine, st.WrittenRecords)
	assert.Zero(t, st.DroppedRecords)
}

func TestSyncFlushesEverythingBefore(t *testing.T) {
	f := createFile(t)
	// Nothing but Sync hands these events to the sink: they fill a
	// fraction of a buffer and the timer would wait an hour.
	w := zerologasync.Writer(core.WithSink(f), core.WithFlushInterval(time.Hour))
	defer w.Close()
	logger := zerolog.New(w)

	logtest.Burst(4, 100, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, w.Sync())

	logtest.RequireAll(t, logtest.ReadLines(t, f.Name()), 4, 100)
}

func TestWriteLevelSyncsAtSyncLevel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		syncLevel zerolog.Level
		log       func(zerolog.Logger)
		synced    bool
	}{
		{"panic", zerolog.FatalLevel, func(l zerolog.Logger) { l.WithLevel(zerolog.PanicLevel).Msg("last") }, true},
		{"fatal", zerolog.FatalLevel, func(l zerolog.Logger) { l.WithLevel(zerolog.FatalLevel).Msg("last") }, true},
		{"error", zerolog.FatalLevel, func(l zerolog.Logger) { l.Error().Msg("last") }, false},
		{"error at error", zerolog.ErrorLevel, func(l zerolog.Logger) { l.Error().Msg("last") }, true},
		{"no level", zerolog.WarnLevel, func(l zerolog.Logger) { l.Log().Msg("last") }, false},
		{"write", zerolog.WarnLevel, func(l zerolog.Logger) { _, _ = l.Write([]byte("last")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := createFile(t)
			w := zerologasync.Writer(core.WithSink(f), core.WithFlushInterval(time.Hour))
			w.SyncLevel = tc.syncLevel
			logger := zerolog.New(w)

			logger.Info().Msg("first")
			tc.log(logger)

			data, err := os.ReadFile(f.Name())
			require.NoError(t, err)
			if tc.synced {
				lines := logtest.Lines(t, data)
				require.Len(t, lines, 2)
				assert.Equal(t, "first", lines[0]["message"])
				assert.Equal(t, "last", lines[1]["message"])
			} else {
				// Nothing made the writer goroutine write yet.
				assert.Empty(t, data)
			}
			require.NoError(t, w.Close())
			assert.Len(t, logtest.ReadLines(t, f.Name()), 2)
		})
	}
}

func TestDropKeepsErrors(t *testing.T) {
	const infos, errs = 200, 100
	sink := logtest.NewStallingSink()
	w := zerologasync.Writer(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithFlushInterval(time.Hour),
	)
	logger := zerolog.New(w)

	// The sink does not return, so at most two buffers of these are
	// accepted.
	for seq := range infos {
		logger.Info().Int(logtest.SeqKey, seq).Str("pad", logtest.Padding).Msg("info")
	}
	require.Positive(t, w.Stats().DroppedRecords)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := range errs {
			logger.Error().Int(logtest.SeqKey, seq).Str("pad", logtest.Padding).Msg("error")
		}
	}()
	logtest.AwaitWait(t, w.Stats, done)
	sink.Release()
	<-done
	require.NoError(t, w.Close())

	lines := logtest.Lines(t, sink.Bytes())
	kept := logtest.RequireSubsequence(t, logtest.Filter(lines, "level", "info"), infos)
	errLines := logtest.Filter(lines, "level", "error")
	require.Len(t, errLines, errs)
	logtest.RequireSubsequence(t, errLines, errs)
	st := w.Stats()
	assert.EqualValues(t, infos-kept, st.DroppedRecords)
	assert.EqualValues(t, kept+errs, st.WrittenRecords)
}

func TestCloseRefusesLaterEvents(t *testing.T) {
	var sink bytes.Buffer
	w := zerologasync.Writer(core.WithSink(&sink))
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())

	_, err := w.WriteLevel(zerolog.ErrorLevel, []byte("{}\n"))
	require.ErrorIs(t, err, core.ErrClosed)
	_, err = w.Write([]byte("{}\n"))
	require.ErrorIs(t, err, core.ErrClosed)
	assert.Zero(t, sink.Len())
	assert.EqualValues(t, 2, w.Stats().DroppedRecords)
}

// childLogger opens the log file of a child process and returns a logger
// that would hold every event for an hour: only a sync or Close brings them
// to the file.
func childLogger(t *testing.T, path string) zerolog.Logger {
	f, err := os.Create(path)
	require.NoError(t, err)
	return zerolog.New(zerologasync.Writer(core.WithSink(f), core.WithFlushInterval(time.Hour)))
}

// requireBurstThen checks the log of a child process: the burst of events,
// then one at level, with message last.
func requireBurstThen(t *testing.T, path, level, last string) {
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, level, end["level"])
	assert.Equal(t, last, end["message"])
	logtest.RequireAll(t, lines[:len(lines)-1], 4, 500)
}

func TestFatalFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Fatal().Msg("fatal")
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestFatalFlushes", path)
	require.Equal(t, 1, code, stderr)
	requireBurstThen(t, path, "fatal", "fatal")
}

func TestPanicInGoroutineFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		go logger.Panic().Msg("panic")
		select {}
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestPanicInGoroutineFlushes", path)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "panic: panic")
	requireBurstThen(t, path, "panic", "panic")
}
