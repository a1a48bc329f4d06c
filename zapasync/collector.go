package zapasync

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynclog/asynclog/syslogsink"
)

// collectorParams are the query parameters of SchemeRELP and SchemeSyslog
// URLs besides the core's.
var collectorParams = []string{"format", "facility", "app", "hostname", "maxmsg", "window", "tls", "ca", "cert", "key"}

// facilityNames are the names facility= takes, by value.
var facilityNames = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5",
	"local6", "local7"}

// parseCollectorURL reads an asynclog+relp or asynclog+syslog URL.
func parseCollectorURL(u *url.URL) (sinkTarget, error) {
	t := sinkTarget{protocol: syslogsink.RELP, syslog: map[string]string{}}
	if u.Scheme == SchemeSyslog {
		t.protocol = syslogsink.TCP
	}
	switch {
	case u.User != nil:
		return t, fmt.Errorf("%v: a user is not allowed", u)
	case u.Fragment != "":
		return t, fmt.Errorf("%v: a fragment is not allowed", u)
	case u.Opaque != "" || u.Host == "":
		return t, fmt.Errorf("%v: want %s://host:port", u, u.Scheme)
	case u.Path != "" && u.Path != "/":
		return t, fmt.Errorf("%v: a path is not allowed: want %s://host:port", u, u.Scheme)
	case u.Port() == "":
		return t, fmt.Errorf("%v: no port: want %s://host:port", u, u.Scheme)
	}
	t.addr = net.JoinHostPort(u.Hostname(), u.Port())
	if err := t.parseQuery(u.RawQuery); err != nil {
		return t, fmt.Errorf("%v: %w", u, err)
	}
	if _, err := t.syslogOptions(); err != nil {
		return t, fmt.Errorf("%v: %w", u, err)
	}
	return t, nil
}

// syslogOptions returns the syslogsink options of the URL's query. It
// reads the files of ca, cert and key.
func (t sinkTarget) syslogOptions() ([]syslogsink.Option, error) {
	opts := []syslogsink.Option{syslogsink.WithProtocol(t.protocol), syslogsink.WithErrorHandler(newConnReporter().report)}
	q := t.syslog
	if v, ok := q["format"]; ok {
		switch v {
		case "rfc5424":
			opts = append(opts, syslogsink.WithFormat(syslogsink.RFC5424))
		case "raw":
			opts = append(opts, syslogsink.WithFormat(syslogsink.Raw))
		default:
			return nil, fmt.Errorf("format=%s: want rfc5424 or raw", v)
		}
	}
	if v, ok := q["facility"]; ok {
		f := -1
		for i, name := range facilityNames {
			if v == name {
				f = i
			}
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(facilityNames) {
			f = n
		}
		if f < 0 {
			return nil, fmt.Errorf("facility=%s: want one of %s, or 0 to 23", v, strings.Join(facilityNames, ", "))
		}
		opts = append(opts, syslogsink.WithFacility(syslogsink.Facility(f)))
	}
	if v, ok := q["app"]; ok {
		opts = append(opts, syslogsink.WithAppName(v))
	}
	if v, ok := q["hostname"]; ok {
		opts = append(opts, syslogsink.WithHostname(v))
	}
	if v, ok := q["maxmsg"]; ok {
		n, err := parseSize(v)
		if err != nil {
			return nil, fmt.Errorf("maxmsg=%s: %w", v, err)
		}
		opts = append(opts, syslogsink.WithMaxMessageSize(n))
	}
	if v, ok := q["window"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("window=%s: want a whole number above zero", v)
		}
		opts = append(opts, syslogsink.WithWindow(n))
	}
	cfg, err := t.tlsConfig()
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		opts = append(opts, syslogsink.WithTLS(cfg))
	}
	return opts, nil
}

// tlsConfig returns the TLS config of the URL's query, or nil for none.
func (t sinkTarget) tlsConfig() (*tls.Config, error) {
	q := t.syslog
	switch q["tls"] {
	case "", "off":
		for _, k := range []string{"ca", "cert", "key"} {
			if _, ok := q[k]; ok {
				return nil, fmt.Errorf("%s= without tls=on", k)
			}
		}
		return nil, nil
	case "on":
	default:
		return nil, fmt.Errorf("tls=%s: want on or off", q["tls"])
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca, ok := q["ca"]; ok {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ca=%s: %w", ca, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca=%s: no PEM certificate in the file", ca)
		}
	}
	cert, hasCert := q["cert"]
	key, hasKey := q["key"]
	if hasCert != hasKey {
		return nil, errors.New("cert= and key= go together")
	}
	if hasCert {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cert=%s, key=%s: %w", cert, key, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// A connReporter writes the connection errors of a collector's sink, as
// they happen while the sink retries, to os.Stderr, at most one a second,
// with a count of those it left out.
type connReporter struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func newConnReporter() *connReporter { return &connReporter{} }

func (r *connReporter) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < time.Second {
		r.skipped++
		return
	}
	if r.skipped > 0 {
		fmt.Fprintf(os.Stderr, "zapasync: %v (and %d more errors of the connection)\n", err, r.skipped)
	} else {
		fmt.Fprintf(os.Stderr, "zapasync: %v\n", err)
	}
	r.last, r.skipped = now, 0
}
