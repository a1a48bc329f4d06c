package zapasync_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/zapasync"
)

func encoder() zapcore.Encoder {
	return zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
}

func createFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// logEntry logs entry seq of goroutine g.
func logEntry(logger *zap.Logger, g, seq int) {
	logger.Info("entry", zap.Int(logtest.GoroutineKey, g), zap.Int(logtest.SeqKey, seq), zap.String("pad", logtest.Padding))
}

// cores are the two ways to put a WriteSyncer under a zap.Logger.
var cores = []struct {
	name string
	new  func(zapcore.Encoder, *zapasync.WriteSyncer, zapcore.LevelEnabler) zapcore.Core
}{
	{"zapcore.NewCore", func(enc zapcore.Encoder, ws *zapasync.WriteSyncer, enab zapcore.LevelEnabler) zapcore.Core {
		return zapcore.NewCore(enc, ws, enab)
	}},
	{"zapasync.NewCore", zapasync.NewCore},
}

func TestConcurrentEntriesArriveOnceInOrder(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	for _, c := range cores {
		t.Run(c.name, func(t *testing.T) {
			f := createFile(t)
			// Small buffers: thousands of swaps, and callers that find
			// both buffers full.
			ws := zapasync.New(core.WithSink(f), core.WithBufferSize(4<<10))
			logger := zap.New(c.new(encoder(), ws, zap.InfoLevel)).With(zap.String("svc", "test"))

			logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
			require.NoError(t, logger.Sync())
			require.NoError(t, ws.Close())

			lines := logtest.ReadLines(t, f.Name())
			logtest.RequireAll(t, lines, goroutines, perGoroutine)
			for _, line := range lines {
				require.Equal(t, "entry", line["msg"])
				require.Equal(t, "test", line["svc"])
				require.Equal(t, logtest.Padding, line["pad"])
			}
			st := ws.Stats()
			assert.EqualValues(t, goroutines*perGoroutine, st.WrittenRecords)
			assert.Zero(t, st.DroppedRecords)
			logtest.RequireStatsVar(t, ws.StatsVar(), st)
		})
	}
}

func TestSyncFlushesEverythingBefore(t *testing.T) {
	for _, c := range cores {
		t.Run(c.name, func(t *testing.T) {
			f := createFile(t)
			// Nothing but Sync hands these entries to the sink, but for
			// the first, which the core writes at once: they fill a
			// fraction of a buffer and the timer would wait an hour.
			ws := zapasync.New(core.WithSink(f), core.WithFlushInterval(time.Hour))
			defer ws.Close()
			logger := zap.New(c.new(encoder(), ws, zap.InfoLevel))

			logtest.Burst(4, 100, func(g, seq int) { logEntry(logger, g, seq) })
			require.NoError(t, logger.Sync())

			logtest.RequireAll(t, logtest.ReadLines(t, f.Name()), 4, 100)
		})
	}
}

func TestSyncsAtSyncLevel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		core      int // into cores
		syncLevel zapcore.Level
		level     zapcore.Level
		synced    bool
	}{
		// zapasync.NewCore syncs at the WriteSyncer's SyncLevel.
		{"NewCore dpanic by default", 1, zapcore.DPanicLevel, zapcore.DPanicLevel, true},
		{"NewCore error by default", 1, zapcore.DPanicLevel, zapcore.ErrorLevel, false},
		{"NewCore warn at warn", 1, zapcore.WarnLevel, zapcore.WarnLevel, true},
		{"NewCore info at warn", 1, zapcore.WarnLevel, zapcore.InfoLevel, false},
		// zap's own core syncs above Error, whatever SyncLevel says.
		{"zapcore.NewCore dpanic", 0, zapcore.DPanicLevel, zapcore.DPanicLevel, true},
		{"zapcore.NewCore error", 0, zapcore.DPanicLevel, zapcore.ErrorLevel, false},
		{"zapcore.NewCore error at warn", 0, zapcore.WarnLevel, zapcore.ErrorLevel, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := logtest.NewRecordingSink()
			ws := zapasync.New(core.WithSink(sink), core.WithFlushInterval(time.Hour))
			defer ws.Close()
			ws.SyncLevel = tc.syncLevel
			logger := zap.New(cores[tc.core].new(encoder(), ws, zap.InfoLevel))

			// The core writes the first entry after a pause at once;
			// with an hour's flush interval, the next ones stay
			// buffered until a sync.
			logger.Info("first")
			sink.AwaitWrites(t, 1)
			logger.Info("held")
			if ce := logger.Check(tc.level, "last"); ce != nil {
				ce.Write()
			}

			lines := sink.RequireSyncLevel(t, tc.synced, "msg", nil, ws.Close)
			if tc.synced {
				assert.Equal(t, tc.level.String(), lines[2]["level"])
			}
		})
	}
}

func TestNewCore(t *testing.T) {
	f := createFile(t)
	ws := zapasync.New(core.WithSink(f))
	c := zapasync.NewCore(encoder(), ws, zap.WarnLevel)

	assert.Equal(t, zapcore.WarnLevel, zapcore.LevelOf(c))
	assert.False(t, c.Enabled(zapcore.InfoLevel))
	logger := zap.New(c).With(zap.String("a", "1"))
	logger.Info("filtered")
	logger.With(zap.String("b", "2")).Warn("kept")
	logger.Error("no b")
	require.NoError(t, ws.Close())

	lines := logtest.ReadLines(t, f.Name())
	require.Len(t, lines, 2)
	assert.Equal(t, "kept", lines[0]["msg"])
	assert.Equal(t, "1", lines[0]["a"])
	assert.Equal(t, "2", lines[0]["b"])
	assert.Equal(t, "no b", lines[1]["msg"])
	assert.NotContains(t, lines[1], "b")
}

