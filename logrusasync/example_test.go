package logrusasync_test

import (
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
