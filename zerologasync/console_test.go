package zerologasync_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/zerologasync"
)

// plainConsole is a ConsoleWriter whose lines the tests can parse: no
// colours, no timestamp.
func plainConsole() zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}}
}

// consoleLines parses the lines plainConsole writes, "LVL message k=v
// k=v", into maps with the keys "level" and "message" and one per field;
// a field whose value is a whole number maps to a float64, as in JSON, so
// that logtest's checks apply. A drop notice of the core, in text, maps to
// what logtest.ParseTextNotice returns. It fails the test on a line cut
// short.
func consoleLines(t testing.TB, data []byte) []map[string]any {
	t.Helper()
	if len(data) == 0 {
		return nil
	}
	require.Equal(t, byte('\n'), data[len(data)-1], "log does not end in a newline")
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if notice, ok := logtest.ParseTextNotice(sc.Text()); ok {
			out = append(out, notice)
			continue
		}
		words := strings.Fields(sc.Text())
		require.GreaterOrEqual(t, len(words), 2, "line %d: %q", len(out)+1, sc.Text())
		line := map[string]any{"level": words[0], "message": words[1]}
		for _, w := range words[2:] {
			k, v, ok := strings.Cut(w, "=")
			require.True(t, ok, "line %d: %q", len(out)+1, sc.Text())
			if n, err := strconv.Atoi(v); err == nil {
				line[k] = float64(n)
			} else {
				line[k] = v
			}
		}
		out = append(out, line)
	}
	require.NoError(t, sc.Err())
	return out
}

func readConsoleLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return consoleLines(t, data)
}

func TestConsoleWriterConcurrentEventsArriveOnceInOrder(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	f := createFile(t)
	// Small buffers: thousands of swaps, and callers that find both
	// buffers full.
	w := zerologasync.ConsoleWriter(plainConsole(), core.WithSink(f), core.WithBufferSize(4<<10))
	logger := zerolog.New(w).With().Str("svc", "test").Logger()

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, w.Close())

	lines := readConsoleLines(t, f.Name())
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.Equal(t, "INF", line["level"])
		require.Equal(t, "entry", line["message"])
		require.Equal(t, "test", line["svc"])
		require.Equal(t, logtest.Padding, line["pad"])
	}
	st := w.Stats()
	assert.EqualValues(t, goroutines*perGoroutine, st.WrittenRecords)
	assert.Zero(t, st.DroppedRecords)
}

func TestConsoleWriterFormatsAsZerolog(t *testing.T) {
	// With colours and the default parts but a fixed time: the line the
	// core writes is the line zerolog.ConsoleWriter writes itself.
	var want, got bytes.Buffer
	cw := zerolog.ConsoleWriter{FormatTimestamp: func(any) string { return "12:00" }}
	w := zerologasync.ConsoleWriter(cw, core.WithSink(&got))
	cw.Out = &want
	for _, out := range []zerolog.Logger{zerolog.New(cw), zerolog.New(w)} {
		out.Warn().Str("path", "/").Int("status", 503).Err(os.ErrClosed).Msg("upstream down")
		out.Log().Msg("no level")
	}
	require.NoError(t, w.Close())
	require.Contains(t, want.String(), "\x1b[", "colours")
	assert.Equal(t, want.String(), got.String())
}

func TestConsoleWriterSink(t *testing.T) {
	t.Run("Out", func(t *testing.T) {
		var out bytes.Buffer
		w := zerologasync.ConsoleWriter(zerolog.ConsoleWriter{Out: &out, NoColor: true, PartsExclude: []string{"time"}})
		logger := zerolog.New(w)
		logger.Info().Msg("to Out")
		require.NoError(t, w.Close())
		assert.Equal(t, "INF to Out\n", out.String())
	})
	t.Run("WithSink overrides Out", func(t *testing.T) {
		var out, sink bytes.Buffer
		cw := plainConsole()
		cw.Out = &out
		w := zerologasync.ConsoleWriter(cw, core.WithSink(&sink))
		logger := zerolog.New(w)
		logger.Info().Msg("to the sink")
		require.NoError(t, w.Close())
		assert.Zero(t, out.Len())
		assert.Equal(t, "INF to the sink\n", sink.String())
	})
}

func TestConsoleWriterSyncsAtSyncLevel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		log    func(zerolog.Logger)
		synced bool
	}{
		{"panic", func(l zerolog.Logger) { l.WithLevel(zerolog.PanicLevel).Msg("last") }, true},
		{"fatal", func(l zerolog.Logger) { l.WithLevel(zerolog.FatalLevel).Msg("last") }, true},
		{"error", func(l zerolog.Logger) { l.Error().Msg("last") }, false},
		{"write", func(l zerolog.Logger) { _, _ = l.Write([]byte("last")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := logtest.NewRecordingSink()
			w := zerologasync.ConsoleWriter(plainConsole(), core.WithSink(sink), core.WithFlushInterval(time.Hour))
			logger := zerolog.New(w)

			// The core writes the first event after a pause at once;
			// with an hour's flush interval, the next ones stay
			// buffered until a sync.
			logger.Info().Msg("first")
			sink.AwaitWrites(t, 1)
			logger.Info().Msg("held")
			tc.log(logger)

			sink.RequireSyncLevel(t, tc.synced, "message", func(b []byte) []map[string]any { return consoleLines(t, b) }, w.Close)
		})
	}
}

