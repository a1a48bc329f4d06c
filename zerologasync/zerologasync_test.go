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
	logtest.RequireStatsVar(t, w.StatsVar(), st)
}

func TestSyncFlushesEverythingBefore(t *testing.T) {
	f := createFile(t)
	// Nothing but Sync hands these events to the sink, but for the first,
	// which the core writes at once: they fill a fraction of a buffer and
	// the timer would wait an hour.
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
			sink := logtest.NewRecordingSink()
			w := zerologasync.Writer(core.WithSink(sink), core.WithFlushInterval(time.Hour))
			w.SyncLevel = tc.syncLevel
			logger := zerolog.New(w)

			// The core writes the first event after a pause at once;
			// with an hour's flush interval, the next ones stay
			// buffered until a sync.
			logger.Info().Msg("first")
			sink.AwaitWrites(t, 1)
			logger.Info().Msg("held")
			tc.log(logger)

			sink.RequireSyncLevel(t, tc.synced, "message", nil, w.Close)
		})
	}
}

func TestDropKeepsErrors(t *testing.T) {
	const infos, errs = 200, 100
	sink := logtest.NewStallingSink(t)
	var reports logtest.ErrorLog
	w := zerologasync.Writer(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(reports.Handle),
	)
	logger := zerolog.New(w)

	// The core writes the first event promptly, and the sink holds on
	// to it: one buffer, of 1 KiB, is left for the others.
	for seq := range infos {
		logger.Info().Int(logtest.SeqKey, seq).Str("pad", logtest.Padding).Msg("info")
		if seq == 0 {
			sink.AwaitEntered(t)
		}
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
	dropped := w.Stats()
	require.NoError(t, w.Close())
	// Refused after Close: counted, but not a drop the notices report.
	_, err := w.WriteLevel(zerolog.InfoLevel, []byte(`{"message":"late"}`+"\n"))
	require.ErrorIs(t, err, core.ErrClosed)

	logtest.RequireErrorsKept(t, logtest.Lines(t, sink.Bytes()), "info", "error", infos, errs, dropped, w.Stats())
	reports.RequireDropReports(t)
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
// that would hold the events after the first for an hour, as long as they
// fill less than half a buffer: a sync or Close brings them to the file.
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
