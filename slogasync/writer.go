package slogasync

import (
	"io"
	"log/slog"

	"github.com/asynclog/asynclog/core"
)

// A Writer owns a core.Writer and makes slog handlers that write through
// it. It is safe for concurrent use.
//
// Its fields are settings, shared by every Handler it makes. Set them
// after New and before the first record is logged; do not change them
// afterwards.
type Writer struct {
	// NoDropLevel is the lowest level never dropped: under core.Drop, a
	// record at or above it waits for room instead. New sets it to
	// slog.LevelError. It has no effect under core.Block.
	NoDropLevel slog.Level

	// SyncLevel is the lowest level at which Handle syncs after writing a
	// record, so that the record and everything before it are in the sink
	// before Handle returns; such records are never dropped either. New
	// sets it to slog.LevelError+4, the level slog users commonly give a
	// fatal record, since slog has none: log at it before os.Exit.
	SyncLevel slog.Level

	w *core.Writer
}

// New returns a Writer over a new core.Writer configured by opts. The
// caller must Close it to flush what is buffered and stop the core's
// goroutine; Close does not close the sink.
func New(opts ...core.Option) *Writer {
	return &Writer{
		NoDropLevel: slog.LevelError,
		SyncLevel:   slog.LevelError + 4,
		w:           core.New(opts...),
	}
}

// Handler returns a Handler that formats records with handlers made by
// newHandler, and writes what they write through w. newHandler must
// return a new handler writing to the io.Writer it is given, as
// slog.NewJSONHandler and slog.NewTextHandler do; it is called once per
// handler the Handler keeps in its pool, and once to make the handler
// whose Enabled it asks, with io.Discard.
func (w *Writer) Handler(newHandler func(io.Writer) slog.Handler) *Handler {
	return newRootHandler(w, newHandler)
}

// JSONHandler returns a Handler that formats records as
// slog.NewJSONHandler(out, opts) does.
func (w *Writer) JSONHandler(opts *slog.HandlerOptions) *Handler {
	return w.Handler(func(out io.Writer) slog.Handler { return slog.NewJSONHandler(out, opts) })
}

// TextHandler returns a Handler that formats records as
// slog.NewTextHandler(out, opts) does.
func (w *Writer) TextHandler(opts *slog.HandlerOptions) *Handler {
	return w.Handler(func(out io.Writer) slog.Handler { return slog.NewTextHandler(out, opts) })
}

// write copies p, one record at level l, into the core's buffers: a
// record at or above NoDropLevel or SyncLevel is never dropped, and one
// at or above SyncLevel is synced.
func (w *Writer) write(l slog.Level, p []byte) error {
	sync := l >= w.SyncLevel
	if !sync && l < w.NoDropLevel {
		_, err := w.w.Write(p)
		return err
	}
	if _, err := w.w.WriteWait(p); err != nil || !sync {
		return err
	}
	return w.w.Sync()
}

// Sync returns once every record written before it has been handed to
// the sink and the sink has been synced, as core.Writer.Sync does.
func (w *Writer) Sync() error {
	return w.w.Sync()
}

// Close flushes what is buffered, syncs the sink and stops the core's
// goroutine, as core.Writer.Close does. Records logged after Close are
// refused: Handle returns core.ErrClosed. Close does not close the sink.
func (w *Writer) Close() error {
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
