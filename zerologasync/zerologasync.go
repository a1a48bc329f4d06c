package zerologasync

import (
	"io"
	"sync"

	"github.com/rs/zerolog"

	"github.com/asynclog/asynclog/core"
)

// A LevelWriter is a zerolog.LevelWriter that writes through a
// core.Writer. It is safe for concurrent use.
//
// Its fields are settings. Set them after Writer and before the first
// event is logged; do not change them afterwards.
type LevelWriter struct {
	// NoDropLevel is the lowest level never dropped: under core.Drop, an
	// event at or above it waits for room instead. Writer sets it to
	// zerolog.ErrorLevel. It has no effect under core.Block.
	NoDropLevel zerolog.Level

	// SyncLevel is the lowest level at which WriteLevel syncs after
	// writing an event, so that the event and everything before it are
	// in the sink before WriteLevel returns. Writer sets it to
	// zerolog.FatalLevel, which covers Fatal and Panic.
	SyncLevel zerolog.Level

	w *core.Writer

	// console, set by ConsoleWriter, holds the *consoleEntry values that
	// format events before they go to the core; nil means events go as
	// they are.
	console *sync.Pool
}

// Writer returns a LevelWriter over a new core.Writer configured by opts.
// The caller must Close it to flush what is buffered and stop the core's
// goroutine; Close does not close the sink.
func Writer(opts ...core.Option) *LevelWriter {
	return &LevelWriter{
		NoDropLevel: zerolog.ErrorLevel,
		SyncLevel:   zerolog.FatalLevel,
		w:           core.New(opts...),
	}
}

// Write copies p into the core's buffers, as core.Writer.Write does
// (formatted first, for a LevelWriter made by ConsoleWriter). It knows no
// level: under core.Drop it may drop p.
func (w *LevelWriter) Write(p []byte) (int, error) {
	if w.console != nil {
		return w.writeConsole(p, false, false)
	}
	return w.w.Write(p)
}

// WriteLevel copies p, an event at level l, into the core's buffers.
// Under core.Drop an event at or above NoDropLevel waits for room rather
// than being dropped. An event at or above SyncLevel is never dropped
// either, and is synced, as Sync does, before WriteLevel returns; an error
// from that sync is returned, and zerolog reports it.
func (w *LevelWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	sync := atLeast(l, w.SyncLevel)
	wait := sync || atLeast(l, w.NoDropLevel)
	if w.console != nil {
		return w.writeConsole(p, wait, sync)
	}
	return w.write(p, wait, sync)
}

// write copies p into the core's buffers, waiting for room if wait is
// set, and syncs after it if sync is set.
func (w *LevelWriter) write(p []byte, wait, sync bool) (int, error) {
	if !wait {
		return w.w.Write(p)
	}
	n, err := w.w.WriteWait(p)
	if err != nil || !sync {
		return n, err
	}
	return n, w.w.Sync()
}

// atLeast reports whether level l is a severity at or above threshold.
// zerolog.NoLevel and zerolog.Disabled, numbered above Panic, are not
// severities.
func atLeast(l, threshold zerolog.Level) bool {
	return l >= threshold && l <= zerolog.PanicLevel
}

// Sync returns once every event written before it has been handed to the
// sink and the sink has been synced, as core.Writer.Sync does.
func (w *LevelWriter) Sync() error {
	return w.w.Sync()
}

// Close flushes what is buffered, syncs the sink and stops the core's
// goroutine, as core.Writer.Close does. zerolog's Fatal calls it before
// exiting. Events logged after Close are refused with core.ErrClosed,
// which zerolog reports on os.Stderr. Close does not close the sink.
func (w *LevelWriter) Close() error {
	return w.w.Close()
}

// Stats returns the core's counters.
func (w *LevelWriter) Stats() core.Stats {
	return w.w.Stats()
}

// StatsVar returns an expvar.Var of the core's counters, for
// expvar.Publish, as core.Writer.StatsVar does.
func (w *LevelWriter) StatsVar() core.StatsVar {
	return w.w.StatsVar()
}

var (
	_ zerolog.LevelWriter = (*LevelWriter)(nil)
	_ io.Closer           = (*LevelWriter)(nil)
)
