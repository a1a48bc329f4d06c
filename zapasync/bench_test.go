package zapasync_test

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/zapasync"
)

// BenchmarkLogger logs an entry with six fields with zap, in JSON, to a
// file: straight (out=file, through zapcore.Lock as zap.Open does) and
// through zapasync (out=async). Each run ends with logger.Sync, inside the
// timing, so that both count getting every entry into the file.
func BenchmarkLogger(b *testing.B) {
	for _, mode := range logtest.Modes {
		for _, out := range []string{"file", "async"} {
			b.Run("mode="+mode+"/out="+out, func(b *testing.B) {
				f := createFile(b)
				var ws zapcore.WriteSyncer = zapcore.Lock(f)
				if out == "async" {
					async := zapasync.New(core.WithSink(f))
					defer async.Close()
					ws = async
				}
				logger := zap.New(zapcore.NewCore(encoder(), ws, zap.InfoLevel))
				logtest.Loop(b, mode, func() {
					logger.Info("request handled",
						zap.String("method", "GET"),
						zap.String("path", "/api/v1/users/42"),
						zap.Int("status", 200),
						zap.Int64("bytes", 5120),
						zap.Duration("latency", 1234*time.Microsecond),
						zap.String("request_id", "7f3c9a2e-5b1d-4c8e-9f6a-2d4b8e1c0a7f"),
					)
				})
				if err := logger.Sync(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
