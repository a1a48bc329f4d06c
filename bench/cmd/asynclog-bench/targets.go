package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/asynclog/asynclog/bench"
)

// A target is one of the suite's goals, checked against this run.
type target struct {
	name     string
	measured string
	met      *bool // nil if it could not be measured
	speed    bool  // compares speeds or latencies: judged in full runs only
}

func verdict(ok bool) *bool { return &ok }

// Target statuses.
const (
	met         = "met"
	missed      = "MISSED"
	notMeasured = "not measured"
	notJudged   = "not judged"
)

// status says whether t was met, or why it is not judged.
func (t target) status(quick bool) string {
	switch {
	case t.speed && quick:
		return notJudged
	case t.met == nil:
		return notMeasured
	case *t.met:
		return met
	}
	return missed
}

// Output IDs the targets refer to.
const (
	zapDiscard   = "zap/discard"
	zapAsyncDisc = "zap/asynclog-discard"
	zapBuffered  = "zap/buffered"
	zapAsync     = "zap/zapasync"
	zapSpool     = "zap/zapasync-spool"
	zerologDisc  = "zerolog/discard"
	zerologADisc = "zerolog/asynclog-discard"
	zerologDiode = "zerolog/diode"
	zerologAsync = "zerolog/zerologasync"
	logrusFile   = "logrus/file"
	logrusAsync  = "logrus/logrusasync"
	coreFloor    = "core/floor"
	coreDiscard  = "core/core-discard"
)

const notMeasuredText = "not measured: output or run missing"

// evaluateTargets checks every target on the results of r.
func evaluateTargets(r *report) []target {
	var ts []target
	add := func(t target) { ts = append(ts, t) }
	speed := func(t target) { t.speed = true; add(t) }
	// What asynclog's layer costs, apart from the sink's: the logger over
	// asynclog writing to io.Discard against the logger writing to
	// io.Discard itself.
	for _, l := range []struct{ name, async, floor string }{
		{"zap+zapasync", zapAsyncDisc, zapDiscard}, {"zerolog+zerologasync", zerologADisc, zerologDisc},
	} {
		logger, _, _ := strings.Cut(l.name, "+")
		for _, x := range []struct {
			c    bench.Case
			want float64
		}{{bench.Fields, 0.97}, {bench.Static, 0.85}} {
			cs := caseTitles[x.c]
			speed(ratio(fmt.Sprintf("%s→io.Discard entries/s ≥ %v× %s→io.Discard (%s)", l.name, x.want, logger, cs),
				r.throughput(l.async, x.c), r.throughput(l.floor, x.c), perSecond, x.want, true))
		}
		speed(ratio(fmt.Sprintf("%s→io.Discard p99.9 ≤ 1.5× %s→io.Discard's (static)", l.name, logger),
			r.p999(l.async, bench.Static), r.p999(l.floor, bench.Static), fmtNs, 1.5, false))
	}
	for _, c := range bench.LoggerCases {
		cs := caseTitles[c]
		speed(ratio("zap+zapasync entries/s ≥ BufferedWriteSyncer's ("+cs+")",
			r.throughput(zapAsync, c), r.throughput(zapBuffered, c), perSecond, 1, true))
		speed(ratio("zap+zapasync p99.9 ≤ 1/10 of BufferedWriteSyncer's ("+cs+")",
			r.p999(zapAsync, c), r.p999(zapBuffered, c), fmtNs, 1.0/10, false))
	}
	speed(r.maxLatency("zap+zapasync max latency ≤ 50 ms on the slow sink (10 fields)", zapAsync, bench.Fields, bench.SlowSink.Name, 50*time.Millisecond))
	speed(ratio("zapasync with a spool entries/s ≥ 0.9× without (10 fields)",
		r.throughput(zapSpool, bench.Fields), r.throughput(zapAsync, bench.Fields), perSecond, 0.9, true))
	speed(ratio("zapasync with a spool p99.9 ≤ 2× without (10 fields)",
		r.p999(zapSpool, bench.Fields), r.p999(zapAsync, bench.Fields), fmtNs, 2, false))
	add(r.noLoss())
	for _, c := range bench.LoggerCases {
		speed(ratio("zerolog+zerologasync entries/s ≥ diode ("+caseTitles[c]+")",
			r.throughput(zerologAsync, c), r.throughput(zerologDiode, c), perSecond, 1, true))
	}
	add(r.zeroAllocs("zerolog+zerologasync 0 allocs/op where the diode allocates", []string{zerologAsync}, zerologDiode))
	for _, c := range bench.LoggerCases {
		cs := caseTitles[c]
		speed(ratio("logrus+logrusasync parallel entries/s ≥ 2× logrus→file ("+cs+", harness)",
			r.throughput(logrusAsync, c), r.throughput(logrusFile, c), perSecond, 2, true))
		for _, p := range procs[1:] {
			speed(ratio(fmt.Sprintf("logrus+logrusasync parallel throughput ≥ 2× logrus→file (%s, go test P=%d)", cs, p),
				1e9/r.ns(logrusAsync, c, "parallel", p), 1e9/r.ns(logrusFile, c, "parallel", p), perSecond, 2, true))
		}
	}
	add(r.zeroAllocs("core.Writer Write 0 allocs/op", []string{coreDiscard, "core/core", "core/core-drop"}, ""))
	for _, p := range procs {
		speed(ratio(fmt.Sprintf("core.Writer serial Write ≤ 1.5× floor (P=%d)", p),
			r.ns(coreDiscard, bench.Record, "serial", p), r.ns(coreFloor, bench.Record, "serial", p), fmtNs, 1.5, false))
	}
	speed(ratio("core.Writer parallel Write ≤ 1.1× floor (P=2)",
		r.ns(coreDiscard, bench.Record, "parallel", 2), r.ns(coreFloor, bench.Record, "parallel", 2), fmtNs, 1.1, false))
	return ts
}

