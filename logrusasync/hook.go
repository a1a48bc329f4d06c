package logrusasync

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/asynclog/asynclog/core"
)

// A Hook is a logrus.Hook that formats each entry and writes it through a
// core.Writer. It is safe for concurrent use, and may serve several
// loggers.
//
// Its fields are settings. Set them after NewHook and before the hook is
// installed or added to a logger; do not change them afterwards.
type Hook struct {
	// FireLevels are the levels the hook fires for. Nil, as NewHook
	// leaves it, means every level; the logger's own level still filters
	// first. logrus reads it once, when the hook is added.
	FireLevels []logrus.Level

	// Formatter formats the entries. Nil, as NewHook leaves it, means the
	// formatter of the entry's logger: for a logger the hook is installed
	// on, the one Install took from it (see InstalledFormatter); for a
	// logger it was only added to with AddHook, logger.Formatter. It must
	// be safe for concurrent use.
	Formatter logrus.Formatter

	// FormatterOut is what formatters see as the logger's output,
	// entry.Logger.Out, while the hook formats an entry. logrus's
	// TextFormatter colours its output when that is a terminal, and an
	// installed logger's own output never is one. Set FormatterOut to the
	// sink given to core.WithSink (os.Stderr, say) to let it decide by the
	// sink, as it would writing there itself: the formatter then sees, in
	// entry.Logger, a stand-in logger whose Out is FormatterOut and whose
	// other fields are zero, except ReportCaller, which is true (the entry
	// has a Caller only if its own logger reports callers). Nil, as NewHook
	// leaves it, means formatters see the entry's own logger. FormatterOut
	// does not change where entries go: that is core.WithSink's.
	FormatterOut io.Writer

	// NoDropLevel is the least severe level never dropped: under
	// core.Drop, an entry at or above it waits for room instead. NewHook
	// sets it to logrus.ErrorLevel. It has no effect under core.Block.
	NoDropLevel logrus.Level

	// SyncLevel is the least severe level at which Fire syncs after
	// writing an entry, so that the entry and everything before it are in
	// the sink before Fire returns; such entries are never dropped either.
	// NewHook sets it to logrus.FatalLevel, which covers Fatal and Panic.
	SyncLevel logrus.Level

	w *core.Writer

	// installed maps each *logrus.Logger the hook is installed on to its
	// *InstalledFormatter, so that Fire finds the formatter without
	// reading logger.Formatter, which logrus guards with a lock it does
	// not share.
	installed sync.Map

	viewOnce sync.Once
	view     *logrus.Logger // the stand-in logger for FormatterOut
}

// NewHook returns a Hook over a new core.Writer configured by opts. The
// caller must Close it to flush what is buffered and stop the core's
// goroutine; Close does not close the sink.
func NewHook(opts ...core.Option) *Hook {
	return &Hook{
		NoDropLevel: logrus.ErrorLevel,
		SyncLevel:   logrus.FatalLevel,
		w:           core.New(opts...),
	}
}

// Levels returns FireLevels, or every level if it is nil.
func (h *Hook) Levels() []logrus.Level {
	if h.FireLevels == nil {
		return logrus.AllLevels
	}
	return h.FireLevels
}

// Fire formats e and copies the bytes into the core's buffers. Under
// core.Drop an entry less severe than NoDropLevel and SyncLevel may be
// dropped; others wait for room. An entry at or above SyncLevel is synced,
// as Sync does, before Fire returns. Fire returns errors from the
// formatter, core.ErrClosed after Close, and an error from that sync;
// logrus prints them on os.Stderr.
func (h *Hook) Fire(e *logrus.Entry) error {
	f := h.formatter(e)

	// Lend the formatter a buffer, as logrus does when it formats, and,
	// with FormatterOut, the stand-in logger: the entry belongs to the
	// goroutine that logs until Fire returns, and gets both back. The core
	// copies the bytes, so the buffer can go back to the pool.
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	savedBuf, savedLogger := e.Buffer, e.Logger
	e.Buffer = buf
	if h.FormatterOut != nil {
		e.Logger = h.loggerView()
	}
	defer func() {
		e.Buffer, e.Logger = savedBuf, savedLogger
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}()

	p, err := f.Format(e)
	if err != nil {
		return fmt.Errorf("logrusasync: formatting entry: %w", err)
	}
	sync := e.Level <= h.SyncLevel
	if !sync && e.Level > h.NoDropLevel {
		_, err = h.w.Write(p)
		return err
	}
	if _, err = h.w.WriteWait(p); err != nil || !sync {
		return err
	}
	return h.w.Sync()
}

// bufPool holds the buffers Fire lends formatters.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer bounds the buffers kept in bufPool, so that one huge
// entry does not pin its buffer.
const maxPooledBuffer = 64 << 10

// formatter returns the formatter for e: the hook's; else, for a logger
// the hook is installed on, the one Install took from it; else the
// logger's.
func (h *Hook) formatter(e *logrus.Entry) logrus.Formatter {
	if h.Formatter != nil {
		return h.Formatter
	}
	if f, ok := h.installed.Load(e.Logger); ok {
		return f.(*InstalledFormatter).Formatter()
	}
	// Added with AddHook alone. logrus reads logger.Formatter under the
	// logger's lock; a hook cannot take it, so this read is safe only if
	// nothing calls SetFormatter meanwhile, as the doc of Formatter says.
	f := e.Logger.Formatter
	if inst, ok := f.(*InstalledFormatter); ok {
		return inst.Formatter()
	}
	return f
}

// loggerView returns the stand-in logger formatters see with
// FormatterOut.
func (h *Hook) loggerView() *logrus.Logger {
	h.viewOnce.Do(func() {
		h.view = &logrus.Logger{
			Out:          h.FormatterOut,
			Hooks:        make(logrus.LevelHooks),
			Level:        logrus.TraceLevel,
			ReportCaller: true,
		}
	})
	return h.view
}

// Sync returns once every entry fired before it has been handed to the
// sink and the sink has been synced, as core.Writer.Sync does.
func (h *Hook) Sync() error {
	return h.w.Sync()
}

// Close flushes what is buffered, syncs the sink and stops the core's
// goroutine, as core.Writer.Close does, and unregisters the hook from the
// package's exit handler. Entries fired after Close are refused with
// core.ErrClosed. Close does not close the sink.
func (h *Hook) Close() error {
	unregisterExit(h.w)
	return h.w.Close()
}

// Stats returns the core's counters.
func (h *Hook) Stats() core.Stats {
	return h.w.Stats()
}

// StatsVar returns an expvar.Var of the core's counters, for
// expvar.Publish, as core.Writer.StatsVar does.
func (h *Hook) StatsVar() core.StatsVar {
	return h.w.StatsVar()
}

// RegisterExitHandler makes logrus.Exit and logger.Exit sync h before the
// process ends; Install calls it. It is idempotent. The package registers
// one logrus exit handler, the first time a Hook or a Writer asks, which
// syncs every Hook and Writer registered and not yet closed; Close
// unregisters h, so a closed hook is not kept alive by logrus. Errors are
// printed on os.Stderr, as logrus prints the errors of hooks.
func (h *Hook) RegisterExitHandler() {
	registerExit(h.w)
}

var _ logrus.Hook = (*Hook)(nil)
