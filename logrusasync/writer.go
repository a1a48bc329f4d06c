package logrusasync

import (
	"io"

	"github.com/asynclog/asynclog/core"
)

// A Writer is an io.Writer for logger.SetOutput (or logrus.SetOutput)
// that writes through a core.Writer: the set-up for code that already
// calls SetOutput and would rather not install a hook. It is safe for
// concurrent use.
//
// logrus formats each entry and writes it to its output with Write, which
// carries no level, while holding the logger's lock. So a Writer, unlike
// a Hook made the logger's output by Install, cannot:
//
//   - sync Panic entries: logrus panics after the write, and nothing
//     syncs, so a panic in a goroutine that nothing recovers ends the
//     process with the Panic entry, and up to a flush interval of entries
//     before it, still buffered;
//   - keep Error and above from being dropped under core.Drop: any entry
//     may be dropped;
//   - spare the other goroutines: when the core makes Write wait for room
//     (core.Block with both buffers full), the waiting goroutine holds the
//     logger's lock, and every other goroutine that logs waits for it.
//     logrus v1.9 also formats under that lock.
//
// What it does do: NewWriter registers the package's logrus exit handler,
// so logger.Fatal, logrus.Exit and logger.Exit sync every entry written
// before them (under core.Drop, those the core accepted) before the
// process exits.
//
// A TextFormatter decides whether to colour by whether the logger's
// output is a terminal, and a Writer is not one: set ForceColors where
// the sink is.
type Writer struct {
	w *core.Writer
}

// NewWriter returns a Writer over a new core.Writer configured by opts,
// and registers it with the package's logrus exit handler (see
// Hook.RegisterExitHandler). The caller must Close it to flush what is
// buffered and stop the core's goroutine; Close does not close the sink.
func NewWriter(opts ...core.Option) *Writer {
	w := &Writer{w: core.New(opts...)}
	registerExit(w.w)
	return w
}

// Write copies p, one formatted entry, into the core's buffers, as
// core.Writer.Write does. Under core.Drop it may drop p.
func (w *Writer) Write(p []byte) (int, error) {
	return w.w.Write(p)
}

// Sync returns once every entry written before it has been handed to the
// sink and the sink has been synced, as core.Writer.Sync does.
func (w *Writer) Sync() error {
	return w.w.Sync()
}

// Close flushes what is buffered, syncs the sink and stops the core's
// goroutine, as core.Writer.Close does, and unregisters the Writer from
// the package's exit handler. Entries written after Close are refused
// with core.ErrClosed, which logrus reports on os.Stderr. Close does not
// close the sink.
func (w *Writer) Close() error {
	unregisterExit(w.w)
	return w.w.Close()
}

// Stats returns the core's counters.
func (w *Writer) Stats() core.Stats {
	return w.w.Stats()
}

// StatsVar returns an expvar.Var of the core's counters, for
// expvar.Publish, as core.Writer.StatsVar does.
func (w *Writer) StatsVar() core.StatsVar {
	return w.w.StatsVar()
}

var _ io.WriteCloser = (*Writer)(nil)
