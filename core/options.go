package core

import (
	"io"
	"math"
	"os"
	"strconv"
	"time"
)

// Defaults and limits applied by New. Options never fail: a value out of
// range is replaced by the nearest sensible one, the way bufio.NewWriterSize
// raises a small size to its minimum.
const (
	// DefaultBufferSize is the most each of the two buffers grows to when
	// WithBufferSize is not given or is not positive. Two of them, 8 MiB in
	// all, absorb tens of thousands of typical JSON log lines: the burst a
	// busy service makes while the sink is slow or, on a loaded machine,
	// while the writer goroutine waits milliseconds for a processor. A
	// Writer in memory starts with 64 KiB buffers and grows them only when
	// one fills to its high-water mark between two swaps.
	DefaultBufferSize = 4 << 20

	// MinBufferSize is the smallest buffer New accepts; smaller sizes are
	// raised to it.
	MinBufferSize = 64

	// MaxBufferSize is the largest buffer New accepts; larger sizes are
	// lowered to it. A record's length is kept in 30 bits of its header,
	// which bounds it.
	MaxBufferSize = 1 << 30

	// DefaultFlushInterval is how often the writer goroutine hands a
	// buffer that is not filling up to the sink while records keep coming.
	// It writes the first record after a pause at once, and any record
	// within about one interval or one sink write, whichever is longer.
	DefaultFlushInterval = time.Millisecond

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
	reporter      *stderrReporter // the default onError, or nil
	syncTimeout   time.Duration
	maxWriteSize  int
	spoolPath     string
	notice        func(Notice) []byte
	noticeSet     bool
	clock         clock
}

// WithSink sets where records go. The default, also used for a nil
// writer, is os.Stderr, as with zap, zerolog and logrus. The Writer never
// closes the sink: the caller owns it. If the sink has a Sync() error
// method (as *os.File does), Sync and Close call it.
//
// The sink is only ever called from one goroutine at a time, so it needs
// no locking of its own. A sink that also implements RecordWriter gets the
// records with their boundaries, through WriteRecords, instead of runs of
// bytes through Write.
func WithSink(w io.Writer) Option {
	return func(c *config) { c.sink = w }
}

// WithBufferSize sets the size in bytes of each of the two buffers: the
// most they grow to in memory, and their size in a spool. A size that is
// not positive means DefaultBufferSize; other sizes are rounded up to a
// multiple of 8 and kept within [MinBufferSize, MaxBufferSize]. The
// Writer never holds more than two buffers of this size. A record longer
// than a buffer less 8 bytes never goes through the buffers: under Block
// the writer goroutine writes it alone, in its turn; under Drop it is
// dropped (WriteWait waits for its turn instead).
func WithBufferSize(bytes int) Option {
	return func(c *config) { c.bufferSize = bytes }
}

// WithFlushInterval sets how often the writer goroutine hands a buffer
// that is not filling up to the sink while records keep coming in, and so
// about the longest a record waits in memory. An interval that is not
// positive means DefaultFlushInterval. After a pause, the first record is
// written at once; the writer goroutine looks a few more times, an
// interval apart, then sleeps until the next record: an idle Writer uses
// no CPU.
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) { c.flushInterval = d }
}

// WithMaxWriteSize bounds the sink's Write calls: none is longer than n
// bytes, except one holding a single record longer than n, which is
// written alone and whole (a record is never split). Records are packed
// into as few calls as the bound allows. The Writer's own notices (see
// WithNotices) count as records here: each goes in a Write of its own, so
// a bound under the length of a notice, about 200 bytes, lets a notice
// through alone and whole; turn notices off for such a sink. A value that
// is not positive, the default, means no bound. Use it for a sink with a size limit:
// lumberjack's MaxSize (in megabytes; a write longer than MaxSize fails),
// a datagram socket, or a pipe's PIPE_BUF. lumberjack names its backups
// to the millisecond: keep its MaxSize above what the process logs in a
// millisecond, or two rotations within one share a name and the first
// backup is overwritten, its lines lost without an error.
func WithMaxWriteSize(n int) Option {
	return func(c *config) { c.maxWriteSize = n }
}

// WithNotices sets how the Writer formats the notices it writes into the
// sink (see Notice): dropped records when writing resumes, and records
// recovered from a spool. The default is JSONNotice; TextNotice suits
// text logs. A nil function turns notices off; the error handler still
// hears of drops.
func WithNotices(format func(Notice) []byte) Option {
	return func(c *config) { c.notice, c.noticeSet = format, true }
}

// WithOverflow sets what Write does when both buffers are full: Block (the
// default) or Drop. An unknown value means Block.
func WithOverflow(p Overflow) Option {
	return func(c *config) { c.overflow = p }
}

// WithErrorHandler sets the function that receives every error from the
// sink (failed and short writes, panics, errors from the sink's Sync), the
// reports of records dropped under Drop (matching ErrDropped, at most one
// a second), and a spool that cannot be used (matching ErrSpool). It is
// called from the writer goroutine (or from New, for the spool): it must
// not block for long. It may log through the same Writer (see the package
// documentation on reentrancy). The default prints one line to
// os.Stderr, at most one a second, with a count of the errors it left
// out; at Close, and after HandleSignals's sync, it prints the last error
// it left out, if any, with a count of the others, so that none goes
// unsaid. A nil function means the default.
func WithErrorHandler(f func(error)) Option {
	return func(c *config) { c.onError = f }
}

// WithSyncTimeout bounds how long Sync and Close wait for the sink to take
// what is buffered and sync, and how long New waits for the recovery of a
// spool (see WithSpool). A timeout that is not positive means
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
	c.bufferSize = (c.bufferSize + 7) &^ 7
	if c.maxWriteSize <= 0 {
		c.maxWriteSize = math.MaxInt
	}
	if !c.noticeSet {
		c.notice = JSONNotice
	}
	if c.flushInterval <= 0 {
		c.flushInterval = DefaultFlushInterval
	}
	if c.overflow != Drop {
		c.overflow = Block
	}
	if c.onError == nil {
		c.reporter = newStderrReporter(os.Stderr, time.Second)
		c.onError = c.reporter.report
	}
	if c.syncTimeout <= 0 {
		c.syncTimeout = DefaultSyncTimeout
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	return c
}
