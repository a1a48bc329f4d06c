package otlpsink

import (
	"crypto/tls"
	"maps"
	"time"
)

// An Option configures a Sink.
type Option func(*config)

// An Attr is one attribute of the resource the records come from, such as
// service.name or deployment.environment.
type Attr struct {
	Key   string
	Value string
}

// Defaults.
const (
	// DefaultTimeout bounds one request, from connecting to the end of the
	// collector's answer.
	DefaultTimeout = 10 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the wait between two
	// tries of a request that failed in a way worth retrying.
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 5 * time.Second
	// DefaultMaxRequestSize bounds the encoded, uncompressed records of one
	// request.
	DefaultMaxRequestSize = 4 << 20
)

type config struct {
	resource   []Attr
	headers    map[string]string
	tls        *tls.Config
	timeout    time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	gzip       bool
	maxRequest int
}

func defaultConfig() config {
	return config{
		timeout:    DefaultTimeout,
		backoffMin: DefaultBackoffMin,
		backoffMax: DefaultBackoffMax,
		gzip:       true,
		maxRequest: DefaultMaxRequestSize,
	}
}

// WithResource sets attributes of the resource every record is sent with.
// service.name defaults to the program's name (the base name of
// os.Args[0]); an Attr with that key replaces it. Later options add to
// earlier ones, and a later value for a key replaces an earlier one.
func WithResource(attrs ...Attr) Option {
	return func(c *config) {
		for _, a := range attrs {
			replaced := false
			for i := range c.resource {
				if c.resource[i].Key == a.Key {
					c.resource[i].Value, replaced = a.Value, true
				}
			}
			if !replaced {
				c.resource = append(c.resource, a)
			}
		}
	}
}

// WithHeaders adds HTTP headers to every request, such as an
// Authorization token. Later options add to earlier ones.
func WithHeaders(h map[string]string) Option {
	return func(c *config) {
		if c.headers == nil {
			c.headers = make(map[string]string, len(h))
		}
		maps.Copy(c.headers, h)
	}
}

// WithTLS sets the TLS configuration for an https endpoint: a private CA
// in RootCAs, a client certificate. Without it an https endpoint is
// verified against the system's roots.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg.Clone() }
}

// WithTimeout bounds one request, from connecting to the end of the
// collector's answer (DefaultTimeout by default). A request that times
// out is retried; if the collector had taken it after all, its records
// arrive twice. A value of zero or less keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithBackoff sets the bounds of the wait between two tries of a request
// that failed in a way worth retrying: the first wait is about min, each
// next one about twice the last, up to max, each drawn at random from its
// upper half so that many senders do not retry in step. A Retry-After
// from the collector replaces the drawn wait. Values of zero or less keep
// the defaults; max is raised to min if below it.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) {
		if min > 0 {
			c.backoffMin = min
		}
		if max > 0 {
			c.backoffMax = max
		}
		c.backoffMax = maxDuration(c.backoffMax, c.backoffMin)
	}
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// WithGzip turns gzip compression of requests on (the default, at
// gzip.BestSpeed, which costs the writer goroutine least) or off.
func WithGzip(on bool) Option {
	return func(c *config) { c.gzip = on }
}

// WithMaxRequestSize bounds the encoded, uncompressed records of one
// request (DefaultMaxRequestSize by default); more records are sent in
// more requests. A record whose encoding alone is longer is dropped and
// counted in Stats.Unrepresentable. Keep it under the collector's limit
// (its receiver's max_request_body_size). Values below 1 KiB are raised
// to 1 KiB.
func WithMaxRequestSize(n int) Option {
	return func(c *config) { c.maxRequest = max(n, 1<<10) }
}
