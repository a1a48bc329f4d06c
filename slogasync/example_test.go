package slogasync_test

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/slogasync"
)

// noTime removes the time from records, so that the examples' output is
// the same every time.
func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func Example() {
	// In a service the sink is a file: core.WithSink(f).
	w := slogasync.New(core.WithSink(os.Stdout))
	defer w.Close() // flushes what is buffered
	logger := slog.New(w.JSONHandler(&slog.HandlerOptions{ReplaceAttr: noTime}))

	logger.Info("request handled", "path", "/", "status", 200)
	logger.With("component", "db").WithGroup("query").Warn("slow", "ms", 1200)
	_ = w.Sync()
	// Output:
	// {"level":"INFO","msg":"request handled","path":"/","status":200}
	// {"level":"WARN","msg":"slow","component":"db","query":{"ms":1200}}
}

func ExampleWriter_Handler() {
	w := slogasync.New(core.WithSink(os.Stdout))
	defer w.Close()
	// Any handler that writes each record to the io.Writer it is given.
	h := w.Handler(func(out io.Writer) slog.Handler {
		return slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})
	})
	logger := slog.New(h)

	logger.Debug("cache miss", "key", "user:42")
	_ = w.Sync()
	// Output:
	// level=DEBUG msg="cache miss" key=user:42
}

func ExampleWriter_settings() {
	w := slogasync.New(core.WithSink(os.Stdout), core.WithOverflow(core.Drop))
	defer w.Close()
	// Settings go before the first record.
	w.NoDropLevel = slog.LevelWarn // never drop Warn and above
	w.SyncLevel = slog.LevelError  // sync Error and above before Handle returns
	logger := slog.New(w.JSONHandler(&slog.HandlerOptions{ReplaceAttr: noTime}))

	logger.Error("synced before Error returns")
	// Output:
	// {"level":"ERROR","msg":"synced before Error returns"}
}

// slog has no Fatal: log at the SyncLevel, slog.LevelError+4 by default,
// before os.Exit, and the record and everything before it are in the sink.
func ExampleWriter_SyncLevel() {
	w := slogasync.New(core.WithSink(os.Stdout))
	defer w.Close()
	logger := slog.New(w.JSONHandler(&slog.HandlerOptions{ReplaceAttr: noTime}))

	logger.Info("serving")
	logger.Log(context.Background(), w.SyncLevel, "cannot serve", "err", "address in use")
	// os.Exit(1) here would lose nothing.
	// Output:
	// {"level":"INFO","msg":"serving"}
	// {"level":"ERROR+4","msg":"cannot serve","err":"address in use"}
}
