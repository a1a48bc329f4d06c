package slogasync

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
)

// A Handler is a slog.Handler that formats each record with a handler of
// its own, taken from a pool, into that handler's own buffer, and then
// writes the bytes through its Writer's core.Writer, with the record's
// level: see Writer.NoDropLevel and Writer.SyncLevel. It is safe for
// concurrent use, and its Handle takes no lock shared with other
// goroutines: each formats with a handler nobody else is using at that
// moment, and the core's Write takes no lock.
//
// WithAttrs and WithGroup return a Handler with a pool of its own, whose
// handlers are made by calling newHandler and then replaying, in order,
// every WithAttrs and WithGroup call that led to it. A Handler's pool
// grows to about as many handlers as goroutines that log through it at
// once; so derive handlers that log much (logger.With at start-up or per
// component) rather than one per record.
type Handler struct {
	w          *Writer
	newHandler func(io.Writer) slog.Handler
	steps      []step       // the WithAttrs and WithGroup calls that led here
	enabled    slog.Handler // asked by Enabled; writes to io.Discard
	pool       sync.Pool    // of *pooled
}

// A step is one WithAttrs (attrs not nil) or WithGroup call.
type step struct {
	attrs []slog.Attr
	group string
}

func (s step) apply(h slog.Handler) slog.Handler {
	if s.attrs != nil {
		// Each handler owns the slice it is given.
		return h.WithAttrs(slices.Clone(s.attrs))
	}
	return h.WithGroup(s.group)
}

// A pooled handler writes to its own buffer. One goroutine at a time uses
// it, between taking it from the pool and putting it back.
type pooled struct {
	buf bytes.Buffer
	h   slog.Handler
}

// maxPooledBuffer bounds the buffers kept in a pool, so that one huge
// record does not pin its buffer.
const maxPooledBuffer = 64 << 10

func newRootHandler(w *Writer, newHandler func(io.Writer) slog.Handler) *Handler {
	h := &Handler{w: w, newHandler: newHandler, enabled: newHandler(io.Discard)}
	h.pool.New = h.newPooled
	return h
}

// newPooled makes a handler for the pool: newHandler's, with every step
// replayed.
func (h *Handler) newPooled() any {
	p := new(pooled)
	p.h = h.newHandler(&p.buf)
	for _, s := range h.steps {
		p.h = s.apply(p.h)
	}
	return p
}

// derive returns a Handler with one more step.
func (h *Handler) derive(s step) *Handler {
	d := &Handler{
		w:          h.w,
		newHandler: h.newHandler,
		steps:      append(slices.Clip(h.steps), s),
		enabled:    s.apply(h.enabled),
	}
	d.pool.New = d.newPooled
	return d
}

// Enabled reports whether the handlers newHandler makes handle records at
// level, as they report it.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.enabled.Enabled(ctx, level)
}

// Handle formats r with a handler from the pool and writes what it wrote,
// if anything, through the core as one record. Under core.Drop a record
// below NoDropLevel and SyncLevel may be dropped; others wait for room. A
// record at or above SyncLevel is synced before Handle returns. Handle
// returns the error of the handler that formatted r, core.ErrClosed after
// Close, and an error from that sync.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	p := h.pool.Get().(*pooled)
	p.buf.Reset()
	err := p.h.Handle(ctx, r)
	if err == nil && p.buf.Len() > 0 {
		err = h.w.write(r.Level, p.buf.Bytes())
	}
	if p.buf.Cap() <= maxPooledBuffer {
		h.pool.Put(p)
	}
	return err
}

// WithAttrs returns a Handler whose handlers have attrs, as
// slog.Handler.WithAttrs does. With no attrs it returns h.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	// Resolved now, as slog's handlers resolve them in WithAttrs: the
	// pooled handlers, made later and perhaps many times, all see the
	// values of this call.
	return h.derive(step{attrs: resolve(attrs)})
}

// resolve returns a copy of attrs with every slog.LogValuer, in groups
// too, replaced by its value.
func resolve(attrs []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		a.Value = a.Value.Resolve()
		if a.Value.Kind() == slog.KindGroup {
			a.Value = slog.GroupValue(resolve(a.Value.Group())...)
		}
		out[i] = a
	}
	return out
}

// WithGroup returns a Handler whose handlers start the group name, as
// slog.Handler.WithGroup does. With an empty name it returns h.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.derive(step{group: name})
}

var _ slog.Handler = (*Handler)(nil)
