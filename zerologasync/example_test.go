package zerologasync_test

import (
	"os"

	"github.com/rs/zerolog"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/zerologasync"
)

func Example() {
	// In a service the sink is a file: core.WithSink(f).
	w := zerologasync.Writer(core.WithSink(os.Stdout))
	defer w.Close() // flushes what is buffered
	logger := zerolog.New(w)

	logger.Info().Str("path", "/").Int("status", 200).Msg("request handled")
	_ = w.Sync()
	// Output:
	// {"level":"info","path":"/","status":200,"message":"request handled"}
}

func ExampleLevelWriter_settings() {
	w := zerologasync.Writer(core.WithSink(os.Stdout), core.WithOverflow(core.Drop))
	defer w.Close()
	// Settings go before the first event.
	w.NoDropLevel = zerolog.WarnLevel // never drop Warn and above
	w.SyncLevel = zerolog.ErrorLevel  // sync Error and above before returning
	logger := zerolog.New(w)

	logger.Error().Msg("synced before Msg returns")
	// Output:
	// {"level":"error","message":"synced before Msg returns"}
}

func ExampleConsoleWriter() {
	// Human-friendly lines, formatted by zerolog's ConsoleWriter, written
	// through the core: Fatal and Panic still sync, Error is never dropped.
	w := zerologasync.ConsoleWriter(zerolog.ConsoleWriter{
		Out:          os.Stdout, // or core.WithSink(f) among the options
		NoColor:      true,
		PartsExclude: []string{zerolog.TimestampFieldName}, // the same output every time
	})
	defer w.Close()
	logger := zerolog.New(w)

	logger.Warn().Str("path", "/").Int("status", 503).Msg("upstream down")
	_ = w.Sync()
	// Output:
	// WRN upstream down path=/ status=503
}
