// Package zerologasync gives zerolog asynchronous output through the shared
// core of package core.
//
// Writer returns a LevelWriter, the thing a zerolog.Logger writes finished
// events to. Its WriteLevel copies the event into one of the core's two
// buffers and returns; the core's goroutine hands full buffers to the
// sink. Nothing else changes in the logger's setup:
//
//	w := zerologasync.Writer(core.WithSink(f))
//	defer w.Close()
//	logger := zerolog.New(w).With().Timestamp().Logger()
//
// All buffering, ordering, flushing, overflow and error handling is the
// core's; this package only connects it to zerolog.
//
// # Console output
//
// ConsoleWriter returns the same LevelWriter, formatting each event with
// a zerolog.ConsoleWriter first, in the goroutine that logs:
//
//	w := zerologasync.ConsoleWriter(zerolog.ConsoleWriter{Out: os.Stderr})
//	defer w.Close()
//	logger := zerolog.New(w).With().Timestamp().Logger()
//
// The notices the core writes among the lines, of records dropped under
// core.Drop or recovered from a spool, are then text (core.TextNotice)
// rather than JSON.
//
// Do not wrap a LevelWriter in a zerolog.ConsoleWriter instead
// (zerolog.ConsoleWriter{Out: w}): the ConsoleWriter passes events on with
// Write, which carries no level, so Panic events are not synced and Error
// events may be dropped under core.Drop.
//
// # Exit and panic
//
// zerolog's Fatal closes its writer, if it is an io.Closer, before calling
// os.Exit; LevelWriter.Close flushes everything buffered, the Fatal event
// included, and syncs the sink. zerolog's Panic does nothing of the kind
// before it panics, and a panic that nothing recovers ends the process
// without running the deferred calls of other goroutines. So WriteLevel
// itself syncs events at or above SyncLevel (Fatal and Panic by default)
// before it returns: when the panic starts, the Panic event and every event
// before it are in the sink, whichever goroutine panics.
//
// # Never dropping what matters
//
// Under core.WithOverflow(core.Drop), events below NoDropLevel (Error by
// default) that find the buffers full are dropped and counted; events at
// or above it wait for room instead.
//
// zerolog.NoLevel (Logger.Log and Logger.Write) and zerolog.Disabled are
// not severities: WriteLevel treats them as below every threshold, as it
// does the plain Write, which knows no level.
//
// # Settings
//
// The core is configured by the core.Options given to Writer. The settings
// of this package are exported fields of LevelWriter, set after Writer and
// before the first event is logged; the other adapters, zapasync and
// logrusasync, are configured the same way.
package zerologasync
