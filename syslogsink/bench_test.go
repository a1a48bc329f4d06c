//go:build linux || darwin || freebsd

package syslogsink

import (
	"testing"
	"time"

	"github.com/asynclog/asynclog/core"
)

// BenchmarkRsyslog sends 200-byte records to a healthy rsyslogd, in
// calls of 256 records as a core.Writer's writer goroutine makes them,
// and reports records a second and allocations per call.
func BenchmarkRsyslog(b *testing.B) {
	for _, pc := range benchCases {
		b.Run(pc.name, func(b *testing.B) {
			o := rsyslogdOptions{queued: pc.queued}
			opts := []Option{WithProtocol(pc.proto), WithWindow(benchWindow)}
			if pc.tls {
				o.pki = newTestPKI(b)
				opts = append(opts, WithTLS(o.pki.clientConfig()))
			}
			r := startRsyslogd(b, o)
			s := New(r.addr(pc.proto), opts...)
			defer s.Close()
			batch := make([][]byte, 256)
			for i := range batch {
				batch[i] = testRecord(0, i, 200)
			}
			if _, err := s.WriteRecords(batch); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := s.WriteRecords(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "records/s")
		})
	}
}

var benchWindow = DefaultWindow

// benchCases are protocolCases, and RELP to a collector that acknowledges
// on enqueue (its ruleset's default queue), which measures the Sink
// rather than rsyslog's writes.
var benchCases = []struct {
	name   string
	proto  Protocol
	tls    bool
	queued bool
}{
	{"RELP", RELP, false, false},
	{"TCP", TCP, false, false},
	{"RELP+TLS", RELP, true, false},
	{"TCP+TLS", TCP, true, false},
	{"RELP-queued", RELP, false, true},
}

// BenchmarkRsyslogThroughCore logs 200-byte records through a core.Writer
// whose sink is a Sink, to a healthy rsyslogd: allocs/op counts the whole
// process, the caller's Write and the writer goroutine's WriteRecords
// calls included.
func BenchmarkRsyslogThroughCore(b *testing.B) {
	for _, proto := range []Protocol{RELP, TCP} {
		b.Run(proto.String(), func(b *testing.B) {
			r := startRsyslogd(b, rsyslogdOptions{})
			s := New(r.addr(proto), WithProtocol(proto))
			defer s.Close()
			w := core.New(core.WithSink(s), core.WithOverflow(core.Block))
			defer w.Close()
			rec := testRecord(0, 0, 200)
			if _, err := w.Write(rec); err != nil {
				b.Fatal(err)
			}
			if err := w.Sync(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Sync(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
