// Package slogasync gives log/slog asynchronous output through the shared
// core of package core, with the level-aware guarantees of the other
// adapters.
//
// New returns a Writer, which owns a core.Writer; its JSONHandler,
// TextHandler and Handler methods return slog handlers that write through
// it:
//
//	w := slogasync.New(core.WithSink(f))
//	defer w.Close()
//	logger := slog.New(w.JSONHandler(&slog.HandlerOptions{Level: slog.LevelDebug}))
//
// All buffering, ordering, flushing, overflow and error handling is the
// core's; this package only connects it to slog.
//
// # Why not slog.NewJSONHandler(coreWriter, nil)
//
// A core.Writer is an io.Writer, and slog.NewJSONHandler accepts one. But
// slog's handlers hold a mutex, shared by the handler and every handler
// derived from it, around the Write of each record. When the core makes a
// Write wait (under core.Block with both buffers full, or for a record
// that must not be dropped), every goroutine logging through the handler
// queues on that mutex, even those whose records could be dropped at once
// under core.Drop. And the core cannot tell a Write's level.
//
// A Handler formats each record with a handler of its own, taken from a
// pool: made by the constructor given to Writer.Handler (slog's JSON or
// text handler, with options, or any other that writes each record to an
// io.Writer) with a buffer as its writer. The pooled handler's mutex is
// uncontended, since one goroutine at a time uses it. The Handler then
// hands the formatted record to the core, with no lock held, by level:
//
//   - at or above Writer.NoDropLevel (slog.LevelError by default), a
//     record is never dropped under core.Drop: it waits for room
//     (core.Writer.WriteWait) while records below it are dropped when the
//     buffers are full;
//   - at or above Writer.SyncLevel (slog.LevelError+4 by default), a
//     record is synced before Handle returns: it and everything logged
//     before it are in the sink.
//
// WithAttrs and WithGroup are recorded, and replayed on each handler made
// for the derived Handler's pool, so the pooled handlers do the work
// slog's handlers do for them: attributes are formatted once per pooled
// handler, not per record. In steady state Handle allocates nothing
// beyond what the pooled handler allocates (slog's JSON handler: nothing,
// for records of plain values).
//
// # Exit
//
// slog has no Fatal level and no exit hook. SyncLevel defaults to
// slog.LevelError+4, the level slog users commonly give fatal records, so
// that the usual ending is safe:
//
//	logger.Log(ctx, slog.LevelError+4, "cannot serve", "err", err)
//	os.Exit(1)
//
// Set SyncLevel to slog.LevelError to sync every Error record instead; it
// costs a sync of the sink (an fsync, for a file) per record, in the
// goroutine that logs. A process that ends any other way must call Sync
// or Close first, or lose the records still buffered: core.SyncAll syncs
// every open Writer, and core.HandleSignals does so when SIGTERM or SIGINT
// arrives.
//
// # Settings
//
// The core is configured by the core.Options given to New. The settings of
// this package are exported fields of Writer, set after New and before the
// first record is logged; the other adapters, zapasync, zerologasync and
// logrusasync, are configured the same way.
package slogasync
