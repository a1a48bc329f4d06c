// Package logrusasync gives logrus asynchronous output through the shared
// core of package core.
//
// logrus has no writer it tells levels to, but it calls its hooks, in the
// caller's goroutine, with every entry. NewHook returns a Hook whose Fire
// formats the entry and copies the bytes into one of the core's two
// buffers; the core's goroutine hands full buffers to the sink. Install
// makes the hook a logger's only output:
//
//	hook := logrusasync.NewHook(core.WithSink(f))
//	defer hook.Close()
//	hook.Install(logger)
//
// All buffering, ordering, flushing, overflow and error handling is the
// core's; this package only connects it to logrus.
//
// # Formatting in Fire
//
// Fire formats the entry before it returns, with the hook's Formatter or,
// if that is nil, the logger's. It must: logrus recycles the entry once the
// call returns, and the caller may go on changing the maps and slices it
// passed in Data. Like logrus, Fire lends the formatter a pooled buffer.
// The formatter is called concurrently from the goroutines that log, not
// under the logger's lock as logrus v1.9 calls its own; logrus's
// JSONFormatter and TextFormatter are safe for that.
//
// A hook added with logger.AddHook alone comes on top of the logger's own
// output: logrus still formats every entry again and writes it to
// logger.Out under its lock. Install avoids that: it gives the logger an
// InstalledFormatter, which keeps the logger's formatter for the hooks and
// formats nothing itself, and an output that discards, then adds the
// hook. Install is idempotent, and a later logger.SetFormatter is safe
// and reaches the hooks (see Install).
//
// logrus's TextFormatter colours entries when the logger's output is a
// terminal, which an installed logger's output is not. Set
// Hook.FormatterOut to the sink to let it decide by the sink.
//
// # SetOutput
//
// NewWriter returns a Writer, an io.Writer for code that sets a logger's
// output rather than installing a hook:
//
//	w := logrusasync.NewWriter(core.WithSink(f))
//	defer w.Close()
//	logrus.SetOutput(w)
//
// logrus.Fatal, logrus.Exit and logger.Exit sync it, through the exit
// handler NewWriter registers. But logrus tells an output no level, and
// writes to it under its lock: a Writer cannot sync Panic entries nor
// keep Error entries from being dropped under core.Drop, and a Write that
// waits for room makes every goroutine that logs wait. Prefer Install.
//
// # Exit and panic
//
// logrus's Panic and Fatal fire the hooks and then panic or call
// logger.Exit. Fire syncs entries at or above SyncLevel (Fatal and Panic
// by default) before it returns: when the panic starts or the process
// exits, the entry and every entry before it are in the sink, whichever
// goroutine panics. For logrus.Exit and logger.Exit called directly,
// Install and NewWriter also register an exit handler (see
// Hook.RegisterExitHandler) that syncs the hook or Writer.
//
// # Never dropping what matters
//
// Under core.WithOverflow(core.Drop), entries less severe than NoDropLevel
// (Error by default) that find the buffers full are dropped and counted;
// entries at or above it wait for room instead.
//
// logrus numbers its levels from the most severe (PanicLevel is 0): "at
// or above" a level here means at least as severe, that is, numbered the
// same or lower.
//
// # Settings
//
// The core is configured by the core.Options given to NewHook. The
// settings of this package are exported fields of Hook, set after NewHook
// and before the hook is added to a logger; the other adapters, zapasync
// and zerologasync, are configured the same way.
package logrusasync
