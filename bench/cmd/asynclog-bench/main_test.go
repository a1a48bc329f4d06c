package main

import (
	"strings"
	"testing"
	"time"

	"github.com/asynclog/asynclog/bench"
)

const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/asynclog/asynclog/bench
BenchmarkOutputs/zap/discard/fields/serial     	  123159	      1115 ns/op	     704 B/op	       1 allocs/op
BenchmarkOutputs/zap/discard/fields/serial     	  121300	       996.7 ns/op	     704 B/op	       1 allocs/op
BenchmarkOutputs/zap/discard/fields/serial     	  107119	       976.6 ns/op	     704 B/op	       1 allocs/op
BenchmarkOutputs/core/floor/record/parallel-4  	 8792196	        32.54 ns/op	       0 B/op	       0 allocs/op
PASS
`

func TestParseBench(t *testing.T) {
	stats, err := parseBench(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("got %d benchmarks, want 2: %v", len(stats), stats)
	}
	s := stats[benchKey{"zap/discard", bench.Fields, "serial", 1}]
	if s == nil || s.runs != 3 || s.ns.Center != 996.7 || s.bytes.Center != 704 || s.allocs.Center != 1 {
		t.Errorf("zap/discard: %+v", s)
	}
	s = stats[benchKey{"core/floor", bench.Record, "parallel", 4}]
	if s == nil || s.runs != 1 || s.ns.Center != 32.54 || s.allocs.Center != 0 {
		t.Errorf("core/floor: %+v", s)
	}
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want benchKey
		ok   bool
	}{
		{"Outputs/zap/file/static/serial", benchKey{"zap/file", bench.Static, "serial", 1}, true},
		{"Outputs/core/core-drop/record/parallel-2", benchKey{"core/core-drop", bench.Record, "parallel", 2}, true},
		{"Outputs/zap/file/static", benchKey{}, false},
		{"Other/a/b/c/d", benchKey{}, false},
	} {
		got, ok := parseName(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseName(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtNs(17.785), "17.8 ns"},
		{fmtNs(996.7), "997 ns"},
		{fmtDur(1234 * time.Nanosecond), "1.23 µs"},
		{fmtDur(45600 * time.Microsecond), "45.6 ms"},
		{fmtCount(1_234_567), "1.23M"},
		{fmtCount(980), "980"},
		{fmtBytes(2 << 20), "2.00 MiB"},
		{fmtRatio(0.954), "0.95×"},
		{fmtRatio(0.0016), "0.0016×"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTableText(t *testing.T) {
	tb := &table{title: "T", header: []string{"name", "µs"}, left: 1}
	tb.add("a", "1")
	tb.add("long name", "22")
	var b strings.Builder
	tb.text(&b)
	want := "\nT\nname       µs\n---------  --\na           1\nlong name  22\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}
