package zapasync

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/syslogsink"
)

// Scheme is the URL scheme RegisterSink registers with zap for files and
// the standard streams.
const Scheme = "asynclog"

// SchemeRELP and SchemeSyslog are the URL schemes RegisterSink registers
// with zap for a syslog collector: RELP, and syslog over TCP (RFC 6587
// octet counting), through a syslogsink.Sink.
const (
	SchemeRELP   = "asynclog+relp"
	SchemeSyslog = "asynclog+syslog"
)

// RegisterSink registers the URL scheme "asynclog" with zap, so that an
// output path such as "asynclog:///var/log/app.log" in a zap.Config (its
// OutputPaths or ErrorOutputPaths) or given to zap.Open writes through a
// new core.Writer. Call it once, before building loggers: in main or in an
// init function. zap cannot forget a scheme, so a second call returns
// zap's error, wrapped, and changes nothing.
//
// The opts are the defaults of every sink the scheme opens; a
// core.WithSink among them is ignored, since the URL names the sink. The
// URL's query overrides them, per sink.
//
// # URLs
//
//	asynclog:///var/log/app.log    an absolute path (asynclog://localhost/var/log/app.log too)
//	asynclog:logs/app.log          a path relative to the working directory
//	asynclog:stdout                os.Stdout
//	asynclog:stderr                os.Stderr
//
// A path is percent-encoded, as in any URL: a space is %20, '?' is %3F,
// '#' is %23 and '%' is %25. A host other than localhost is refused: zap
// parses "asynclog://app.log" as the host app.log with no path. On
// Windows, asynclog:///C:/logs/app.log is C:\logs\app.log. A file is
// opened as zap opens one: created if missing, appended to, mode 0666
// before the umask; its directory must exist.
//
// The query, all parameters optional, each at most once:
//
//	buffer=1MiB       core.WithBufferSize: bytes, or a whole number of B, KiB, MiB or GiB
//	flush=50ms        core.WithFlushInterval: a time.ParseDuration string, above zero
//	overflow=drop     core.WithOverflow: block or drop
//	maxwrite=100MiB   core.WithMaxWriteSize: bytes, or a whole number of B, KiB, MiB or GiB
//	spool=app.spool   core.WithSpool: a file path, absolute or relative to the working directory
//
// A relative path, of the log as of the spool, is resolved against the
// process's working directory when zap opens the sink, not against the
// log's directory: "asynclog:///var/log/app.log?spool=app.spool" puts the
// spool in the working directory, and a program started from another
// directory uses (or creates) another spool, leaving the first one's
// records unrecovered. Give the spool an absolute path, as the log's:
// "asynclog:///var/log/app.log?spool=/var/log/app.spool".
//
// For example "asynclog:app.log?buffer=256KiB&overflow=drop". Keys and
// values are percent-decoded as the path is: a space is %20, '&' is %26,
// '%' is %25, and '+' stands for itself, not for a space. Anything else
// in the URL (a parameter not listed, a value that does not parse, a
// user, a port, a fragment) makes zap fail to open the sink, with an
// error that says why. A spool that cannot be used does not: as
// core.WithSpool says, the core then runs on memory buffers, and the
// error goes to the error handler and to the first logger.Sync().
//
// # Collectors
//
// RegisterSink also registers the schemes "asynclog+relp" and
// "asynclog+syslog", which send each entry as one syslog message to a
// collector (rsyslog, say) through a syslogsink.Sink under the core:
//
//	asynclog+relp://logs.example.com:2514     RELP: acknowledged, at least once
//	asynclog+syslog://logs.example.com:6514   syslog over TCP, RFC 6587 octet counting: at most once
//
// A host and a port are required; a path, a user and a fragment are not
// allowed. Their query takes the parameters above, and these, each at
// most once, all optional:
//
//	format=raw        syslogsink.WithFormat: rfc5424 (the default) or raw
//	facility=local0   syslogsink.WithFacility: a name (kern, user, daemon, local0 ... local7) or 0 to 23
//	app=shop          syslogsink.WithAppName
//	hostname=web-1    syslogsink.WithHostname
//	maxmsg=64KiB      syslogsink.WithMaxMessageSize: bytes, B, KiB, MiB or GiB
//	window=256        syslogsink.WithWindow (RELP)
//	tls=on            syslogsink.WithTLS, trusting the system's roots; "off" is the default
//	ca=/etc/ca.pem    with tls=on: trust the CA certificates of this PEM file instead
//	cert=/etc/c.pem   with tls=on and key: a client certificate (rsyslog's RELP over TLS asks for one)
//	key=/etc/c.key
//
// While the collector cannot be reached the sink retries, with backoff,
// and writes each failed attempt to os.Stderr, at most one a second; the
// core's buffers fill meanwhile and overflow decides. A sink's Close
// flushes, then closes the syslogsink.Sink, which stops its retries: what
// was still not delivered is then counted lost and reported to the core's
// error handler.
//
// # OpenTelemetry Collector
//
// RegisterSink also registers the schemes asynclog+otlp and asynclog+otlps
// (SchemeOTLP and SchemeOTLPS): "asynclog+otlp://127.0.0.1:4318" writes
// through a new core.Writer to an otlpsink.Sink that sends each entry,
// as one OTLP LogRecord, to the collector at http://127.0.0.1:4318/v1/logs
// ("asynclog+otlps://otel.example.com" over https, verified against the
// system's roots). A path in the URL is the endpoint's base path. The
// query takes the parameters above, except that spool is the only path.
// For headers, a private CA or resource attributes, build the Sink with
// otlpsink.New and give it to New with core.WithSink. The sink's Close
// closes the Writer and then the otlpsink.Sink.
//
// # What a sink does
//
// zap.Config.Build puts the sink under zapcore.NewCore, and behind zap's
// own lock (zap.CombineWriteSyncers), so it behaves as a WriteSyncer under
// zapcore.NewCore does: logger.Sync() is a barrier that flushes and syncs
// it, zap syncs it after every DPanic, Panic and Fatal entry before
// panicking or exiting, and under overflow=drop any entry, at any level,
// may be dropped when the buffers are full (NewCore, which never drops
// Error and above, needs zap.New rather than a Config). A Write that waits
// for room, under overflow=block, does so holding zap's lock, so other
// goroutines logging to the same logger wait for it rather than for the
// core.
//
// # Closing
//
// A sink's Close flushes what is buffered, syncs, stops the core's
// goroutine and then closes the file it opened; it never closes os.Stdout
// or os.Stderr. zap.Open returns a function that closes the sinks it
// opened. zap.Config.Build returns none: call logger.Sync() and then
// CloseSinks before the program ends, or at least logger.Sync(), which
// leaves nothing buffered.
func RegisterSink(opts ...core.Option) error {
	for _, scheme := range []string{Scheme, SchemeRELP, SchemeSyslog} {
		if err := zap.RegisterSink(scheme, sinkFactory(opts)); err != nil {
			return fmt.Errorf("zapasync: registering the %s scheme: %w", scheme, err)
		}
	}
	if err := registerOTLP(opts); err != nil {
		return err
	}
	return nil
}

