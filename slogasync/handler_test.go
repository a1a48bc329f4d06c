package slogasync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/slogasync"
)

func createFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// logEntry logs entry seq of goroutine g.
func logEntry(logger *slog.Logger, g, seq int) {
	logger.LogAttrs(context.Background(), slog.LevelInfo, "entry",
		slog.Int(logtest.GoroutineKey, g), slog.Int(logtest.SeqKey, seq), slog.String("pad", logtest.Padding))
}

// syncBuffer is a sink the test reads after a Sync: the core writes it
// from its goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func TestSlogtest(t *testing.T) {
	for _, name := range []string{"JSONHandler", "Handler"} {
		t.Run(name, func(t *testing.T) {
			var sink *syncBuffer
			var w *slogasync.Writer
			slogtest.Run(t, func(t *testing.T) slog.Handler {
				sink = new(syncBuffer)
				w = slogasync.New(core.WithSink(sink))
				t.Cleanup(func() { require.NoError(t, w.Close()) })
				if name == "JSONHandler" {
					return w.JSONHandler(nil)
				}
				return w.Handler(func(out io.Writer) slog.Handler { return slog.NewJSONHandler(out, nil) })
			}, func(t *testing.T) map[string]any {
				require.NoError(t, w.Sync())
				lines := logtest.Lines(t, sink.Bytes())
				require.Len(t, lines, 1)
				return lines[0]
			})
		})
	}
}

func TestSlogtestTestHandler(t *testing.T) {
	// All of slogtest's records through one handler, then checked.
	sink := new(syncBuffer)
	w := slogasync.New(core.WithSink(sink))
	defer w.Close()
	err := slogtest.TestHandler(w.JSONHandler(nil), func() []map[string]any {
		require.NoError(t, w.Sync())
		var out []map[string]any
		for _, line := range bytes.Split(bytes.TrimSuffix(sink.Bytes(), []byte("\n")), []byte("\n")) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(line, &m))
			out = append(out, m)
		}
		return out
	})
	require.NoError(t, err)
}

func TestConcurrentRecordsArriveOnceInOrder(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	f := createFile(t)
	// Small buffers: thousands of swaps, and callers that find both
	// buffers full.
	w := slogasync.New(core.WithSink(f), core.WithBufferSize(4<<10))
	root := slog.New(w.JSONHandler(nil)).With("svc", "test")

	// Each goroutine derives its own handlers while the others log, and
	// shares the root's.
	logtest.Burst(goroutines, perGoroutine, func(g, seq int) {
		logger := root
		if seq%2 == 1 {
			logger = root.With("odd", true).WithGroup("grp").With("g2", g)
		}
		logEntry(logger, g, seq)
	})
	require.NoError(t, w.Close())

	lines := logtest.ReadLines(t, f.Name())
	require.Len(t, lines, goroutines*perGoroutine)
	for _, line := range lines {
		require.Equal(t, "entry", line["msg"])
		require.Equal(t, "test", line["svc"])
		if grp, ok := line["grp"].(map[string]any); ok {
			// The record's own attributes are in the group.
			require.Equal(t, true, line["odd"])
			require.Equal(t, grp["g2"], grp[logtest.GoroutineKey])
			line[logtest.GoroutineKey], line[logtest.SeqKey] = grp[logtest.GoroutineKey], grp[logtest.SeqKey]
		}
	}
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	st := w.Stats()
	assert.EqualValues(t, goroutines*perGoroutine, st.WrittenRecords)
	assert.Zero(t, st.DroppedRecords)
	logtest.RequireStatsVar(t, w.StatsVar(), st)
}

func TestSyncAtSyncLevel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		syncLevel slog.Level
		level     slog.Level
		synced    bool
	}{
		{"error+4 by default", slog.LevelError + 4, slog.LevelError + 4, true},
		{"error by default", slog.LevelError + 4, slog.LevelError, false},
		{"error at error", slog.LevelError, slog.LevelError, true},
		{"warn at error", slog.LevelError, slog.LevelWarn, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := logtest.NewRecordingSink()
			w := slogasync.New(core.WithSink(sink), core.WithFlushInterval(time.Hour))
			w.SyncLevel = tc.syncLevel
			logger := slog.New(w.JSONHandler(nil))

			// The core writes the first record after a pause at once;
			// with an hour's flush interval, the next ones stay
			// buffered until a sync.
			logger.Info("first")
			sink.AwaitWrites(t, 1)
			logger.Info("held")
			logger.Log(context.Background(), tc.level, "last")

			sink.RequireSyncLevel(t, tc.synced, "msg", nil, w.Close)
		})
	}
}

