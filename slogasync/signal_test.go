//go:build unix

package slogasync_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/slogasync"
)

func TestHandleSignalsSyncsBeforeSIGTERM(t *testing.T) {
	const goroutines, perGoroutine = 4, 25
	if path := logtest.ChildLog(); path != "" {
		core.HandleSignals()
		f, err := os.Create(path)
		require.NoError(t, err)
		w := slogasync.New(core.WithSink(f), core.WithFlushInterval(time.Hour))
		logger := slog.New(w.JSONHandler(nil))
		// The core writes the first record at once; the others, a
		// fraction of a buffer, wait an hour for the flush interval.
		logger.Info("first")
		logtest.Eventually(t, "the first record is in the file", func() bool {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			return bytes.HasSuffix(data, []byte("\n"))
		})
		logtest.Burst(goroutines, perGoroutine, func(g, seq int) { logEntry(logger, g, seq) })
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
		select {}
	}
	path := filepath.Join(t.TempDir(), "log")
	code, stderr := logtest.RunChild(t, "TestHandleSignalsSyncsBeforeSIGTERM", path)
	// Killed by the signal, as without the handler.
	require.Equal(t, -1, code, stderr)
	lines := logtest.ReadLines(t, path)
	require.NotEmpty(t, lines)
	assert.Equal(t, "first", lines[0]["msg"])
	logtest.RequireAll(t, lines[1:], goroutines, perGoroutine)
}

func TestSyncAllSyncsEveryWriter(t *testing.T) {
	var sinks []*logtest.RecordingSink
	var loggers []*slog.Logger
	for range 2 {
		sink := logtest.NewRecordingSink()
		w := slogasync.New(core.WithSink(sink), core.WithFlushInterval(time.Hour))
		defer w.Close()
		sinks = append(sinks, sink)
		loggers = append(loggers, slog.New(w.JSONHandler(nil)))
	}
	for i, logger := range loggers {
		// The core writes the first record at once; the next waits an
		// hour for the flush interval.
		logger.Info("first")
		sinks[i].AwaitWrites(t, 1)
		logger.Log(context.Background(), slog.LevelError, "held")
		require.Len(t, logtest.Lines(t, sinks[i].Bytes()), 1)
	}

	require.NoError(t, core.SyncAll())

	for _, sink := range sinks {
		sink.RequireSyncedLast(t)
		lines := logtest.Lines(t, sink.Bytes())
		require.Len(t, lines, 2)
		assert.Equal(t, "held", lines[1]["msg"])
	}
}