// CloseSinks closes every sink that the scheme registered by RegisterSink
// opened and that is not closed yet, as their Close does: flushed, synced,
// stopped and their files closed. Entries logged to them afterwards are
// refused with core.ErrClosed, which zap reports on its ErrorOutput. It
// returns the errors of those Close calls, joined.
func CloseSinks() error {
	openSinks.mu.Lock()
	sinks := make([]*sink, 0, len(openSinks.set))
	for s := range openSinks.set {
		sinks = append(sinks, s)
	}
	openSinks.mu.Unlock()
	var errs []error
	for _, s := range sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// openSinks are the sinks opened and not yet closed, for CloseSinks.
var openSinks struct {
	mu  sync.Mutex
	set map[*sink]struct{}
}

// A sink is a WriteSyncer over a file, a standard stream or a syslog
// collector: a zap.Sink.
type sink struct {
	*WriteSyncer
	file *os.File  // the file opened; nil for os.Stdout and os.Stderr
	net  io.Closer // the collector's sink (syslogsink or otlpsink), closed after the WriteSyncer

	closeOnce sync.Once
	closeErr  error
}

// Close flushes, syncs and stops the WriteSyncer, then closes the file it
// opened. It is idempotent.
func (s *sink) Close() error {
	s.closeOnce.Do(func() {
		openSinks.mu.Lock()
		delete(openSinks.set, s)
		openSinks.mu.Unlock()
		s.closeErr = s.WriteSyncer.Close()
		if s.net != nil {
			s.closeErr = errors.Join(s.closeErr, s.net.Close())
		}
		if s.file != nil {
			s.closeErr = errors.Join(s.closeErr, s.file.Close())
		}
	})
	return s.closeErr
}

var _ zap.Sink = (*sink)(nil)

// sinkFactory returns the factory RegisterSink gives zap: it opens the
// sink a URL names, with defaults overridden by the URL's query.
func sinkFactory(defaults []core.Option) func(*url.URL) (zap.Sink, error) {
	defaults = slices.Clip(slices.Clone(defaults))
	return func(u *url.URL) (zap.Sink, error) {
		t, err := parseSinkURL(u)
		if err != nil {
			return nil, fmt.Errorf("zapasync: %w", err)
		}
		s := &sink{}
		var out io.Writer
		switch {
		case t.addr != "":
			opts, err := t.syslogOptions()
			if err != nil {
				return nil, fmt.Errorf("zapasync: %v: %w", u, err)
			}
			collector := syslogsink.New(t.addr, opts...)
			s.net, out = collector, collector
		case t.stream != nil:
			out = t.stream
		default:
			if s.file, err = os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); err != nil {
				return nil, fmt.Errorf("zapasync: %w", err)
			}
			out = s.file
		}
		opts := append(defaults, core.WithSink(out))
		opts = append(opts, t.options()...)
		s.WriteSyncer = New(opts...)
		openSinks.mu.Lock()
		if openSinks.set == nil {
			openSinks.set = make(map[*sink]struct{})
		}
		openSinks.set[s] = struct{}{}
		openSinks.mu.Unlock()
		return s, nil
	}
}

