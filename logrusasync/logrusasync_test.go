package logrusasync_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/logrusasync"
)

func createFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// newLogger returns a JSON logger at Trace level that writes to out.
func newLogger(out *bytes.Buffer) *logrus.Logger {
	logger := logrus.New()
	logger.SetFormatter(new(logrus.JSONFormatter))
	logger.SetLevel(logrus.TraceLevel)
	if out != nil {
		logger.SetOutput(out)
	}
	return logger
}

// logEntry logs entry seq of goroutine g.
func logEntry(logger logrus.FieldLogger, g, seq int) {
	logger.WithFields(logrus.Fields{
		logtest.GoroutineKey: g,
		logtest.SeqKey:       seq,
		"pad":                logtest.Padding,
	}).Info("entry")
}

// countingFormatter counts the entries it formats.
type countingFormatter struct {
	logrus.JSONFormatter
	n atomic.Int64
}

func (f *countingFormatter) Format(e *logrus.Entry) ([]byte, error) {
	f.n.Add(1)
	return f.JSONFormatter.Format(e)
}

// countingWriter counts its Write calls.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(1)
	return len(p), nil
}

func TestConcurrentEntriesArriveOnceInOrder(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	f := createFile(t)
	// Small buffers: thousands of swaps, and callers that find both
	// buffers full.
	hook := logrusasync.NewHook(core.WithSink(f), core.WithBufferSize(4<<10))
	logger := newLogger(nil)
	formatter := new(countingFormatter)
	logger.SetFormatter(formatter)
	hook.Install(logger)
	entry := logger.WithField("svc", "test")

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(entry, g, seq) })
	require.NoError(t, hook.Close())

	lines := logtest.ReadLines(t, f.Name())
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.Equal(t, "entry", line["msg"])
		require.Equal(t, "info", line["level"])
		require.Equal(t, "test", line["svc"])
		require.Equal(t, logtest.Padding, line["pad"])
	}
	st := hook.Stats()
	assert.EqualValues(t, goroutines*perGoroutine, st.WrittenRecords)
	assert.Zero(t, st.DroppedRecords)
	logtest.RequireStatsVar(t, hook.StatsVar(), st)
	// Installed, the hook is the only one formatting.
	assert.EqualValues(t, goroutines*perGoroutine, formatter.n.Load())
}

func TestInstall(t *testing.T) {
	var out countingWriter
	logger := newLogger(nil)
	logger.SetOutput(&out)
	logger.SetLevel(logrus.InfoLevel)
	// Two hooks on one logger: the second finds the logger's formatter
	// replaced, and formats with the one it replaced.
	files := []*os.File{createFile(t), createFile(t)}
	var hooks []*logrusasync.Hook
	for _, f := range files {
		hook := logrusasync.NewHook(core.WithSink(f))
		hook.Install(logger)
		hooks = append(hooks, hook)
	}

	logger.Debug("filtered by the logger")
	logger.WithField("k", "v").Info("one")
	for _, hook := range hooks {
		require.NoError(t, hook.Close())
	}

	assert.Zero(t, out.n.Load(), "the logger wrote to its former output")
	for _, f := range files {
		lines := logtest.ReadLines(t, f.Name()) // JSON: the JSON formatter's
		require.Len(t, lines, 1)
		assert.Equal(t, "one", lines[0]["msg"])
		assert.Equal(t, "v", lines[0]["k"])
	}
}

func TestAddHookKeepsLoggerOutput(t *testing.T) {
	f := createFile(t)
	hook := logrusasync.NewHook(core.WithSink(f))
	hook.FireLevels = []logrus.Level{logrus.WarnLevel, logrus.ErrorLevel}
	hook.Formatter = &logrus.TextFormatter{DisableTimestamp: true}
	var out bytes.Buffer
	logger := newLogger(&out)
	logger.AddHook(hook)

	logger.Info("info")
	logger.Warn("warn")
	logger.Error("error")
	require.NoError(t, hook.Close())

	assert.Len(t, logtest.Lines(t, out.Bytes()), 3)
	data, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	assert.Equal(t, "level=warning msg=warn\nlevel=error msg=error\n", string(data))
}

func TestFireFormatsBeforeReturning(t *testing.T) {
	f := createFile(t)
	hook := logrusasync.NewHook(core.WithSink(f), core.WithFlushInterval(time.Hour))
	logger := newLogger(nil)
	hook.Install(logger)

	values := map[string]int{"v": 0}
	for i := range 100 {
		values["v"] = i
		logger.WithField("values", values).Info("entry")
	}
	require.NoError(t, hook.Close())

	lines := logtest.ReadLines(t, f.Name())
	require.Len(t, lines, 100)
	for i, line := range lines {
		assert.Equal(t, map[string]any{"v": float64(i)}, line["values"])
	}
}

func TestSyncFlushesEverythingBefore(t *testing.T) {
	f := createFile(t)
	// Nothing but Sync hands these entries to the sink, but for the first,
	// which the core writes at once: they fill a fraction of a buffer and
	// the timer would wait an hour.
	hook := logrusasync.NewHook(core.WithSink(f), core.WithFlushInterval(time.Hour))
	defer hook.Close()
	logger := newLogger(nil)
	hook.Install(logger)

	logtest.Burst(4, 100, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, hook.Sync())

	logtest.RequireAll(t, logtest.ReadLines(t, f.Name()), 4, 100)
}

