package logrusasync_test

import (
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/logrusasync"
)

func TestInstallTwiceFiresOnce(t *testing.T) {
	const goroutines, perGoroutine = 4, 500
	f := createFile(t)
	hook := logrusasync.NewHook(core.WithSink(f))
	logger := newLogger(nil)
	formatter := new(countingFormatter)
	logger.SetFormatter(formatter)

	// Installed again and again, from several goroutines at once, and
	// while entries are logged.
	hook.Install(logger)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { hook.Install(logger) })
	}
	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
	wg.Wait()
	hook.Install(logger)
	require.NoError(t, hook.Close())

	logtest.RequireAll(t, logtest.ReadLines(t, f.Name()), goroutines, perGoroutine)
	assert.EqualValues(t, goroutines*perGoroutine, formatter.n.Load(), "entries formatted")
	inst, ok := logger.Formatter.(*logrusasync.InstalledFormatter)
	require.True(t, ok, "logger.Formatter is %T", logger.Formatter)
	assert.Same(t, formatter, inst.Formatter())
}

func TestInstalledFormatter(t *testing.T) {
	logger := newLogger(nil)
	json := &logrus.JSONFormatter{DisableTimestamp: true}
	logger.SetFormatter(json)
	hook := logrusasync.NewHook(core.WithSink(createFile(t)))
	defer hook.Close()
	hook.Install(logger)

	// Code that type-asserts logger.Formatter finds the replacement, and
	// the formatter in use behind it.
	_, isJSON := logger.Formatter.(*logrus.JSONFormatter)
	assert.False(t, isJSON)
	inst, ok := logger.Formatter.(*logrusasync.InstalledFormatter)
	require.True(t, ok, "logger.Formatter is %T", logger.Formatter)
	assert.Same(t, json, inst.Formatter())
	p, err := inst.Format(logrus.NewEntry(logger))
	require.NoError(t, err)
	assert.Empty(t, p)
}

func TestSetFormatterAfterInstall(t *testing.T) {
	f := createFile(t)
	hook := logrusasync.NewHook(core.WithSink(f))
	logger := newLogger(nil)
	logger.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})
	hook.Install(logger)
	var text logrus.Formatter = &logrus.TextFormatter{DisableTimestamp: true, DisableColors: true}

	logger.Info("before")
	logger.SetFormatter(text)
	logger.Info("lag") // logrus writes this one with text, and so shows the change
	logger.Info("after")
	require.NoError(t, hook.Close())

	data := readFile(t, f.Name())
	assert.Equal(t, `{"level":"info","msg":"before"}`+"\n"+
		`{"level":"info","msg":"lag"}`+"\n"+
		"level=info msg=after\n", data)
	inst, ok := logger.Formatter.(*logrusasync.InstalledFormatter)
	require.True(t, ok, "logger.Formatter is %T", logger.Formatter)
	assert.Same(t, text, inst.Formatter())
}

func TestSetFormatterWhileLogging(t *testing.T) {
	const goroutines, perGoroutine = 4, 1000
	f := createFile(t)
	hook := logrusasync.NewHook(core.WithSink(f), core.WithBufferSize(8<<10))
	logger := newLogger(nil)
	hook.Install(logger)
	// Two JSON formats, told apart by the name of the message field.
	formats := []logrus.Formatter{
		new(logrus.JSONFormatter),
		&logrus.JSONFormatter{FieldMap: logrus.FieldMap{logrus.FieldKeyMsg: "message"}},
	}

	done := make(chan struct{})
	var switches sync.WaitGroup
	switches.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			logger.SetFormatter(formats[i%2])
			runtime.Gosched()
		}
	})
	logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
	close(done)
	switches.Wait()
	logger.Info("last") // shows the last change, if the burst did not
	require.NoError(t, hook.Close())

	lines := logtest.ReadLines(t, f.Name())
	require.NotEmpty(t, lines)
	logtest.RequireAll(t, lines[:len(lines)-1], goroutines, perGoroutine)
	for _, line := range lines {
		_, msg := line["msg"]
		_, message := line["message"]
		require.True(t, msg != message, "one message field in %v", line)
	}
	_, ok := logger.Formatter.(*logrusasync.InstalledFormatter)
	assert.True(t, ok, "the InstalledFormatter is back: logger.Formatter is %T", logger.Formatter)
}

func TestInstallAfterSetOutput(t *testing.T) {
	// Installed, given another output, then another hook: the second
	// hook formats with the logger's formatter, not with nothing.
	logger := newLogger(nil)
	first := logrusasync.NewHook(core.WithSink(createFile(t)))
	defer first.Close()
	first.Install(logger)
	logger.SetOutput(new(countingWriter))
	f := createFile(t)
	second := logrusasync.NewHook(core.WithSink(f))
	second.Install(logger)

	logger.Info("entry")
	require.NoError(t, second.Close())
	lines := logtest.ReadLines(t, f.Name())
	require.Len(t, lines, 1)
	assert.Equal(t, "entry", lines[0]["msg"])
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}
