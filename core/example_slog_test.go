package core_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
)

// A Writer is an io.Writer, which is all a log/slog handler needs: each
// record is one Write.
func Example_slog() {
	w := core.New(core.WithSink(os.Stdout)) // in a service: core.WithSink(f)
	defer w.Close()
	logger := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the same output every time
			}
			return a
		},
	}))

	logger.Info("request handled", "path", "/", "status", 200)
	_ = w.Sync()
	// Output:
	// {"level":"INFO","msg":"request handled","path":"/","status":200}
}

func TestSlogJSONHandler(t *testing.T) {
	const goroutines, perGoroutine = 8, 500
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	w := core.New(core.WithSink(f), core.WithBufferSize(4<<10))
	logger := slog.New(slog.NewJSONHandler(w, nil)).With("svc", "test")

	logtest.Burst(goroutines, perGoroutine, func(g, seq int) {
		logger.Info("entry", logtest.GoroutineKey, g, logtest.SeqKey, seq, "pad", logtest.Padding)
	})
	require.NoError(t, w.Close())

	lines := logtest.ReadLines(t, f.Name())
	logtest.RequireAll(t, lines, goroutines, perGoroutine)
	for _, line := range lines {
		require.Equal(t, "entry", line["msg"])
		require.Equal(t, "test", line["svc"])
	}
	require.EqualValues(t, goroutines*perGoroutine, w.Stats().WrittenRecords)
}
