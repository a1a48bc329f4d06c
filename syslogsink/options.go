package syslogsink

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// A Protocol is how a Sink talks to its collector: RELP or TCP.
type Protocol int

const (
	// RELP is rsyslog's Reliable Event Logging Protocol: each record is a
	// command the collector acknowledges, with a window of records in
	// flight. A record not acknowledged when a connection breaks is sent
	// again on the next one: at least once, duplicates possible and
	// counted in Stats.Resent. It is the default.
	RELP Protocol = iota
	// TCP is syslog over TCP with RFC 6587 octet counting ("LEN SP MSG"),
	// which every syslog collector accepts. Nothing is acknowledged: a
	// record written on a connection that then breaks may be lost, and is
	// counted in Stats.Unconfirmed. At most once.
	TCP
)

// String returns "RELP" or "TCP".
func (p Protocol) String() string {
	switch p {
	case RELP:
		return "RELP"
	case TCP:
		return "TCP"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// A Format is how a record becomes a syslog message.
type Format int

const (
	// RFC5424 sends each record as the MSG of an RFC 5424 message: PRI
	// from the facility and the record's own level, a timestamp, the
	// hostname, the app name and the process id. It is the default.
	RFC5424 Format = iota
	// Raw sends each record alone, for collectors that parse the record
	// (JSON, say) themselves.
	Raw
)

// String returns "RFC5424" or "Raw".
func (f Format) String() string {
	switch f {
	case RFC5424:
		return "RFC5424"
	case Raw:
		return "Raw"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Defaults of a Sink's options.
const (
	DefaultMaxMessageSize = 8 << 10 // rsyslog's default maxMessageSize
	DefaultWindow         = 128     // RELP records in flight
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultTimeout        = 10 * time.Second
)

// An Option configures a Sink.
type Option func(*config)

type config struct {
	protocol     Protocol
	tls          *tls.Config
	format       Format
	facility     Facility
	appName      string
	hostname     string
	procID       string
	maxMessage   int
	window       int
	minBackoff   time.Duration
	maxBackoff   time.Duration
	timeout      time.Duration
	errorHandler func(error)
}

// WithProtocol sets the protocol: RELP (the default) or TCP.
func WithProtocol(p Protocol) Option {
	return func(c *config) {
		if p == RELP || p == TCP {
			c.protocol = p
		}
	}
}

// WithTLS makes the Sink speak TLS with cfg: RFC 5425 for TCP, RELP over
// TLS for RELP. A ServerName left empty is taken from the address. A
// handshake that fails (a certificate the Sink does not trust, say) is an
// error like any failed connection: the Sink retries with backoff and
// never falls back to plaintext. A nil cfg means plaintext.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithFormat sets the format: RFC5424 (the default) or Raw.
func WithFormat(f Format) Option {
	return func(c *config) {
		if f == RFC5424 || f == Raw {
			c.format = f
		}
	}
}

// WithFacility sets the facility of RFC 5424 messages (User by default).
// A facility out of range is ignored.
func WithFacility(f Facility) Option {
	return func(c *config) {
		if f >= Kern && f <= Local7 {
			c.facility = f
		}
	}
}

// WithAppName sets the APP-NAME of RFC 5424 messages: by default the base
// name of the program. Characters RFC 5424 does not allow there (outside
// printable ASCII, or spaces) become '_', and it is cut to 48 bytes.
func WithAppName(name string) Option {
	return func(c *config) { c.appName = name }
}

// WithHostname sets the HOSTNAME of RFC 5424 messages: by default
// os.Hostname. Characters outside printable ASCII become '_', and it is
// cut to 255 bytes.
func WithHostname(name string) Option {
	return func(c *config) { c.hostname = name }
}

// WithMaxMessageSize sets the longest message the Sink sends, in bytes,
// header included: the collector's limit (rsyslog's maxMessageSize, 8 KiB
// by default, which is the default here too). A record whose message is
// longer is never split and never truncated: it is not sent, it is
// counted in Stats.Rejected, and the error of the call that carried it
// gives its length and the limit (errors.Is ErrTooLong). Values below 64
// are raised to 64.
func WithMaxMessageSize(n int) Option {
	return func(c *config) { c.maxMessage = max(n, 64) }
}

// WithWindow sets how many RELP records may be in flight, written and not
// yet acknowledged (128 by default; values below 1 are raised to 1). It
// also bounds the duplicates one broken connection can cause.
func WithWindow(n int) Option {
	return func(c *config) { c.window = max(n, 1) }
}

// WithBackoff sets how long the Sink waits between failed connection
// attempts: from min, doubling up to max, each wait drawn at random
// between half and all of it, so that many senders that lost the same
// collector do not reconnect in step. It restarts from min once the
// collector takes records again. Defaults: 100 ms and 10 s. A min below
// 1 ms is raised to 1 ms, and a max below min raised to min.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) {
		c.minBackoff = min
		c.maxBackoff = max
	}
}

// WithTimeout sets the deadline of every network operation: a dial, a
// handshake, a write, the wait for a RELP acknowledgement (10 s by
// default). A collector that does not answer within it is a broken
// connection.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithErrorHandler sets a function that the Sink calls with each failed
// connection attempt and each broken connection, as it happens (the Sink
// keeps retrying: its WriteRecords returns only once the records are
// delivered, or the Sink is closed). It runs on the goroutine that called
// WriteRecords or Write, and must not call the Sink.
func WithErrorHandler(f func(error)) Option {
	return func(c *config) { c.errorHandler = f }
}

func newConfig(opts []Option) config {
	c := config{
		facility:   User,
		maxMessage: DefaultMaxMessageSize,
		window:     DefaultWindow,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		timeout:    DefaultTimeout,
		procID:     strconv.Itoa(os.Getpid()),
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.appName == "" {
		c.appName = filepath.Base(os.Args[0])
	}
	if c.hostname == "" {
		c.hostname, _ = os.Hostname()
	}
	c.appName = headerField(c.appName, 48)
	c.hostname = headerField(c.hostname, 255)
	c.minBackoff = max(c.minBackoff, time.Millisecond)
	c.maxBackoff = max(c.maxBackoff, c.minBackoff)
	return c
}
