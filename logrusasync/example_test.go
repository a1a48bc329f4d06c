package logrusasync_test

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/logrusasync"
)

func Example() {
	logger := logrus.New()
	logger.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})

	// In a service the sink is a file: core.WithSink(f).
	hook := logrusasync.NewHook(core.WithSink(os.Stdout))
	defer hook.Close() // flushes what is buffered
	hook.Install(logger)

	logger.WithField("status", 200).Info("request handled")
	_ = hook.Sync()
	// Output:
	// {"level":"info","msg":"request handled","status":200}
}

func ExampleHook_settings() {
	logger := logrus.New()

	hook := logrusasync.NewHook(core.WithSink(os.Stdout), core.WithOverflow(core.Drop))
	defer hook.Close()
	// Settings go before Install.
	hook.FireLevels = []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
	hook.Formatter = &logrus.TextFormatter{DisableTimestamp: true}
	hook.NoDropLevel = logrus.WarnLevel // never drop Warn and above
	hook.SyncLevel = logrus.ErrorLevel  // sync Error and above before returning
	hook.Install(logger)

	logger.Info("not fired")
	logger.Error("synced before Error returns")
	// Output:
	// level=error msg="synced before Error returns"
}

func ExampleNewWriter() {
	logger := logrus.New()
	logger.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})

	// In a service the sink is a file: core.WithSink(f).
	w := logrusasync.NewWriter(core.WithSink(os.Stdout))
	defer w.Close()     // flushes what is buffered
	logger.SetOutput(w) // logger.Fatal and logrus.Exit sync it

	logger.WithField("status", 200).Info("request handled")
	_ = w.Sync()
	// Output:
	// {"level":"info","msg":"request handled","status":200}
}

func ExampleInstalledFormatter() {
	logger := logrus.New()
	logger.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})
	hook := logrusasync.NewHook(core.WithSink(os.Stdout))
	defer hook.Close()
	hook.Install(logger)

	// logger.Formatter is now the InstalledFormatter; the formatter in
	// use is behind it.
	f := logger.Formatter
	if inst, ok := f.(*logrusasync.InstalledFormatter); ok {
		f = inst.Formatter()
	}
	_, isJSON := f.(*logrus.JSONFormatter)
	fmt.Println("JSON:", isJSON)
	// Output:
	// JSON: true
}

// On a terminal, logrus's TextFormatter colours its output; FormatterOut
// lets it see the sink to decide, as it would writing there itself.
func ExampleHook_terminal() {
	hook := logrusasync.NewHook(core.WithSink(os.Stderr))
	defer hook.Close()
	hook.FormatterOut = os.Stderr // the sink: coloured if it is a terminal
	hook.Install(logrus.StandardLogger())

	logrus.Info("coloured on a terminal")
}