// ratio checks a/b ≥ want, or a/b ≤ want if not atLeast. A NaN value means
// not measured; format shows a and b.
func ratio(name string, a, b float64, format func(float64) string, want float64, atLeast bool) target {
	x := a / b
	if math.IsNaN(x) {
		return target{name: name, measured: notMeasuredText}
	}
	ok := x <= want
	if atLeast {
		ok = x >= want
	}
	return target{name: name, measured: fmt.Sprintf("%s vs %s: %s", format(a), format(b), fmtRatio(x)), met: verdict(ok)}
}

func perSecond(x float64) string { return fmtCount(x) + "/s" }

// throughput returns the entries/s of an output on the page-cache file,
// or NaN.
func (r *report) throughput(id string, c bench.Case) float64 {
	if res := r.lat(id, c, bench.FileSink.Name); res != nil {
		return res.Throughput()
	}
	return math.NaN()
}

// p999 returns the p99.9 latency in ns of an output on the page-cache
// file, or NaN.
func (r *report) p999(id string, c bench.Case) float64 {
	if res := r.lat(id, c, bench.FileSink.Name); res != nil {
		return float64(res.Quantile(99.9))
	}
	return math.NaN()
}

// ns returns the median ns/op of a go test benchmark, or NaN.
func (r *report) ns(id string, c bench.Case, mode string, p int) float64 {
	if s := r.stat(id, c, mode, p); s != nil {
		return s.ns
	}
	return math.NaN()
}

// maxLatency checks that no call of output id took longer than limit on
// sink.
func (r *report) maxLatency(name, id string, c bench.Case, sink string, limit time.Duration) target {
	res := r.lat(id, c, sink)
	if res == nil {
		return target{name: name, measured: notMeasuredText}
	}
	return target{name: name, measured: fmt.Sprintf("max %s over %d calls", fmtDur(res.Max()), res.Calls), met: verdict(res.Max() <= limit)}
}

// noLoss checks that no output that must not lose entries lost any, in any
// latency run.
func (r *report) noLoss() target {
	name := "0 entries lost by every output that must not lose (every run)"
	var calls, lost, n int64
	for _, res := range r.latency {
		if o := res.Output; !o.Discard && !o.Lossy {
			n, calls, lost = n+int64(res.rounds), calls+res.Calls, lost+res.Lost()
		}
	}
	if n == 0 {
		return target{name: name, measured: notMeasuredText}
	}
	return target{name: name, measured: fmt.Sprintf("%d of %d entries lost in %d runs", lost, calls, n), met: verdict(lost == 0)}
}

// zeroAllocs checks that the go test benchmarks of outputs ids report 0
// allocs/op, those where output where allocates if where is not "".
func (r *report) zeroAllocs(name string, ids []string, where string) target {
	n, worst, worstWhere := 0, 0.0, 0.0
	for k, s := range r.bench {
		kw := k
		kw.output = where
		if sw := r.bench[kw]; slices.Contains(ids, k.output) && (where == "" || sw != nil && sw.allocs > 0) {
			n, worst = n+1, max(worst, s.allocs)
			if sw != nil {
				worstWhere = max(worstWhere, sw.allocs)
			}
		}
	}
	if n == 0 {
		return target{name: name, measured: notMeasuredText}
	}
	measured := fmt.Sprintf("at most %v allocs/op in %d benchmarks", worst, n)
	if where != "" {
		measured += fmt.Sprintf(", where %s makes up to %v", where, worstWhere)
	}
	return target{name: name, measured: measured, met: verdict(worst == 0)}
}
