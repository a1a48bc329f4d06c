package slogasync_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/slogasync"
)

// BenchmarkHandler logs a record with six attributes, with LogAttrs, in
// JSON, to a file through the core: with slog.NewJSONHandler over a
// core.Writer (out=core, one handler mutex around every Write) and with
// slogasync's JSONHandler (out=async, pooled handlers). Each run ends
// with a Sync, inside the timing, so that both count getting every record
// into the file.
func BenchmarkHandler(b *testing.B) {
	ctx := context.Background()
	for _, mode := range logtest.Modes {
		for _, out := range []string{"core", "async"} {
			b.Run("mode="+mode+"/out="+out, func(b *testing.B) {
				f := createFile(b)
				var h slog.Handler
				var sync func() error
				if out == "async" {
					w := slogasync.New(core.WithSink(f))
					defer w.Close()
					h, sync = w.JSONHandler(nil), w.Sync
				} else {
					w := core.New(core.WithSink(f))
					defer w.Close()
					h, sync = slog.NewJSONHandler(w, nil), w.Sync
				}
				logger := slog.New(h).With("svc", "api")
				logtest.Loop(b, mode, func() {
					logger.LogAttrs(ctx, slog.LevelInfo, "request handled",
						slog.String("method", "GET"),
						slog.String("path", "/api/v1/users/42"),
						slog.Int("status", 200),
						slog.Int64("bytes", 5120),
						slog.Duration("latency", 1234*time.Microsecond),
						slog.String("request_id", "7f3c9a2e-5b1d-4c8e-9f6a-2d4b8e1c0a7f"),
					)
				})
				if err := sync(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkHandle measures Handle alone, on a record made once, with
// -benchmem the allocations of the handler itself: slog.Record keeps five
// attributes inline and allocates for more, in the caller's LogAttrs.
func BenchmarkHandle(b *testing.B) {
	ctx := context.Background()
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	r.AddAttrs(
		slog.String("method", "GET"),
		slog.String("path", "/api/v1/users/42"),
		slog.Int("status", 200),
		slog.Duration("latency", 1234*time.Microsecond),
		slog.String("request_id", "7f3c9a2e-5b1d-4c8e-9f6a-2d4b8e1c0a7f"),
	)
	for _, mode := range logtest.Modes {
		b.Run("mode="+mode, func(b *testing.B) {
			w := slogasync.New(core.WithSink(createFile(b)))
			defer w.Close()
			h := w.JSONHandler(nil).WithAttrs([]slog.Attr{slog.String("svc", "api")})
			logtest.Loop(b, mode, func() {
				if err := h.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			})
			if err := w.Sync(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
