// Package bench compares asynclog with the outputs a zap, zerolog, logrus
// or log/slog user would pick instead: what one logging call costs, how
// its latency is spread under sustained load, how many entries are lost,
// and how much heap the output holds.
//
// Every peer is set up once, as an Output. The go-test benchmarks in this
// package and the latency harness (Run) both take their outputs from
// Outputs, so that both measure exactly the same configuration. The
// command asynclog-bench runs both and renders the tables of
// BENCHMARKS.md.
package bench

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/asynclog/asynclog/core"
)

// A Case is the entry that every call of a Logger writes.
type Case string

const (
	// Fields is a request log: a message with 10 fields of the usual
	// types (strings, integers, a duration, a bool and an error).
	Fields Case = "fields"

	// Static is a message with no fields.
	Static Case = "static"

	// Record is a preformatted 256-byte line written with io.Writer.Write.
	// It is the only case of the "core" group, which has no logger.
	Record Case = "record"
)

// The content of the entries. Every logger writes the same message and
// the same field names and values, in its own JSON dialect.
const (
	fieldsMessage = "request handled"
	staticMessage = "cache warmed up"

	fMethod     = "GET"
	fPath       = "/api/v1/users/42"
	fStatus     = 200
	fBytes      = int64(5120)
	fLatency    = 1234567 * time.Nanosecond
	fRequestID  = "4bf92f3577b34da6a3ce929d0e0e4736"
	fRemoteAddr = "192.0.2.10:54321"
	fUserAgent  = "Mozilla/5.0 (X11; Linux x86_64)"
	fCached     = false
)

var errUpstream = errors.New("upstream: connection reset by peer")

// record is the line of case Record: 255 bytes and a newline.
var record = func() []byte {
	p := make([]byte, 256)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	p[len(p)-1] = '\n'
	return p
}()

// A Logger writes entries of one Case to one sink. Log is called from many
// goroutines at once; Sync and Close may run concurrently with Log.
type Logger interface {
	Log() // writes one entry

	// Sync flushes what was logged so far to the sink and makes it durable
	// the way the output's users would: the output's own Sync where it has
	// one, otherwise the sink's (fsync for a file).
	Sync() error

	// Close flushes and stops the output. Afterwards every entry the output
	// accepted is in the sink. It does not close the sink, but some peers
	// do (the diode closes a sink that is an io.Closer).
	Close() error
}

// An Output is one way of getting entries from a logger to a sink, such as
// "zap over a BufferedWriteSyncer" or "zerolog over asynclog".
type Output struct {
	Group string // the logger ("zap", "zerolog", "logrus", "slog"), or "core" for bare writers
	Name  string // the output's name in its group and in benchmark names
	Title string // the output's name in tables

	// Discard marks the outputs that write nowhere, whatever sink they are
	// given: they measure what the layers in front of a sink cost. Their
	// entries are not counted (no loss), they run on the page-cache file
	// only, and no ratio takes them as the best of their group. A group's
	// floor, which its ratios are against, is its first output (Floor).
	Discard bool

	// Lossy marks the outputs that drop entries by design when their sink
	// falls behind. All others must deliver every entry.
	Lossy bool

	Cases []Case                              // the cases the output supports
	Open  func(sink io.Writer, c Case) Logger // makes a Logger of case c writing to sink
}

// Supports reports whether o can log entries of case c.
func (o *Output) Supports(c Case) bool { return slices.Contains(o.Cases, c) }

// ID returns "group/name", the output's name in benchmarks and reports.
func (o *Output) ID() string { return o.Group + "/" + o.Name }

// LoggerCases are the cases of every logger group.
var LoggerCases = []Case{Fields, Static}

var registry []*Output

// register adds the outputs of group, which support cases, to the list
// returned by Outputs, in order.
func register(group string, cases []Case, outs ...*Output) {
	for _, o := range outs {
		o.Group, o.Cases = group, cases
		registry = append(registry, o)
	}
}

// Outputs returns every output, grouped by logger, each group's outputs in
// the order the tables show them: the io.Discard floor first.
func Outputs() []*Output {
	out := slices.Clone(registry)
	slices.SortStableFunc(out, func(a, b *Output) int {
		return slices.Index(groups, a.Group) - slices.Index(groups, b.Group)
	})
	return out
}

var groups = []string{"zap", "zerolog", "logrus", "slog", "core"}

// Floor returns the first output of group, which discards: the floor that
// the group's ratios are against (io.Discard, or the core group's floor).
// It returns nil for an unknown group.
func Floor(group string) *Output {
	for _, o := range Outputs() {
		if o.Group == group {
			return o
		}
	}
	return nil
}

// Groups returns the group names in the order of Outputs.
func Groups() []string { return slices.Clone(groups) }

// Find returns the output whose ID is id, or nil.
func Find(id string) *Output {
	for _, o := range registry {
		if o.ID() == id {
			return o
		}
	}
	return nil
}

// funcLogger is a Logger made of functions.
type funcLogger struct {
	log         func()
	sync, close func() error
}

func (l *funcLogger) Log()         { l.log() }
func (l *funcLogger) Sync() error  { return l.sync() }
func (l *funcLogger) Close() error { return l.close() }

// statsLogger is a Logger over asynclog, which also reports the counters
// of its core.Writer; Run keeps them in Result.Core.
type statsLogger struct {
	Logger
	stats func() core.Stats
}

func (l statsLogger) Stats() core.Stats { return l.stats() }

// syncOf returns w's Sync method, or a no-op if it has none.
func syncOf(w io.Writer) func() error {
	if s, ok := w.(interface{ Sync() error }); ok {
		return s.Sync
	}
	return func() error { return nil }
}

func nop() error { return nil }