// A sinkTarget is what an asynclog URL says: where to write, and the
// settings its query overrides (zero where it does not).
type sinkTarget struct {
	path   string   // the file, if stream is nil and addr empty
	stream *os.File // os.Stdout or os.Stderr
	addr   string   // a collector's host:port, for SchemeRELP and SchemeSyslog

	protocol syslogsink.Protocol
	syslog   map[string]string // the collector's parameters given

	bufferSize   int
	flush        time.Duration
	overflow     string // "", "block" or "drop"
	maxWriteSize int
	spool        string // the spool's path
}

// options returns the core options the URL's query sets.
func (t sinkTarget) options() []core.Option {
	var opts []core.Option
	if t.bufferSize > 0 {
		opts = append(opts, core.WithBufferSize(t.bufferSize))
	}
	if t.flush > 0 {
		opts = append(opts, core.WithFlushInterval(t.flush))
	}
	switch t.overflow {
	case "block":
		opts = append(opts, core.WithOverflow(core.Block))
	case "drop":
		opts = append(opts, core.WithOverflow(core.Drop))
	}
	if t.maxWriteSize > 0 {
		opts = append(opts, core.WithMaxWriteSize(t.maxWriteSize))
	}
	if t.spool != "" {
		opts = append(opts, core.WithSpool(t.spool))
	}
	return opts
}

