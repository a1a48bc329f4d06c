package zapasync_test

import (
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/zapasync"
)

// exampleEncoder is zap's production JSON encoder without timestamps, so
// that the examples' output is the same every time.
func exampleEncoder() zapcore.Encoder {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = ""
	return zapcore.NewJSONEncoder(cfg)
}

func Example() {
	// In a service the sink is a file: core.WithSink(f).
	ws := zapasync.New(core.WithSink(os.Stdout))
	defer ws.Close() // flushes what is buffered
	logger := zap.New(zapcore.NewCore(exampleEncoder(), ws, zap.InfoLevel))

	logger.Info("request handled", zap.String("path", "/"), zap.Int("status", 200))
	_ = logger.Sync()
	// Output:
	// {"level":"info","msg":"request handled","path":"/","status":200}
}

func ExampleNewCore() {
	// Under Drop, Info entries that find the buffers full are dropped, but
	// entries at or above NoDropLevel wait for room.
	ws := zapasync.New(core.WithSink(os.Stdout), core.WithOverflow(core.Drop))
	defer ws.Close()
	ws.NoDropLevel = zapcore.WarnLevel // before the first entry
	logger := zap.New(zapasync.NewCore(exampleEncoder(), ws, zap.InfoLevel))

	logger.Warn("disk almost full", zap.Int("percent", 95))
	_ = logger.Sync()
	// Output:
	// {"level":"warn","msg":"disk almost full","percent":95}
}

// The sink can be a lumberjack.Logger, which rotates the file. The core
// calls it from its own goroutine (or, under core.Block with both buffers
// full, from a caller that would otherwise wait), so rotation happens off
// the path of the goroutines that log. lumberjack refuses a write longer
// than MaxSize: core.WithMaxWriteSize keeps the core's writes within it.
func Example_lumberjack() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	rotator := &lumberjack.Logger{
		Filename: filepath.Join(dir, "app.log"),
		MaxSize:  100, // megabytes
	}
	defer rotator.Close()
	ws := zapasync.New(core.WithSink(rotator), core.WithMaxWriteSize(rotator.MaxSize<<20))
	logger := zap.New(zapcore.NewCore(exampleEncoder(), ws, zap.InfoLevel))

	logger.Info("rotated when large")
	if err := ws.Close(); err != nil {
		panic(err)
	}

	data, err := os.ReadFile(rotator.Filename)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(data))
	// Output:
	// {"level":"info","msg":"rotated when large"}
}
