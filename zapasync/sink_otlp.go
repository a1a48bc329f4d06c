package zapasync

import (
	"fmt"
	"net/url"
	"slices"

	"go.uber.org/zap"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/otlpsink"
)

// The URL schemes RegisterSink also registers with zap, for a sink that
// ships to an OpenTelemetry Collector over OTLP/HTTP (see otlpsink):
// SchemeOTLP over http, SchemeOTLPS over https.
const (
	SchemeOTLP  = "asynclog+otlp"
	SchemeOTLPS = "asynclog+otlps"
)

// registerOTLP registers SchemeOTLP and SchemeOTLPS. An output path such
// as "asynclog+otlp://127.0.0.1:4318" writes through a new core.Writer to
// an otlpsink.Sink with its defaults: the records go to the collector's
// /v1/logs, under the URL's path if it has one. The query takes the same
// parameters as an asynclog URL's (buffer, flush, overflow, maxwrite,
// spool); a user, a fragment or another parameter is an error. For
// headers, TLS settings or resource attributes, build the Sink with
// otlpsink.New and give it to New with core.WithSink.
func registerOTLP(defaults []core.Option) error {
	for scheme, httpScheme := range map[string]string{SchemeOTLP: "http", SchemeOTLPS: "https"} {
		if err := zap.RegisterSink(scheme, otlpSinkFactory(defaults, httpScheme)); err != nil {
			return fmt.Errorf("zapasync: registering the %s scheme: %w", scheme, err)
		}
	}
	return nil
}

func otlpSinkFactory(defaults []core.Option, httpScheme string) func(*url.URL) (zap.Sink, error) {
	defaults = slices.Clip(slices.Clone(defaults))
	return func(u *url.URL) (zap.Sink, error) {
		switch {
		case u.User != nil:
			return nil, fmt.Errorf("zapasync: %v: a user is not allowed", u)
		case u.Fragment != "":
			return nil, fmt.Errorf("zapasync: %v: a fragment is not allowed", u)
		case u.Opaque != "" || u.Host == "":
			return nil, fmt.Errorf("zapasync: %v: want %s://host:port", u, u.Scheme)
		}
		var t sinkTarget
		if err := t.parseQuery(u.RawQuery); err != nil {
			return nil, fmt.Errorf("zapasync: %v: %w", u, err)
		}
		endpoint := url.URL{Scheme: httpScheme, Host: u.Host, Path: u.Path}
		ns := otlpsink.New(endpoint.String())
		opts := append(defaults, core.WithSink(ns))
		opts = append(opts, t.options()...)
		s := &sink{WriteSyncer: New(opts...), net: ns}
		openSinks.mu.Lock()
		if openSinks.set == nil {
			openSinks.set = make(map[*sink]struct{})
		}
		openSinks.set[s] = struct{}{}
		openSinks.mu.Unlock()
		return s, nil
	}
}
