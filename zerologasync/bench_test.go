package zerologasync_test

import (
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/zerologasync"
)

// syncer is what both outputs of BenchmarkLogger can do at the end.
type syncer interface {
	io.Writer
	Sync() error
}

// BenchmarkLogger logs an event with six fields with zerolog to a file:
// straight (out=file, an *os.File, which zerolog writes without a lock)
// and through zerologasync (out=async). Each run ends with a Sync of the
// output, inside the timing, so that both count getting every event into
// the file.
func BenchmarkLogger(b *testing.B) {
	for _, mode := range logtest.Modes {
		for _, out := range []string{"file", "async"} {
			b.Run("mode="+mode+"/out="+out, func(b *testing.B) {
				var w syncer = createFile(b)
				if out == "async" {
					async := zerologasync.Writer(core.WithSink(w))
					defer async.Close()
					w = async
				}
				logger := zerolog.New(w).With().Timestamp().Logger()
				logtest.Loop(b, mode, func() {
					logger.Info().
						Str("method", "GET").
						Str("path", "/api/v1/users/42").
						Int("status", 200).
						Int64("bytes", 5120).
						Dur("latency", 1234*time.Microsecond).
						Str("request_id", "7f3c9a2e-5b1d-4c8e-9f6a-2d4b8e1c0a7f").
						Msg("request handled")
				})
				if err := w.Sync(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkConsole logs an event with six fields through zerolog's
// ConsoleWriter to a file: straight (out=file, ConsoleWriter{Out: f}, as
// zerolog documents it) and through zerologasync.ConsoleWriter
// (out=async), with -benchmem the cost of formatting a line.
func BenchmarkConsole(b *testing.B) {
	for _, mode := range logtest.Modes {
		for _, out := range []string{"file", "async"} {
			b.Run("mode="+mode+"/out="+out, func(b *testing.B) {
				f := createFile(b)
				cw := zerolog.ConsoleWriter{Out: f, NoColor: true}
				var w syncer = f
				var logger zerolog.Logger
				if out == "async" {
					async := zerologasync.ConsoleWriter(cw)
					defer async.Close()
					w = async
					logger = zerolog.New(async)
				} else {
					logger = zerolog.New(cw)
				}
				logger = logger.With().Timestamp().Logger()
				logtest.Loop(b, mode, func() {
					logger.Info().
						Str("method", "GET").
						Str("path", "/api/v1/users/42").
						Int("status", 200).
						Int64("bytes", 5120).
						Dur("latency", 1234*time.Microsecond).
						Str("request_id", "7f3c9a2e-5b1d-4c8e-9f6a-2d4b8e1c0a7f").
						Msg("request handled")
				})
				if err := w.Sync(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
