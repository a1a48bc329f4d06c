package otlpsink

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkMapRecord: mapping one logger's record to a LogRecord with the
// sink's scanner, against decoding it with encoding/json into a map, the
// first step of a mapping written the obvious way (the baseline of the
// same run).
func BenchmarkMapRecord(b *testing.B) {
	for _, name := range loggerNames {
		var rec recorder
		newLogger(name, &rec)(1, 1)
		r := rec.records[0]
		b.Run(name+"/otlpsink", func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(r)))
			b.ReportAllocs()
			for b.Loop() {
				buf = appendRecord(buf[:0], r, 1)
			}
		})
		b.Run(name+"/encoding-json-map", func(b *testing.B) {
			b.SetBytes(int64(len(r)))
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(r, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteRecords: a call of 256 zap records to a local endpoint
// that answers 200 at once, gzip on and off: encoding, compression and
// the HTTP round trip, per record.
func BenchmarkWriteRecords(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	var rec recorder
	log := newLogger("zap", &rec)
	for i := range 256 {
		log(0, i)
	}
	for _, gz := range []bool{true, false} {
		name := "gzip"
		if !gz {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			s := New(srv.URL, WithGzip(gz))
			defer s.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.WriteRecords(rec.records); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rec.records)), "ns/record")
		})
	}
}
