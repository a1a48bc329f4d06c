package zapasync_test

import (
	"time"

	"go.uber.org/zap"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/zapasync"
)

func init() {
	// Once per process, before building loggers. The options are the
	// defaults of every asynclog sink; URLs override them.
	if err := zapasync.RegisterSink(core.WithFlushInterval(200 * time.Millisecond)); err != nil {
		panic(err)
	}
}

func ExampleRegisterSink() {
	cfg := zap.NewProductionConfig()
	// In a service: "asynclog:///var/log/app.log", or with settings,
	// "asynclog:///var/log/app.log?buffer=1MiB&overflow=drop".
	cfg.OutputPaths = []string{"asynclog:stdout"}
	cfg.EncoderConfig.TimeKey = "" // the same output every time
	cfg.DisableCaller = true
	logger, err := cfg.Build()
	if err != nil {
		panic(err)
	}
	defer zapasync.CloseSinks() // flushes and closes the sinks the scheme opened

	logger.Info("request handled", zap.String("path", "/"), zap.Int("status", 200))
	_ = logger.Sync() // flushes and syncs; zap also syncs before Fatal and Panic
	// Output:
	// {"level":"info","msg":"request handled","path":"/","status":200}
}