func TestDropKeepsErrors(t *testing.T) {
	const infos, errs = 200, 100
	sink := logtest.NewStallingSink(t)
	var reports logtest.ErrorLog
	w := slogasync.New(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(reports.Handle),
	)
	logger := slog.New(w.JSONHandler(nil))

	// The core writes the first record promptly, and the sink holds on
	// to it: one buffer, of 1 KiB, is left for the others.
	for seq := range infos {
		logger.Info("info", logtest.SeqKey, seq, "pad", logtest.Padding)
		if seq == 0 {
			sink.AwaitEntered(t)
		}
	}
	require.Positive(t, w.Stats().DroppedRecords)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := range errs {
			logger.Error("error", logtest.SeqKey, seq, "pad", logtest.Padding)
		}
	}()
	logtest.AwaitWait(t, w.Stats, done)
	sink.Release()
	<-done
	dropped := w.Stats()
	require.NoError(t, w.Close())
	// Refused after Close: counted, but not a drop the notices report.
	logger.Info("late")

	logtest.RequireErrorsKept(t, logtest.Lines(t, sink.Bytes()), "INFO", "ERROR", infos, errs, dropped, w.Stats())
	reports.RequireDropReports(t)
}

func TestWaitingRecordHoldsNoSharedLock(t *testing.T) {
	// An Error record waits for room under Drop, behind a stalled sink.
	// Meanwhile Info records through the same handler, and one derived
	// from it, are dropped at once: they do not queue behind the waiting
	// one, as they would on slog.NewJSONHandler's mutex over a
	// core.Writer.
	sink := logtest.NewStallingSink(t)
	w := slogasync.New(
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(func(error) {}), // drop reports
	)
	logger := slog.New(w.JSONHandler(nil))
	// The core writes the first record promptly, and the sink holds on
	// to it: one buffer is left, which the next records fill.
	logger.Info("first")
	sink.AwaitEntered(t)
	for w.Stats().DroppedRecords == 0 {
		logger.Info("fill", "pad", logtest.Padding)
	}

	waiting := make(chan struct{})
	go func() {
		defer close(waiting)
		logger.Error("waits for room", "pad", logtest.Padding)
	}()
	logtest.AwaitWait(t, w.Stats, waiting)

	// Longer than the record that found no room, whatever the length of
	// their time, so that their frames are longer too: none fits until
	// the writer goroutine swaps, which the stalled sink keeps it from
	// doing.
	before := w.Stats().DroppedRecords
	derived := logger.With("k", "v")
	long := logtest.Padding + logtest.Padding
	for range 100 {
		logger.Info("dropped", "pad", long)
		derived.Info("dropped", "pad", long)
	}
	assert.Equal(t, before+200, w.Stats().DroppedRecords)
	select {
	case <-waiting:
		t.Fatal("the Error record stopped waiting with the sink still stalled")
	default:
	}

	sink.Release()
	<-waiting
	require.NoError(t, w.Close())
	entries, _ := logtest.SplitNotices(logtest.Lines(t, sink.Bytes()))
	assert.Len(t, logtest.Filter(entries, "level", "ERROR"), 1)
	assert.Empty(t, logtest.Filter(entries, "msg", "dropped"))
}

func TestEnabledFollowsTheHandlers(t *testing.T) {
	w := slogasync.New(core.WithSink(io.Discard))
	defer w.Close()
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	h := w.JSONHandler(&slog.HandlerOptions{Level: &level})
	derived := h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).WithGroup("g")
	ctx := context.Background()

	for _, h := range []slog.Handler{h, derived} {
		assert.False(t, h.Enabled(ctx, slog.LevelInfo))
		assert.True(t, h.Enabled(ctx, slog.LevelWarn))
	}
	level.Set(slog.LevelDebug)
	assert.True(t, derived.Enabled(ctx, slog.LevelDebug))

	assert.Same(t, h, h.WithAttrs(nil))
	assert.Same(t, h, h.WithGroup(""))
}

