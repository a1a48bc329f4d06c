// Package zapasync gives zap asynchronous output through the shared core
// of package core.
//
// New returns a WriteSyncer, the thing a zapcore.Core writes encoded
// entries to. Its Write copies the entry into one of the core's two
// buffers and returns; the core's goroutine hands full buffers to the sink.
// Nothing else changes in the logger's setup:
//
//	ws := zapasync.New(core.WithSink(f))
//	defer ws.Close()
//	logger := zap.New(zapcore.NewCore(enc, ws, zap.InfoLevel))
//
// All buffering, ordering, flushing, overflow and error handling is the
// core's; this package only connects it to zap.
//
// # zap.Config
//
// RegisterSink registers the URL scheme "asynclog" with zap, so that a
// zap.Config names an asynclog sink as it names a file:
//
//	if err := zapasync.RegisterSink(); err != nil { // once, in main or init
//		return err
//	}
//	cfg := zap.NewProductionConfig()
//	cfg.OutputPaths = []string{"asynclog:///var/log/app.log?buffer=1MiB"}
//	logger, err := cfg.Build()
//	...
//	defer zapasync.CloseSinks() // after logger.Sync()
//
// RegisterSink documents the URLs, their settings (buffer, flush,
// overflow, maxwrite and spool) and how such sinks are closed. It also
// registers "asynclog+relp" and "asynclog+syslog", which send each entry
// to a syslog collector such as rsyslog, over RELP or RFC 6587 TCP (see
// package syslogsink):
//
//	cfg.OutputPaths = []string{"asynclog+relp://logs.example.com:2514?spool=/var/lib/app/log.spool"}
//
// # Exit and panic
//
// zap's own core calls Sync on its WriteSyncer after every entry above
// Error (DPanic, Panic and Fatal), before panicking or calling os.Exit.
// WriteSyncer.Sync is the core's full barrier: every entry written before
// it, the DPanic, Panic or Fatal entry included, is handed to the sink and
// the sink is synced (an *os.File is fsynced) before Sync returns. So the
// last entry of a process that dies through zap is on disk, and
// logger.Sync() flushes everything logged before it. A process that ends
// any other way must call Close (or at least Sync) first.
//
// # Never dropping what matters
//
// Under core.WithOverflow(core.Drop), a WriteSyncer drops what does not
// fit, whatever its level: zap does not tell a WriteSyncer the level of
// what it writes. NewCore, a drop-in replacement for zapcore.NewCore, does
// know it: entries at or above the WriteSyncer's NoDropLevel (Error by
// default) wait for room instead of being dropped, and entries at or above
// its SyncLevel (DPanic by default, as in zap) are synced before Write
// returns.
//
// # Settings
//
// The core is configured by the core.Options given to New. The settings of
// this package are exported fields of WriteSyncer, set after New and before
// the first entry is logged; the other adapters, zerologasync and
// logrusasync, are configured the same way.
package zapasync