func TestFireSyncsAtSyncLevel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		syncLevel logrus.Level
		log       func(*logrus.Logger)
		synced    bool
	}{
		{"panic", logrus.FatalLevel, func(l *logrus.Logger) {
			defer func() { _ = recover() }()
			l.Panic("last")
		}, true},
		{"fatal", logrus.FatalLevel, func(l *logrus.Logger) { l.Fatal("last") }, true},
		{"error", logrus.FatalLevel, func(l *logrus.Logger) { l.Error("last") }, false},
		{"error at error", logrus.ErrorLevel, func(l *logrus.Logger) { l.Error("last") }, true},
		{"warn at error", logrus.ErrorLevel, func(l *logrus.Logger) { l.Warn("last") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := logtest.NewRecordingSink()
			hook := logrusasync.NewHook(core.WithSink(sink), core.WithFlushInterval(time.Hour))
			hook.SyncLevel = tc.syncLevel
			logger := newLogger(new(bytes.Buffer))
			exits := 0
			logger.ExitFunc = func(int) { exits++ }
			// AddHook, unlike Install, registers no exit handler: only
			// Fire syncs.
			logger.AddHook(hook)

			// The core writes the first entry after a pause at once;
			// with an hour's flush interval, the next ones stay
			// buffered until a sync.
			logger.Info("first")
			sink.AwaitWrites(t, 1)
			logger.Info("held")
			tc.log(logger)

			sink.RequireSyncLevel(t, tc.synced, "msg", nil, hook.Close)
		})
	}
}

func TestDropKeepsErrors(t *testing.T) {
	const infos, errs = 200, 100
	sink := logtest.NewStallingSink(t)
	var reports logtest.ErrorLog
	hook := logrusasync.NewHook(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(reports.Handle),
	)
	logger := newLogger(nil)
	hook.Install(logger)

	// The core writes the first entry promptly, and the sink holds on
	// to it: one buffer, of 1 KiB, is left for the others.
	for seq := range infos {
		logger.WithFields(logrus.Fields{logtest.SeqKey: seq, "pad": logtest.Padding}).Info("info")
		if seq == 0 {
			sink.AwaitEntered(t)
		}
	}
	require.Positive(t, hook.Stats().DroppedRecords)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := range errs {
			logger.WithFields(logrus.Fields{logtest.SeqKey: seq, "pad": logtest.Padding}).Error("error")
		}
	}()
	logtest.AwaitWait(t, hook.Stats, done)
	sink.Release()
	<-done
	dropped := hook.Stats()
	require.NoError(t, hook.Close())
	// Refused after Close: counted, but not a drop the notices report.
	late := logrus.NewEntry(logger)
	late.Level, late.Message = logrus.InfoLevel, "late"
	require.ErrorIs(t, hook.Fire(late), core.ErrClosed)

	logtest.RequireErrorsKept(t, logtest.Lines(t, sink.Bytes()), "info", "error", infos, errs, dropped, hook.Stats())
	reports.RequireDropReports(t)
}

type failingFormatter struct{}

var errFormat = errors.New("cannot format")

func (failingFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, errFormat }

func TestFireErrors(t *testing.T) {
	var sink bytes.Buffer
	hook := logrusasync.NewHook(core.WithSink(&sink))
	entry := logrus.NewEntry(newLogger(nil))
	entry.Level = logrus.InfoLevel

	hook.Formatter = failingFormatter{}
	require.ErrorIs(t, hook.Fire(entry), errFormat)

	hook.Formatter = nil
	require.NoError(t, hook.Close())
	require.ErrorIs(t, hook.Fire(entry), core.ErrClosed)
	entry.Level = logrus.ErrorLevel
	require.ErrorIs(t, hook.Fire(entry), core.ErrClosed)
	assert.Zero(t, sink.Len())
}

func TestLevels(t *testing.T) {
	hook := logrusasync.NewHook(core.WithSink(new(bytes.Buffer)))
	defer hook.Close()
	assert.Equal(t, logrus.AllLevels, hook.Levels())
	hook.FireLevels = []logrus.Level{logrus.ErrorLevel}
	assert.Equal(t, []logrus.Level{logrus.ErrorLevel}, hook.Levels())
}

// childLogger opens the log file of a child process and returns a logger
// whose installed hook would hold the entries after the first for an hour,
// as long as they fill less than half a buffer: a sync brings them to the
// file.
func childLogger(t *testing.T, path string) *logrus.Logger {
	f, err := os.Create(path)
	require.NoError(t, err)
	hook := logrusasync.NewHook(core.WithSink(f), core.WithFlushInterval(time.Hour))
	logger := newLogger(nil)
	hook.Install(logger)
	return logger
}

// requireBurst checks the log of a child process: the burst of entries,
// then, if last is not empty, one at level with message last.
func requireBurst(t *testing.T, path, level, last string) {
	lines := logtest.ReadLines(t, path)
	if last != "" {
		require.NotEmpty(t, lines)
		end := lines[len(lines)-1]
		assert.Equal(t, level, end["level"])
		assert.Equal(t, last, end["msg"])
		lines = lines[:len(lines)-1]
	}
	logtest.RequireAll(t, lines, 4, 500)
}

func TestFatalFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Fatal("fatal")
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestFatalFlushes", path)
	require.Equal(t, 1, code, stderr)
	requireBurst(t, path, "fatal", "fatal")
}

func TestPanicInGoroutineFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		go logger.Panic("panic")
		select {}
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestPanicInGoroutineFlushes", path)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "panic: ")
	requireBurst(t, path, "panic", "panic")
}

func TestExitFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childLogger(t, path)
		logtest.Burst(4, 500, func(g, seq int) { logEntry(logger, g, seq) })
		logrus.Exit(3)
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestExitFlushes", path)
	require.Equal(t, 3, code, stderr)
	requireBurst(t, path, "", "")
}
