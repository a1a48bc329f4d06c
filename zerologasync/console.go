package zerologasync

import (
	"bytes"
	"sync"

	"github.com/rs/zerolog"

	"github.com/asynclog/asynclog/core"
)

// ConsoleWriter returns a LevelWriter that formats each event with cw, as
// zerolog.ConsoleWriter does, and writes the formatted line through a new
// core.Writer configured by opts. It keeps every guarantee of a
// LevelWriter made by Writer: events at or above SyncLevel (Fatal and
// Panic) are synced before WriteLevel returns, and events at or above
// NoDropLevel (Error) are never dropped under core.Drop.
//
// Use it instead of zerolog.New(zerolog.ConsoleWriter{Out: w}), which
// hands events to w with Write and so loses their level: with such a
// set-up nothing syncs before a Panic and nothing is kept from Drop.
//
// cw.Out is where the formatted lines go, unless opts hold a
// core.WithSink, which overrides it; if both are unset, lines go to the
// core's default, os.Stderr. The core, not cw, writes to it: cw formats
// into a buffer of its own. The notices the core writes among the lines
// (records dropped under core.Drop, records recovered from a spool) are
// text, core.TextNotice, rather than the core's default JSON, unless opts
// hold a core.WithNotices. Every other field of cw is used as zerolog
// uses it, and its functions (FormatLevel and the like) are called
// concurrently from the goroutines that log, as zerolog calls them.
//
// Formatting happens in the goroutine that logs, before the line is
// copied into the core's buffers, with no lock shared between goroutines:
// each formats into a buffer taken from a pool. zerolog.ConsoleWriter
// decodes each event's JSON into a map to format it, which costs several
// allocations and a few microseconds an event; the core adds neither.
//
// On Windows, zerolog wraps os.Stdout and os.Stderr to translate colour
// codes for consoles that do not understand them; the core writes the
// codes as they are. Set cw.NoColor where that matters.
func ConsoleWriter(cw zerolog.ConsoleWriter, opts ...core.Option) *LevelWriter {
	// Prepended, so that a core.WithSink or core.WithNotices in opts
	// overrides them.
	defaults := []core.Option{core.WithNotices(core.TextNotice)}
	if cw.Out != nil {
		defaults = append(defaults, core.WithSink(cw.Out))
	}
	opts = append(defaults, opts...)
	w := Writer(opts...)
	w.console = &sync.Pool{New: func() any {
		e := &consoleEntry{cw: cw}
		e.cw.Out = &e.buf
		return e
	}}
	return w
}

// A consoleEntry is a copy of the ConsoleWriter given to ConsoleWriter
// whose Out is the entry's own buffer. One goroutine at a time uses it,
// between taking it from the pool and putting it back.
type consoleEntry struct {
	buf bytes.Buffer
	cw  zerolog.ConsoleWriter
}

// maxPooledConsole bounds the buffers kept in the pool, so that one huge
// event does not pin its buffer.
const maxPooledConsole = 64 << 10

// writeConsole formats p, one event in JSON, and writes the formatted
// line as write does. It returns len(p), the bytes of p it consumed, as
// zerolog.ConsoleWriter does.
func (w *LevelWriter) writeConsole(p []byte, wait, sync bool) (int, error) {
	e := w.console.Get().(*consoleEntry)
	e.buf.Reset()
	defer func() {
		if e.buf.Cap() <= maxPooledConsole {
			w.console.Put(e)
		}
	}()
	// zerolog.ConsoleWriter writes the whole line to Out in one Write.
	if _, err := e.cw.Write(p); err != nil {
		return 0, err
	}
	if _, err := w.write(e.buf.Bytes(), wait, sync); err != nil {
		return 0, err
	}
	return len(p), nil
}
