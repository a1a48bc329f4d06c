package zapasync_test

// The asynclog scheme is registered once for the test binary, by the
// init function of example_sink_test.go.

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/zapasync"
)

// fileURL returns the asynclog URL of an absolute path.
func fileURL(path string) string {
	u := url.URL{Scheme: zapasync.Scheme, Path: filepath.ToSlash(path)}
	if runtime.GOOS == "windows" {
		u.Path = "/" + u.Path
	}
	return u.String()
}

// jsonConfig is zap's production config, writing to the given output
// paths, without stack traces and without sampling, which would drop most
// of the tests' entries.
func jsonConfig(paths ...string) zap.Config {
	cfg := zap.NewProductionConfig()
	cfg.OutputPaths = paths
	cfg.DisableStacktrace = true
	cfg.Sampling = nil
	return cfg
}

func TestRegisterSinkTwice(t *testing.T) {
	err := zapasync.RegisterSink()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zapasync: registering the asynclog scheme")
	assert.Contains(t, err.Error(), "already registered")
}

func TestConfigBuild(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	path := filepath.Join(t.TempDir(), "app.log")
	logger, err := jsonConfig(fileURL(path) + "?buffer=4KiB").Build()
	require.NoError(t, err)
	defer zapasync.CloseSinks()
	logger = logger.With(zap.String("svc", "test"))

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
	require.NoError(t, logger.Sync())

	lines := logtest.ReadLines(t, path)
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.Equal(t, "entry", line["msg"])
		require.Equal(t, "test", line["svc"])
	}
}

func TestSinkURLs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("logs", 0o755))
	for _, tc := range []struct{ url, file string }{
		{fileURL(filepath.Join(dir, "abs.log")), "abs.log"},
		{"asynclog://localhost" + strings.TrimPrefix(fileURL(filepath.Join(dir, "host.log")), "asynclog://"), "host.log"},
		{"asynclog:rel.log", "rel.log"},
		{"asynclog:logs/sub.log", filepath.Join("logs", "sub.log")},
		{"asynclog:my%20app%3F.log", "my app?.log"},
		{"asynclog:q.log?buffer=1MiB&flush=50ms&overflow=drop", "q.log"},
		{"asynclog:b.log?buffer=65536&overflow=block", "b.log"},
		{"asynclog:m.log?maxwrite=4KiB", "m.log"},
		{"asynclog:s.log?spool=s%20log%2B.spool&buffer=64KiB", "s.log"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			ws, closeAll, err := zap.Open(tc.url)
			require.NoError(t, err)
			logger := zap.New(zapcore.NewCore(encoder(), ws, zap.InfoLevel))
			logger.Info("entry")
			closeAll() // flushes, then closes the file

			lines := logtest.ReadLines(t, filepath.Join(dir, tc.file))
			require.Len(t, lines, 1)
			assert.Equal(t, "entry", lines[0]["msg"])
		})
	}
	// The spool, of two 64 KiB buffers and a header page.
	info, err := os.Stat(filepath.Join(dir, "s log+.spool"))
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(128<<10))
}

func TestSinkURLErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, err string }{
		{"asynclog://app.log", `host "app.log" is not allowed: a relative path is asynclog:app.log, an absolute one asynclog:///app.log`},
		{"asynclog:", "no path"},
		{"asynclog://", "no path"},
		{"asynclog://localhost:8080/x.log", "a port is not allowed"},
		{"asynclog://me@localhost/x.log", "a user is not allowed"},
		{"asynclog:x.log#frag", "a fragment is not allowed"},
		{"asynclog:x.log?buffer=big", "buffer=big: want a whole number"},
		{"asynclog:x.log?buffer=0", "buffer=0: want a whole number"},
		{"asynclog:x.log?buffer=-1KiB", "buffer=-1KiB: want a whole number"},
		{"asynclog:x.log?buffer=1.5MiB", "buffer=1.5MiB: want a whole number"},
		{"asynclog:x.log?buffer=99999999999GiB", "buffer=99999999999GiB: too large"},
		{"asynclog:x.log?flush=soon", `flush=soon: time: invalid duration "soon"`},
		{"asynclog:x.log?flush=0s", "flush=0s: not above zero"},
		{"asynclog:x.log?overflow=maybe", "overflow=maybe: want block or drop"},
		{"asynclog:x.log?maxwrite=0", "maxwrite=0: want a whole number"},
		{"asynclog:x.log?maxwrite=1MB", "maxwrite=1MB: want a whole number"},
		{"asynclog:x.log?spool=", "spool=: want a file path"},
		{"asynclog:x.log?spool", "spool=: want a file path"},
		{"asynclog:x.log?spool=a&spool=b", "parameter spool given 2 times"},
		{"asynclog:x.log?spool=%zz", "invalid URL escape"},
		{"asynclog:x.log?colour=on", `unknown parameter "colour": want buffer, flush, overflow, maxwrite or spool`},
		{"asynclog:x.log?buffer=1MiB&buffer=2MiB", "parameter buffer given 2 times"},
		{"asynclog:x.log?buffer=%zz", "invalid URL escape"},
		{fileURL(filepath.Join(dir, "missing", "x.log")), "no such file or directory"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, _, err := zap.Open(tc.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			if !strings.Contains(tc.err, "no such file") {
				assert.Contains(t, err.Error(), "zapasync: ")
			}
		})
	}
	_, err := os.Stat(filepath.Join(dir, "x.log"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a bad URL created a file")
}

func TestSinkStandardStreamsStayOpen(t *testing.T) {
	for _, u := range []string{"asynclog:stdout", "asynclog:stderr"} {
		_, closeAll, err := zap.Open(u)
		require.NoError(t, err)
		closeAll()
	}
	_, err := os.Stdout.Stat()
	require.NoError(t, err, "os.Stdout was closed")
	_, err = os.Stderr.Stat()
	require.NoError(t, err, "os.Stderr was closed")
}

func TestCloseSinks(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a.log", "b.log"}
	var loggers []*zap.Logger
	for _, name := range names {
		// flush=1h: after the first entry, which the core writes at
		// once, only a sync or a close brings entries to the file.
		logger, err := jsonConfig(fileURL(filepath.Join(dir, name)) + "?flush=1h").Build()
		require.NoError(t, err)
		loggers = append(loggers, logger)
	}
	for i, logger := range loggers {
		logger.Info("first")
		path := filepath.Join(dir, names[i])
		logtest.Eventually(t, "the first entry is in "+names[i], func() bool {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			return bytes.HasSuffix(data, []byte("\n"))
		})
		logger.Info("held")
	}
	for _, name := range names {
		lines := logtest.ReadLines(t, filepath.Join(dir, name))
		require.Len(t, lines, 1, "%s: flushed before CloseSinks", name)
		assert.Equal(t, "first", lines[0]["msg"])
	}

	require.NoError(t, zapasync.CloseSinks())
	require.NoError(t, zapasync.CloseSinks()) // nothing left to close

	for _, name := range names {
		lines := logtest.ReadLines(t, filepath.Join(dir, name))
		require.Len(t, lines, 2, name)
		assert.Equal(t, "held", lines[1]["msg"])
	}
}

// Ten thousand entries from four goroutines before the last one.
const childGoroutines, childPerGoroutine = 4, 2500

// childConfigLogger builds, from a zap.Config, a logger whose sink would
// hold the entries after the first for an hour, as long as they fill less
// than half a buffer: a sync brings them to the file.
func childConfigLogger(t *testing.T, path string) *zap.Logger {
	logger, err := jsonConfig(fileURL(path) + "?flush=1h").Build()
	require.NoError(t, err)
	return logger
}

func requireConfigBurstThen(t *testing.T, path, level, last string) {
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	end := lines[len(lines)-1]
	assert.Equal(t, level, end["level"])
	assert.Equal(t, last, end["msg"])
	logtest.RequireAll(t, lines[:len(lines)-1], childGoroutines, childPerGoroutine)
}

func TestConfigBuildSyncThenExit(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childConfigLogger(t, path)
		logtest.Burst(childGoroutines, childPerGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Warn("last")
		if err := logger.Sync(); err != nil {
			os.Exit(4)
		}
		os.Exit(3)
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestConfigBuildSyncThenExit", path)
	require.Equal(t, 3, code, stderr)
	requireConfigBurstThen(t, path, "warn", "last")
}

func TestConfigBuildFatalFlushes(t *testing.T) {
	if path := logtest.ChildLog(); path != "" {
		logger := childConfigLogger(t, path)
		logtest.Burst(childGoroutines, childPerGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		logger.Fatal("fatal")
		return
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestConfigBuildFatalFlushes", path)
	require.Equal(t, 1, code, stderr)
	requireConfigBurstThen(t, path, "fatal", "fatal")
}

// spoolURL returns the URL of the log file at path, with a spool beside it
// and an hour's flush interval.
func spoolURL(path string) string {
	spool := strings.ReplaceAll(url.PathEscape(filepath.ToSlash(path+".spool")), "&", "%26")
	return fileURL(path) + "?flush=1h&buffer=1MiB&spool=" + spool
}

func TestSpoolRecoversEntriesOfDeadProcess(t *testing.T) {
	const goroutines, perGoroutine = 4, 100
	if path := logtest.ChildLog(); path != "" {
		ws, _, err := zap.Open(spoolURL(path))
		require.NoError(t, err)
		logger := zap.New(zapcore.NewCore(encoder(), ws, zap.InfoLevel))
		// The core writes the first entry at once; the others stay in
		// the spool's buffer, which they fill to less than half.
		logger.Info("first")
		logtest.Eventually(t, "the first entry is in the file", func() bool {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			return bytes.HasSuffix(data, []byte("\n"))
		})
		logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		os.Exit(3) // no Sync: the burst is lost, but for the spool
	}
	path := filepath.Join(t.TempDir(), "app.log")
	code, stderr := logtest.RunChild(t, "TestSpoolRecoversEntriesOfDeadProcess", path)
	require.Equal(t, 3, code, stderr)
	lines := logtest.ReadLines(t, path)
	require.Len(t, lines, 1, "the burst reached the file without a sync")
	assert.Equal(t, "first", lines[0]["msg"])

	// Opening the sink again writes what the dead process left, after a
	// notice, before the first entry of this one.
	ws, closeAll, err := zap.Open(spoolURL(path))
	require.NoError(t, err)
	logger := zap.New(zapcore.NewCore(encoder(), ws, zap.InfoLevel))
	logger.Info("again")
	closeAll()

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines = logtest.Lines(t, data)
	require.Len(t, lines, 1+1+goroutines*perGoroutine+1)
	assert.Equal(t, "first", lines[0]["msg"])
	raw := bytes.SplitAfter(data, []byte("\n"))
	recoveredBytes := len(bytes.Join(raw[2:len(lines)-1], nil))
	logtest.RequireNotices(t, lines[1:2], "recovered", goroutines*perGoroutine, uint64(recoveredBytes))
	logtest.RequireAll(t, lines[2:len(lines)-1], goroutines, perGoroutine)
	assert.Equal(t, "again", lines[len(lines)-1]["msg"])
}
