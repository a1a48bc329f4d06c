package core

import (
	"io"
	"os"
	"strconv"
	"time"
)

// Defaults and limits applied by New. Options never fail: a value out of
// range is replaced by the nearest sensible one, the way bufio.NewWriterSize
// raises a small size to its minimum.
const (
	// DefaultBufferSize is the size of each of the two buffers when
	// WithBufferSize is not given or is not positive. Two of them, 8 MiB in
	// all, absorb tens of thousands of typical JSON log lines: the burst a
	// busy service makes while the sink is slow or, on a loaded machine,
	// while the writer goroutine waits milliseconds for a processor.
	DefaultBufferSize = 4 << 20

	// MinBufferSize is the smallest buffer New accepts; smaller sizes are
	// raised to it.
	MinBufferSize = 64

	// MaxBufferSize is the largest buffer New accepts; larger sizes are
	// lowered to it. Record and byte counts per buffer are kept in 32-bit
	// fields of one atomic word, which bounds it.
	MaxBufferSize = 1 << 30

	// DefaultFlushInterval bounds how long a record may wait in a buffer
	// that is not filling up before the writer goroutine hands it to the
	// sink.
	DefaultFlushInterval = 100 * time.Millisecond

	// DefaultSyncTimeout bounds how long Sync and Close wait for the
	// sink.
	DefaultSyncTimeout = 5 * time.Second
)

// Overflow says what Write does when both buffers are full.
type Overflow int

const (
	// Block makes Write wait until the writer goroutine has made room.
	// Nothing accepted is lost; a slow sink slows the callers down.
	Block Overflow = iota

	// Drop makes Write discard a record that does not fit and return at
	// once. Every discarded record is counted in Stats.DroppedRecords.
	Drop
)

// String returns "block" or "drop".
func (o Overflow) String() string {
	switch o {
	case Block:
		return "block"
	case Drop:
		return "drop"
	}
	return "Overflow(" + strconv.Itoa(int(o)) + ")"
}

// An Option configures a Writer. Options are applied in order by New; a
// later option overrides an earlier one of the same kind.
type Option func(*config)

type config struct {
	sink          io.Writer
	bufferSize    int
	flushInterval time.Duration
	overflow      Overflow
	onError       func(error)
	syncTimeout   time.Duration
	clock         clock
}

// WithSink sets where records go. The default, also used for a nil
// writer, is os.Stderr, as with zap, zerolog and logrus. The Writer never
// closes the sink: the caller owns it. If the sink has a Sync() error
// method (as *os.File does), Sync and Close call it.
//
// The sink is only ever called from one goroutine at a time, so it needs
// no locking of its own.
func WithSink(w io.Writer) Option {
	return func(c *config) { c.sink = w }
}

// WithBufferSize sets the size in bytes of each of the two buffers. A size
// that is not positive means DefaultBufferSize; other sizes are kept within
// [MinBufferSize, MaxBufferSize]. The Writer holds two buffers of this
// size and never more.
func WithBufferSize(bytes int) Option {
	return func(c *config) { c.bufferSize = bytes }
}

// WithFlushInterval sets how long a record may wait in a buffer that is not
// filling up before it is handed to the sink. An interval that is not
// positive means DefaultFlushInterval. The timer runs only while a
// record is waiting: an idle Writer uses no CPU.
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) { c.flushInterval = d }
}

// WithOverflow sets what Write does when both buffers are full: Block (the
// default) or Drop. An unknown value means Block.
func WithOverflow(p Overflow) Option {
	return func(c *config) { c.overflow = p }
}

// WithErrorHandler sets the function that receives every error from the
// sink: failed and short writes, panics, and errors from the sink's Sync.
// It is called from whichever goroutine wrote to the sink, possibly while
// that goroutine holds a buffer: it must not block for long, and must not
// write to, sync or close the same Writer. The default prints one line to os.Stderr, at most one
// a second, with a count of the errors it left out. A nil function means
// the default.
func WithErrorHandler(f func(error)) Option {
	return func(c *config) { c.onError = f }
}

// WithSyncTimeout bounds how long Sync and Close wait for the sink to take
// what is buffered and sync. A timeout that is not positive means
// DefaultSyncTimeout. When it passes they return an error that matches
// ErrTimeout; the records go on to the sink if it ever returns.
func WithSyncTimeout(d time.Duration) Option {
	return func(c *config) { c.syncTimeout = d }
}

// withClock replaces the clock that times flush intervals, for tests.
func withClock(c clock) Option {
	return func(cfg *config) { cfg.clock = c }
}

func newConfig(opts []Option) config {
	c := config{}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if c.sink == nil {
		c.sink = os.Stderr
	}
	switch {
	case c.bufferSize <= 0:
		c.bufferSize = DefaultBufferSize
	case c.bufferSize < MinBufferSize:
		c.bufferSize = MinBufferSize
	case c.bufferSize > MaxBufferSize:
		c.bufferSize = MaxBufferSize
	}
	if c.flushInterval <= 0 {
		c.flushInterval = DefaultFlushInterval
	}
	if c.overflow != Drop {
		c.overflow = Block
	}
	if c.onError == nil {
		c.onError = newStderrReporter(os.Stderr, time.Second).report
	}
	if c.syncTimeout <= 0 {
		c.syncTimeout = DefaultSyncTimeout
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	return c
}
