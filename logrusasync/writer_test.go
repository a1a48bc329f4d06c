package logrusasync_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/logrusasync"
)

func TestWriterConcurrentEntriesArriveOnceInOrder(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	f := createFile(t)
	// Small buffers: thousands of swaps, and callers that find both
	// buffers full.
	w := logrusasync.NewWriter(core.WithSink(f), core.WithBufferSize(4<<10))
	logger := newLogger(nil)
	logger.SetOutput(w)
	entry := logger.WithField("svc", "test")

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(entry, g, seq) })
	require.NoError(t, w.Close())

	lines := logtest.ReadLines(t, f.Name())
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.Equal(t, "entry", line["msg"])
		require.Equal(t, "test", line["svc"])
	}
	st := w.Stats()
	assert.EqualValues(t, goroutines*perGoroutine, st.WrittenRecords)
	assert.Zero(t, st.DroppedRecords)
	logtest.RequireStatsVar(t, w.StatsVar(), st)
}

func TestWriterSyncAndClose(t *testing.T) {
	f := createFile(t)
	// Nothing but Sync hands these entries to the sink, but for the first,
	// which the core writes at once.
	w := logrusasync.NewWriter(core.WithSink(f), core.WithFlushInterval(time.Hour))
	logger := newLogger(nil)
	logger.SetOutput(w)

	logtest.Burst(4, 100, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, w.Sync())
	logtest.RequireAll(t, logtest.ReadLines(t, f.Name()), 4, 100)

	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	_, err := w.Write([]byte("{}\n"))
	require.ErrorIs(t, err, core.ErrClosed)
}

func TestWriterExitSyncs(t *testing.T) {
	// logger.Exit, which logger.Fatal calls, runs the exit handler; here
	// ExitFunc does not end the process.
	sink := logtest.NewRecordingSink()
	w := logrusasync.NewWriter(core.WithSink(sink), core.WithFlushInterval(time.Hour))
	defer w.Close()
	logger := newLogger(nil)
	logger.SetOutput(w)
	var code int
	logger.ExitFunc = func(c int) { code = c }

	// The core writes the first entry after a pause at once; with an
	// hour's flush interval, the next ones stay buffered until a sync.
	logger.Info("first")
	sink.AwaitWrites(t, 1)
	logger.Info("held")
	require.Len(t, logtest.Lines(t, sink.Bytes()), 1, "held was written without a sync")
	logger.Fatal("last")

	assert.Equal(t, 1, code)
	sink.RequireSyncedLast(t)
	lines := logtest.Lines(t, sink.Bytes())
	require.Len(t, lines, 3)
	assert.Equal(t, "held", lines[1]["msg"])
	assert.Equal(t, "fatal", lines[2]["level"])
}

func TestWriterDropsAnyLevel(t *testing.T) {
	// What NewWriter cannot do, shown: under Drop, an Error entry that
	// finds the buffers full is dropped like any other.
	sink := logtest.NewStallingSink(t)
	w := logrusasync.NewWriter(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(func(error) {}), // drop reports
	)
	logger := newLogger(nil)
	logger.SetOutput(w)
	// The core writes the first entry promptly, and the sink holds on
	// to it: one buffer is left, which the next entries fill.
	logger.Info("first")
	sink.AwaitEntered(t)
	for w.Stats().DroppedRecords == 0 {
		logger.WithField("pad", logtest.Padding).Info("info")
	}
	dropped := w.Stats().DroppedRecords
	logger.WithField("pad", logtest.Padding).Error("error")
	assert.Equal(t, dropped+1, w.Stats().DroppedRecords)
	sink.Release()
	require.NoError(t, w.Close())
	entries, _ := logtest.SplitNotices(logtest.Lines(t, sink.Bytes()))
	assert.Empty(t, logtest.Filter(entries, "level", "error"))
}

// childWriterLogger opens the log file of a child process and sets the
// standard logger's output to a Writer that would hold the entries after
// the first for an hour, as long as they fill less than half a buffer: a
// sync brings them to the file.
func childWriterLogger(t *testing.T, path string) {
	f, err := os.Create(path)
	require.NoError(t, err)
	logrus.SetOutput(logrusasync.NewWriter(core.WithSink(f), core.WithFlushInterval(time.Hour)))
	logrus.SetFormatter(new(logrus.JSONFormatter))
}

// Ten thousand entries from four goroutines before the last one.
const childGoroutines, childPerGoroutine = 4, 2500

func logStandard(g, seq int) {
	logrus.WithFields(logrus.Fields{
		logtest.GoroutineKey: g,
		logtest.SeqKey:       seq,
		"pad":                logtest.Padding,
	}).Info("entry")
}

func TestWriterFatalFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		childWriterLogger(t, path)
		logtest.Burst(childGoroutines, childPerGoroutine, logStandard)
		logrus.Fatal("fatal")
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestWriterFatalFlushes", path)
	require.Equal(t, 1, code, stderr)
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, "fatal", end["level"])
	assert.Equal(t, "fatal", end["msg"])
	logtest.RequireAll(t, lines[:len(lines)-1], childGoroutines, childPerGoroutine)
}

func TestWriterExitFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		childWriterLogger(t, path)
		logtest.Burst(childGoroutines, childPerGoroutine, logStandard)
		logrus.Error("last")
		logrus.Exit(3)
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestWriterExitFlushes", path)
	require.Equal(t, 3, code, stderr)
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, "error", end["level"])
	assert.Equal(t, "last", end["msg"])
	logtest.RequireAll(t, lines[:len(lines)-1], childGoroutines, childPerGoroutine)
}