func TestConsoleWriterDropKeepsErrors(t *testing.T) {
	const infos, errs = 200, 100
	sink := logtest.NewStallingSink(t)
	w := zerologasync.ConsoleWriter(plainConsole(),
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(func(error) {}), // drop reports
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
	require.NoError(t, w.Close())

	// The notices are text, as suits console lines.
	entries, notices := logtest.SplitNotices(consoleLines(t, sink.Bytes()))
	kept := logtest.RequireSubsequence(t, logtest.Filter(entries, "level", "INF"), infos)
	errLines := logtest.Filter(entries, "level", "ERR")
	require.Len(t, errLines, errs)
	logtest.RequireSubsequence(t, errLines, errs)
	require.Len(t, entries, kept+errs)
	st := w.Stats()
	assert.EqualValues(t, infos-kept, st.DroppedRecords)
	assert.EqualValues(t, kept+errs, st.WrittenRecords)
	logtest.RequireNotices(t, notices, "dropped", st.DroppedRecords, st.DroppedBytes)
}

func TestConsoleWriterNoticesCanBeJSON(t *testing.T) {
	// core.WithNotices among the options overrides ConsoleWriter's text
	// notices.
	sink := logtest.NewStallingSink(t)
	w := zerologasync.ConsoleWriter(plainConsole(),
		core.WithSink(sink),
		core.WithBufferSize(1<<10),
		core.WithOverflow(core.Drop),
		core.WithErrorHandler(func(error) {}),
		core.WithNotices(core.JSONNotice),
	)
	logger := zerolog.New(w)
	logger.Info().Msg("first")
	sink.AwaitEntered(t)
	for w.Stats().DroppedRecords == 0 {
		logger.Info().Str("pad", logtest.Padding).Msg("info")
	}
	sink.Release()
	require.NoError(t, w.Close())

	// The JSON lines are the notices; the others, console lines, the
	// events.
	var notices, events []byte
	for line := range bytes.Lines(sink.Bytes()) {
		if bytes.HasPrefix(line, []byte("{")) {
			notices = append(notices, line...)
		} else {
			events = append(events, line...)
		}
	}
	entries, textNotices := logtest.SplitNotices(consoleLines(t, events))
	assert.Empty(t, textNotices)
	assert.EqualValues(t, w.Stats().WrittenRecords, len(entries))
	logtest.RequireNotices(t, logtest.Lines(t, notices), "dropped", w.Stats().DroppedRecords, w.Stats().DroppedBytes)
}

func TestConsoleWriterErrors(t *testing.T) {
	var sink bytes.Buffer
	w := zerologasync.ConsoleWriter(plainConsole(), core.WithSink(&sink))

	// Not an event: the ConsoleWriter's error, and nothing written.
	_, err := w.Write([]byte("not JSON\n"))
	require.ErrorContains(t, err, "cannot decode event")
	_, err = w.WriteLevel(zerolog.FatalLevel, []byte("{\n"))
	require.ErrorContains(t, err, "cannot decode event")

	require.NoError(t, w.Close())
	_, err = w.WriteLevel(zerolog.ErrorLevel, []byte(`{"message":"late"}`+"\n"))
	require.ErrorIs(t, err, core.ErrClosed)
	assert.Zero(t, sink.Len())
	assert.Zero(t, w.Stats().Records)
}

// childConsoleLogger opens the log file of a child process and returns a
// console logger that would hold the events after the first for an hour,
// as long as they fill less than half a buffer: a sync or Close brings them
// to the file.
func childConsoleLogger(t *testing.T, path string) zerolog.Logger {
	f, err := os.Create(path)
	require.NoError(t, err)
	return zerolog.New(zerologasync.ConsoleWriter(plainConsole(), core.WithSink(f), core.WithFlushInterval(time.Hour)))
}

// Ten thousand events from four goroutines before the last one.
const childGoroutines, childPerGoroutine = 4, 2500

func requireConsoleBurstThen(t *testing.T, path, level, last string) {
	lines := readConsoleLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, level, end["level"])
	assert.Equal(t, last, end["message"])
	logtest.RequireAll(t, lines[:len(lines)-1], childGoroutines, childPerGoroutine)
}

func TestConsoleWriterFatalFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childConsoleLogger(t, path)
		logtest.Burst(childGoroutines, childPerGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Fatal().Msg("fatal")
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestConsoleWriterFatalFlushes", path)
	require.Equal(t, 1, code, stderr)
	requireConsoleBurstThen(t, path, "FTL", "fatal")
}

func TestConsoleWriterPanicInGoroutineFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childConsoleLogger(t, path)
		logtest.Burst(childGoroutines, childPerGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		go logger.Panic().Msg("panic")
		select {}
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestConsoleWriterPanicInGoroutineFlushes", path)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "panic: panic")
	requireConsoleBurstThen(t, path, "PNC", "panic")
}
