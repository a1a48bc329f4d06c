package logrusasync_test

import (
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
	"github.com/asynclog/asynclog/logrusasync"
)

// BenchmarkLogger logs an entry with six fields with logrus, in JSON, to
// a file: straight (out=file, logger.Out, written under logrus's lock) and
// through a Hook installed with Install (out=async). Each run ends with a
// Sync of the file or the hook, inside the timing, so that both count
// getting every entry into the file.
func BenchmarkLogger(b *testing.B) {
	for _, mode := range logtest.Modes {
		for _, out := range []string{"file", "async"} {
			b.Run("mode="+mode+"/out="+out, func(b *testing.B) {
				f := createFile(b)
				logger := logrus.New()
				logger.SetFormatter(new(logrus.JSONFormatter))
				logger.SetOutput(f)
				sync := f.Sync
				if out == "async" {
					hook := logrusasync.NewHook(core.WithSink(f))
					defer hook.Close()
					hook.Install(logger)
					sync = hook.Sync
				}
				logtest.Loop(b, mode, func() {
					logger.WithFields(logrus.Fields{
						"method":     "GET",
						"path":       "/api/v1/users/42",
						"status":     200,
						"bytes":      5120,
						"latency":    1234 * time.Microsecond,
						"request_id": "7f3c9a2e-5b1d-4c8e-9f6a-2d4b8e1c0a7f",
					}).Info("request handled")
				})
				if err := sync(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