// parseSinkURL reads an asynclog URL, as zap parsed it.
func parseSinkURL(u *url.URL) (sinkTarget, error) {
	var t sinkTarget
	if u.Scheme == SchemeRELP || u.Scheme == SchemeSyslog {
		return parseCollectorURL(u)
	}
	switch {
	case u.User != nil:
		return t, fmt.Errorf("%v: a user is not allowed", u)
	case u.Fragment != "":
		return t, fmt.Errorf("%v: a fragment is not allowed (a '#' in a path is %%23)", u)
	case u.Opaque != "":
		// asynclog:path, with no slash after the colon.
		path, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return t, fmt.Errorf("%v: %w", u, err)
		}
		switch path {
		case "stdout":
			t.stream = os.Stdout
		case "stderr":
			t.stream = os.Stderr
		default:
			t.path = filepath.FromSlash(path)
		}
	default:
		if u.Port() != "" {
			return t, fmt.Errorf("%v: a port is not allowed", u)
		}
		if h := u.Hostname(); h != "" && h != "localhost" {
			return t, fmt.Errorf("%v: host %q is not allowed: a relative path is %s:%s%s, an absolute one %s:///%s%s",
				u, h, Scheme, h, u.Path, Scheme, h, u.Path)
		}
		if u.Path == "" {
			return t, fmt.Errorf("%v: no path: write %s:///absolute/path, %s:relative/path, %s:stdout or %s:stderr",
				u, Scheme, Scheme, Scheme, Scheme)
		}
		path := u.Path
		if runtime.GOOS == "windows" && len(path) >= 3 && path[0] == '/' && path[2] == ':' {
			path = path[1:] // /C:/logs/app.log
		}
		t.path = filepath.FromSlash(path)
	}
	if err := t.parseQuery(u.RawQuery); err != nil {
		return t, fmt.Errorf("%v: %w", u, err)
	}
	return t, nil
}

// parseQuery reads the settings of an asynclog URL's query.
func (t *sinkTarget) parseQuery(rawQuery string) error {
	query, err := splitQuery(rawQuery)
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(query)) {
		values := query[key]
		if len(values) != 1 {
			return fmt.Errorf("parameter %s given %d times", key, len(values))
		}
		v := values[0]
		switch key {
		case "buffer":
			if t.bufferSize, err = parseSize(v); err != nil {
				return fmt.Errorf("buffer=%s: %w", v, err)
			}
		case "flush":
			if t.flush, err = time.ParseDuration(v); err != nil {
				return fmt.Errorf("flush=%s: %w", v, err)
			}
			if t.flush <= 0 {
				return fmt.Errorf("flush=%s: not above zero", v)
			}
		case "overflow":
			if v != "block" && v != "drop" {
				return fmt.Errorf("overflow=%s: want block or drop", v)
			}
			t.overflow = v
		case "maxwrite":
			if t.maxWriteSize, err = parseSize(v); err != nil {
				return fmt.Errorf("maxwrite=%s: %w", v, err)
			}
		case "spool":
			if v == "" {
				return errors.New("spool=: want a file path")
			}
			t.spool = filepath.FromSlash(v)
		default:
			if t.addr != "" && slices.Contains(collectorParams, key) {
				t.syslog[key] = v
				continue
			}
			if t.addr != "" {
				return fmt.Errorf("unknown parameter %q: want buffer, flush, overflow, maxwrite, spool, %s", key, strings.Join(collectorParams, ", "))
			}
			return fmt.Errorf("unknown parameter %q: want buffer, flush, overflow, maxwrite or spool", key)
		}
	}
	return nil
}

// splitQuery splits a raw query into its parameters, percent-decoding keys
// and values as url.PathUnescape does: unlike url.ParseQuery, it leaves a
// '+' alone, as a file path needs.
func splitQuery(rawQuery string) (map[string][]string, error) {
	query := make(map[string][]string)
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err := url.PathUnescape(rawKey)
		if err != nil {
			return nil, err
		}
		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return nil, err
		}
		query[key] = append(query[key], value)
	}
	return query, nil
}

// sizeUnits are the units parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize parses a size, of a buffer or of a write: a whole number of
// bytes, or of B, KiB, MiB or GiB. It must be above zero and fit in an int.
func parseSize(s string) (int, error) {
	digits, unit := s, int64(1)
	for _, u := range sizeUnits {
		if d, ok := strings.CutSuffix(s, u.suffix); ok {
			digits, unit = d, u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a whole number above zero of bytes, B, KiB, MiB or GiB")
	}
	if n > math.MaxInt/unit {
		return 0, errors.New("too large")
	}
	return int(n * unit), nil
}