func TestDropKeepsErrors(t *testing.T) {
	const infos, errs = 200, 100
	sink := logtest.NewStallingSink(t)
	var reports logtest.ErrorLog
	ws := zapasync.New(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(reports.Handle),
	)
	logger := zap.New(zapasync.NewCore(encoder(), ws, zap.InfoLevel))

	// The core writes the first entry promptly, and the sink holds on
	// to it: one buffer, of 1 KiB, is left for the others.
	for seq := range infos {
		logger.Info("info", zap.Int(logtest.SeqKey, seq), zap.String("pad", logtest.Padding))
		if seq == 0 {
			sink.AwaitEntered(t)
		}
	}
	require.Positive(t, ws.Stats().DroppedRecords)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := range errs {
			logger.Error("error", zap.Int(logtest.SeqKey, seq), zap.String("pad", logtest.Padding))
		}
	}()
	logtest.AwaitWait(t, ws.Stats, done)
	sink.Release()
	<-done
	dropped := ws.Stats()
	require.NoError(t, ws.Close())
	// Refused after Close: counted, but not a drop the notices report.
	_, err := ws.Write([]byte("{}\n"))
	require.ErrorIs(t, err, core.ErrClosed)

	logtest.RequireErrorsKept(t, logtest.Lines(t, sink.Bytes()), "info", "error", infos, errs, dropped, ws.Stats())
	reports.RequireDropReports(t)
}

func TestNewCoreKeepsLongErrors(t *testing.T) {
	// Under Drop, an entry too long for a buffer is dropped, unless it is
	// at NoDropLevel: then the core writes it alone, whole.
	sink := logtest.NewRecordingSink()
	ws := zapasync.New(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(func(error) {}),
	)
	logger := zap.New(zapasync.NewCore(encoder(), ws, zap.InfoLevel))
	long := strings.Repeat("x", 2<<10)

	logger.Info("long info", zap.String("long", long))
	logger.Error("long error", zap.String("long", long))
	require.NoError(t, ws.Close())

	entries, notices := logtest.SplitNotices(logtest.Lines(t, sink.Bytes()))
	require.Len(t, entries, 1)
	assert.Equal(t, "long error", entries[0]["msg"])
	assert.Equal(t, long, entries[0]["long"])
	st := ws.Stats()
	assert.EqualValues(t, 1, st.DroppedRecords)
	logtest.RequireNotices(t, notices, "dropped", 1, st.DroppedBytes)
}

// childLogger opens the log file of a child process and returns a logger
// that would hold the entries after the first for an hour, as long as they
// fill less than half a buffer: a sync brings them to the file.
func childLogger(t *testing.T, path string, newCore func(zapcore.Encoder, *zapasync.WriteSyncer, zapcore.LevelEnabler) zapcore.Core) *zap.Logger {
	f, err := os.Create(path)
	require.NoError(t, err)
	ws := zapasync.New(core.WithSink(f), core.WithFlushInterval(time.Hour))
	return zap.New(newCore(encoder(), ws, zap.InfoLevel))
}

// requireBurstThen checks the log of a child process: the burst of entries
// logged by childBurst, then last.
func requireBurstThen(t *testing.T, path, level, last string) {
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, level, end["level"])
	assert.Equal(t, last, end["msg"])
	logtest.RequireAll(t, lines[:len(lines)-1], 4, 500)
}

func TestFatalFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path, cores[0].new)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Fatal("fatal")
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestFatalFlushes", path)
	require.Equal(t, 1, code, stderr)
	requireBurstThen(t, path, "fatal", "fatal")
}

func TestPanicInGoroutineFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path, zapasync.NewCore)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		go logger.Panic("panic")
		select {}
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestPanicInGoroutineFlushes", path)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "panic: panic")
	requireBurstThen(t, path, "panic", "panic")
}

func TestLumberjackRotation(t *testing.T) {
	const goroutines, perGoroutine = 8, 1000
	dir := t.TempDir()
	rotator := &lumberjack.Logger{Filename: filepath.Join(dir, "app.log"), MaxSize: 1} // megabytes
	defer rotator.Close()
	// lumberjack refuses a write longer than MaxSize: the core's writes
	// must stay within it, whatever the buffers hold.
	ws := zapasync.New(core.WithSink(rotator), core.WithMaxWriteSize(1<<20))
	logger := zap.New(zapcore.NewCore(encoder(), ws, zap.InfoLevel))

	// About 1.5 MB: one rotation.
	long := zap.String("long", logtest.Padding+logtest.Padding)
	logtest.Burst(goroutines, perGoroutine, func(g, seq int) {
		logger.Info("entry", zap.Int(logtest.GoroutineKey, g), zap.Int(logtest.SeqKey, seq), long)
	})
	require.NoError(t, ws.Close())
	require.NoError(t, rotator.Close())

	// Backups are named app-<time>.log and sort in the order written;
	// app.log is the newest.
	names, err := filepath.Glob(filepath.Join(dir, "app-*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, names, "no rotation happened")
	slices.Sort(names)
	var all []byte
	for _, name := range append(names, rotator.Filename) {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		require.LessOrEqual(t, len(data), 1<<20, name)
		all = append(all, data...)
	}
	logtest.RequireAll(t, logtest.Lines(t, all), goroutines, perGoroutine)
	assert.Zero(t, ws.Stats().SinkErrors)
}
