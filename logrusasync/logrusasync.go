package logrusasync

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/asynclog/asynclog/core"
)

// A Hook is a logrus.Hook that formats each entry and writes it through a
// core.Writer. It is safe for concurrent use, and may serve several
// loggers.
//
// Its fields are settings. Set them after NewHook and before the hook is
// added to a logger; do not change them afterwards.
type Hook struct {
	// FireLevels are the levels the hook fires for. Nil, as NewHook
	// leaves it, means every level; the logger's own level still filters
	// first. logrus reads it once, when the hook is added.
	FireLevels []logrus.Level

	// Formatter formats the entries. Nil, as NewHook leaves it, means the
	// formatter of the entry's logger, as it was before Install. It must
	// be safe for concurrent use.
	Formatter logrus.Formatter

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
	// Lend the formatter a buffer, as logrus does when it formats: the
	// core copies the bytes, so the buffer can go back to the pool.
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	saved := e.Buffer
	e.Buffer = buf
	defer func() {
		e.Buffer = saved
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}()

	p, err := h.formatter(e).Format(e)
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

// formatter returns the formatter for e: the hook's, or else the one its
// logger had before Install.
func (h *Hook) formatter(e *logrus.Entry) logrus.Formatter {
	if h.Formatter != nil {
		return h.Formatter
	}
	f := e.Logger.Formatter
	if d, ok := f.(discardFormatter); ok {
		return d.installed
	}
	return f
}

// Install makes h the output of logger: it adds h as a hook, sends the
// logger's own output to io.Discard and replaces its formatter with one
// that does no work, so that logrus does not format and write every entry
// a second time under its lock. h goes on formatting with the logger's
// former formatter, unless h.Formatter is set. Install also calls
// RegisterExitHandler. Call it once per logger, during setup, before the
// logger is used.
//
// To change the format later, set h.Formatter before Install rather than
// calling logger.SetFormatter, which would make logrus format every entry
// again.
func (h *Hook) Install(logger *logrus.Logger) {
	f := logger.Formatter
	if f == nil {
		f = new(logrus.TextFormatter) // what logrus.New gives a logger
	}
	if _, ok := f.(discardFormatter); !ok {
		logger.SetFormatter(discardFormatter{installed: f})
	}
	logger.SetOutput(io.Discard)
	logger.AddHook(h)
	h.RegisterExitHandler()
}

// RegisterExitHandler makes logrus.Exit and logger.Exit sync h before the
// process ends. It is idempotent. The package registers one logrus exit
// handler, the first time any hook asks, which syncs every hook registered
// and not yet closed; Close unregisters h, so a closed hook is not kept
// alive by logrus. Errors are printed on os.Stderr, as logrus prints the
// errors of hooks.
func (h *Hook) RegisterExitHandler() {
	exitHooks.once.Do(func() { logrus.RegisterExitHandler(syncExitHooks) })
	exitHooks.mu.Lock()
	defer exitHooks.mu.Unlock()
	if exitHooks.open == nil {
		exitHooks.open = make(map[*Hook]struct{})
	}
	exitHooks.open[h] = struct{}{}
}

// exitHooks are the hooks that the package's exit handler syncs.
var exitHooks struct {
	once sync.Once
	mu   sync.Mutex
	open map[*Hook]struct{}
}

func syncExitHooks() {
	exitHooks.mu.Lock()
	hooks := make([]*Hook, 0, len(exitHooks.open))
	for h := range exitHooks.open {
		hooks = append(hooks, h)
	}
	exitHooks.mu.Unlock()
	for _, h := range hooks {
		if err := h.Sync(); err != nil {
			fmt.Fprintln(os.Stderr, "logrusasync: flushing at exit:", err)
		}
	}
}

// Sync returns once every entry fired before it has been handed to the
// sink and the sink has been synced, as core.Writer.Sync does.
func (h *Hook) Sync() error {
	return h.w.Sync()
}

// Close flushes what is buffered, syncs the sink and stops the core's
// goroutine, as core.Writer.Close does. Entries fired after Close are
// refused with core.ErrClosed. Close does not close the sink.
func (h *Hook) Close() error {
	exitHooks.mu.Lock()
	delete(exitHooks.open, h)
	exitHooks.mu.Unlock()
	return h.w.Close()
}

// Stats returns the core's counters.
func (h *Hook) Stats() core.Stats {
	return h.w.Stats()
}

// discardFormatter is the formatter Install gives a logger: it formats
// nothing, and remembers the formatter it replaced for the hook.
type discardFormatter struct {
	installed logrus.Formatter
}

func (discardFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

var _ logrus.Hook = (*Hook)(nil)