// countingValuer counts the calls of its LogValue.
type countingValuer struct{ n *atomic.Int64 }

func (v countingValuer) LogValue() slog.Value {
	return slog.Int64Value(v.n.Add(1))
}

func TestWithAttrsResolvedOnce(t *testing.T) {
	// As with slog's handlers, a LogValuer given to With is resolved
	// once, at With, however many pooled handlers the derived Handler
	// makes.
	const goroutines, perGoroutine = 8, 100
	f := createFile(t)
	w := slogasync.New(core.WithSink(f))
	var calls atomic.Int64
	logger := slog.New(w.JSONHandler(nil)).With("v", countingValuer{&calls}, slog.Group("grp", "w", countingValuer{&calls}))
	require.EqualValues(t, 2, calls.Load())

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, w.Close())

	assert.EqualValues(t, 2, calls.Load(), "LogValue calls")
	lines := logtest.ReadLines(t, f.Name())
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.EqualValues(t, 1, line["v"])
		require.Equal(t, map[string]any{"w": float64(2)}, line["grp"])
	}
}

var errHandler = errors.New("cannot format")

// failingHandler fails Warn records and writes nothing for records
// below Info.
type failingHandler struct {
	slog.Handler
}

func (h failingHandler) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Level == slog.LevelWarn:
		return errHandler
	case r.Level < slog.LevelInfo:
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func TestHandleErrors(t *testing.T) {
	sink := new(syncBuffer)
	w := slogasync.New(core.WithSink(sink))
	h := w.Handler(func(out io.Writer) slog.Handler {
		return failingHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})}
	})
	ctx := context.Background()
	record := func(l slog.Level) slog.Record { return slog.NewRecord(time.Time{}, l, "msg", 0) }

	require.ErrorIs(t, h.Handle(ctx, record(slog.LevelWarn)), errHandler)
	require.NoError(t, h.Handle(ctx, record(slog.LevelDebug))) // wrote nothing
	require.NoError(t, h.Handle(ctx, record(slog.LevelInfo)))
	require.NoError(t, w.Sync())
	assert.EqualValues(t, 1, w.Stats().Records, "records the core took")
	assert.Len(t, logtest.Lines(t, sink.Bytes()), 1)

	require.NoError(t, w.Close())
	require.ErrorIs(t, h.Handle(ctx, record(slog.LevelInfo)), core.ErrClosed)
	require.ErrorIs(t, h.Handle(ctx, record(slog.LevelError+4)), core.ErrClosed)
}

func TestLargeRecords(t *testing.T) {
	// Records larger than the pool keeps: written whole all the same.
	f := createFile(t)
	w := slogasync.New(core.WithSink(f))
	logger := slog.New(w.JSONHandler(nil))
	big := string(bytes.Repeat([]byte("b"), 100<<10))
	for seq := range 3 {
		logger.Info("big", logtest.SeqKey, seq, "big", big)
	}
	require.NoError(t, w.Close())
	lines := logtest.ReadLines(t, f.Name())
	require.Len(t, lines, 3)
	logtest.RequireSubsequence(t, lines, 3)
	for _, line := range lines {
		assert.Equal(t, big, line["big"])
	}
}

// Ten thousand records from four goroutines before the last one.
const childGoroutines, childPerGoroutine = 4, 2500

func TestSyncLevelThenExit(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		f, err := os.Create(path)
		require.NoError(t, err)
		// Only a sync brings these records to the file.
		w := slogasync.New(core.WithSink(f), core.WithFlushInterval(time.Hour))
		logger := slog.New(w.JSONHandler(nil))
		logtest.Burst(childGoroutines, childPerGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Log(context.Background(), w.SyncLevel, "fatal")
		os.Exit(1)
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestSyncLevelThenExit", path)
	require.Equal(t, 1, code, stderr)
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, "ERROR+4", end["level"])
	assert.Equal(t, "fatal", end["msg"])
	logtest.RequireAll(t, lines[:len(lines)-1], childGoroutines, childPerGoroutine)
}
