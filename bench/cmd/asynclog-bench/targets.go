package main

import (
	"fmt"
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
	zapDiscard      = "zap/discard"
	zapBuffered     = "zap/buffered"
	zapAsync        = "zap/zapasync"
	zerologDiode    = "zerolog/diode"
	zerologAsync    = "zerolog/zerologasync"
	logrusFile      = "logrus/file"
	logrusAsync     = "logrus/logrusasync"
	coreFloor       = "core/floor"
	coreDiscard     = "core/core-discard"
	coreBlock       = "core/core"
	coreDrop        = "core/core-drop"
	fileSink        = "file"
	notMeasuredText = "not measured: output or run missing"
)

// evaluateTargets checks every target on the results of r.
func evaluateTargets(r *report) []target {
	var ts []target
	add := func(t target) { ts = append(ts, t) }
	speed := func(t target) { t.speed = true; add(t) }
	for _, x := range []struct {
		c   bench.Case
		thr float64
	}{{bench.Fields, 0.95}, {bench.Static, 0.75}} {
		cs := caseTitles[x.c]
		speed(r.throughputRatio(fmt.Sprintf("zap+zapasync entries/s ≥ %v× zap→io.Discard (%s)", x.thr, cs), zapAsync, zapDiscard, x.c, x.thr))
		speed(r.tailRatio("zap+zapasync p99.9 ≤ 2× zap→io.Discard's ("+cs+")", zapAsync, zapDiscard, x.c, 2))
		speed(r.tailRatio("zap+zapasync p99.9 ≤ 1/20 of BufferedWriteSyncer's ("+cs+")", zapAsync, zapBuffered, x.c, 1.0/20))
	}
	speed(r.maxLatency("zap+zapasync max latency ≤ 50 ms on the slow sink (10 fields)", zapAsync, bench.Fields, bench.SlowSink.Name, 50*time.Millisecond))
	add(r.noLoss())
	for _, c := range bench.LoggerCases {
		speed(r.throughputRatio("zerolog+zerologasync entries/s ≥ diode ("+caseTitles[c]+")", zerologAsync, zerologDiode, c, 1))
	}
	add(r.zeroAllocsWhere("zerolog+zerologasync 0 allocs/op where the diode allocates", zerologAsync, zerologDiode))
	add(r.noLossWhereDiodeLoses())
	for _, c := range bench.LoggerCases {
		speed(r.throughputRatio("logrus+logrusasync parallel entries/s ≥ 2× logrus→file ("+caseTitles[c]+", harness)", logrusAsync, logrusFile, c, 2))
		for _, p := range r.procs() {
			if p > 1 {
				speed(r.parallelRatio(fmt.Sprintf("logrus+logrusasync parallel throughput ≥ 2× logrus→file (%s, go test P=%d)", caseTitles[c], p), logrusAsync, logrusFile, c, p, 2))
			}
		}
	}
	add(r.zeroAllocs("core.Writer Write 0 allocs/op", coreDiscard, coreBlock, coreDrop))
	for _, p := range r.procs() {
		speed(r.serialRatio(fmt.Sprintf("core.Writer serial Write ≤ 1.5× floor (P=%d)", p), coreDiscard, coreFloor, bench.Record, p, 1.5))
	}
	return ts
}

// countTargets returns how many targets have each status.
func (r *report) countTargets() map[string]int {
	n := map[string]int{}
	for _, t := range r.targets {
		n[t.status(r.settings.quick)]++
	}
	return n
}

// throughputRatio checks entries/s of a ≥ want × entries/s of b on the file.
func (r *report) throughputRatio(name, a, b string, c bench.Case, want float64) target {
	ra, rb := r.lat(a, c, fileSink), r.lat(b, c, fileSink)
	if ra == nil || rb == nil {
		return target{name: name, measured: notMeasuredText}
	}
	x := ra.Throughput() / rb.Throughput()
	return target{name: name, measured: fmt.Sprintf("%s/s vs %s/s: %s", fmtCount(ra.Throughput()), fmtCount(rb.Throughput()), fmtRatio3(x)), met: verdict(x >= want)}
}

// tailRatio checks p99.9 of a ≤ want × p99.9 of b on the file.
func (r *report) tailRatio(name, a, b string, c bench.Case, want float64) target {
	ra, rb := r.lat(a, c, fileSink), r.lat(b, c, fileSink)
	if ra == nil || rb == nil {
		return target{name: name, measured: notMeasuredText}
	}
	qa, qb := ra.Quantile(99.9), rb.Quantile(99.9)
	x := float64(qa) / float64(qb)
	return target{name: name, measured: fmt.Sprintf("%s vs %s: %s", fmtDur(qa), fmtDur(qb), fmtRatio3(x)), met: verdict(x <= want)}
}

// maxLatency checks that no call of output id took longer than limit on
// sink.
func (r *report) maxLatency(name, id string, c bench.Case, sink string, limit time.Duration) target {
	res := r.lat(id, c, sink)
	if res == nil {
		return target{name: name, measured: notMeasuredText}
	}
	return target{name: name, measured: fmt.Sprintf("max %s over %d calls", fmtDur(res.Max()), res.Calls()), met: verdict(res.Max() <= limit)}
}

// noLoss checks that no output that must not lose entries lost any, in any
// latency run.
func (r *report) noLoss() target {
	name := "0 entries lost by every output that must not lose (every run)"
	var calls, lost int64
	runs := 0
	for _, res := range r.latency {
		if o := res.Output(); !o.Discard && !o.Lossy {
			runs += len(res.rs)
			calls += res.Calls()
			lost += res.Lost()
		}
	}
	if runs == 0 {
		return target{name: name, measured: notMeasuredText}
	}
	return target{name: name, measured: fmt.Sprintf("%d of %d entries lost in %d runs", lost, calls, runs), met: verdict(lost == 0)}
}

// noLossWhereDiodeLoses checks that zerologasync lost nothing on every sink,
// and shows what the diode lost on the same sinks.
func (r *report) noLossWhereDiodeLoses() target {
	name := "zerolog+zerologasync loses 0 entries where the diode loses most"
	var parts []string
	ok, any, most := true, false, false
	for _, s := range sinks {
		d, a := r.lat(zerologDiode, bench.Fields, s.Name), r.lat(zerologAsync, bench.Fields, s.Name)
		if d == nil || a == nil {
			continue
		}
		any = true
		dl := float64(d.Lost()) / float64(d.Calls())
		most = most || dl > 0.5
		ok = ok && a.Lost() == 0
		parts = append(parts, fmt.Sprintf("%s: diode lost %.1f%%, zerologasync %d", s.Name, 100*dl, a.Lost()))
	}
	if !any {
		return target{name: name, measured: notMeasuredText}
	}
	if !most {
		parts = append(parts, "(the diode never lost most)")
	}
	return target{name: name, measured: strings.Join(parts, "; "), met: verdict(ok)}
}

// zeroAllocs checks that every go test benchmark of the outputs ids reports
// 0 allocs/op.
func (r *report) zeroAllocs(name string, ids ...string) target {
	n, worst := 0, 0.0
	for k, s := range r.bench {
		for _, id := range ids {
			if k.output == id {
				n++
				worst = max(worst, s.allocs.Center)
			}
		}
	}
	if n == 0 {
		return target{name: name, measured: notMeasuredText}
	}
	return target{name: name, measured: fmt.Sprintf("at most %v allocs/op in %d benchmarks", worst, n), met: verdict(worst == 0)}
}

// zeroAllocsWhere checks that output a makes no allocation in every
// benchmark where output b makes some.
func (r *report) zeroAllocsWhere(name, a, b string) target {
	n, worstA, worstB := 0, 0.0, 0.0
	for k, sb := range r.bench {
		if k.output != b || sb.allocs.Center == 0 {
			continue
		}
		ka := k
		ka.output = a
		if sa := r.bench[ka]; sa != nil {
			n++
			worstA = max(worstA, sa.allocs.Center)
			worstB = max(worstB, sb.allocs.Center)
		}
	}
	if n == 0 {
		return target{name: name, measured: notMeasuredText}
	}
	return target{name: name, measured: fmt.Sprintf("diode up to %v allocs/op, zerologasync up to %v, in %d benchmarks", worstB, worstA, n), met: verdict(worstA == 0)}
}

// parallelRatio checks that the parallel throughput of a, from go test at
// GOMAXPROCS p, is at least want times that of b.
func (r *report) parallelRatio(name, a, b string, c bench.Case, p int, want float64) target {
	sa, sb := r.stat(a, c, "parallel", p), r.stat(b, c, "parallel", p)
	if sa == nil || sb == nil {
		return target{name: name, measured: notMeasuredText}
	}
	x := sb.ns.Center / sa.ns.Center
	return target{name: name, measured: fmt.Sprintf("%s/op vs %s/op: %s", fmtNs(sa.ns.Center), fmtNs(sb.ns.Center), fmtRatio3(x)), met: verdict(x >= want)}
}

// serialRatio checks that serial ns/op of a is at most want times b's.
func (r *report) serialRatio(name, a, b string, c bench.Case, p int, want float64) target {
	sa, sb := r.stat(a, c, "serial", p), r.stat(b, c, "serial", p)
	if sa == nil || sb == nil {
		return target{name: name, measured: notMeasuredText}
	}
	x := sa.ns.Center / sb.ns.Center
	return target{name: name, measured: fmt.Sprintf("%s vs %s: %s", fmtNs(sa.ns.Center), fmtNs(sb.ns.Center), fmtRatio3(x)), met: verdict(x <= want)}
}

// notes explains, with numbers from the run, why targets were missed.
func (r *report) notes() []string {
	isMissed := func(prefix string) bool {
		for _, t := range r.targets {
			if strings.HasPrefix(t.name, prefix) && t.status(r.settings.quick) == missed {
				return true
			}
		}
		return false
	}
	var ns []string
	if isMissed("zap+zapasync p99.9") {
		if res := r.lat(zapAsync, bench.Fields, fileSink); res != nil && res.Core() != nil {
			st := res.Core()
			slow := st.Waits + st.Flushes
			n := fmt.Sprintf("**zapasync's p99.9** (%s with 10 fields on the file) falls among its slowest calls: %d of %d calls found both %s buffers full and waited for a sink write, and at each of the %d buffer swaps the call that crossed the high-water mark yielded its processor so that the writer goroutine could run. Those are at most %d calls, %.3f%% of all; when that nears 0.1%%, p99.9 is one of them. With 8 goroutines keeping both cores busy, the writer goroutine competes with them for a processor, so a buffer can fill before the other one has been written.",
				fmtDur(res.Quantile(99.9)), st.Waits, res.Calls(), fmtBytes(int64(st.BufferSize)), st.Flushes,
				slow, 100*float64(slow)/float64(res.Calls()))
			if small := r.lat("zap/zapasync-1mib", bench.Fields, fileSink); small != nil && small.Core() != nil {
				n += fmt.Sprintf(" With 1 MiB buffers the same load waits %d times in %d swaps, and p99.9 is %s (%s for io.Discard).",
					small.Core().Waits, small.Core().Flushes, fmtDur(small.Quantile(99.9)), fmtDur(r.latQuantile(zapDiscard, bench.Fields, 99.9)))
			}
			ns = append(ns, n)
		}
	}
	if isMissed("zap+zapasync entries/s") {
		p := r.mainProcs()
		s, par := r.stat(coreFloor, bench.Record, "serial", p), r.stat(coreFloor, bench.Record, "parallel", p)
		if s != nil && par != nil {
			ns = append(ns, fmt.Sprintf("**zapasync against io.Discard**: io.Discard writes nothing, while every asynclog record takes two atomic adds on words that all callers share, a copy, and its share of the sink writes. On this machine the floor (the two atomic adds and the copy, no sink at all) costs %s per record from one goroutine but %s from %d goroutines at GOMAXPROCS=%d, as the cache line moves between cores; a static entry, encoded in a few hundred nanoseconds, feels that more than an entry with 10 fields.",
				fmtNs(s.ns.Center), fmtNs(par.ns.Center), p, p))
		}
	}
	if isMissed("logrus+logrusasync") {
		f, a := r.stat(logrusFile, bench.Fields, "serial", r.mainProcs()), r.stat(logrusAsync, bench.Fields, "serial", r.mainProcs())
		if f != nil && a != nil {
			ns = append(ns, fmt.Sprintf("**logrus**: logrus→file formats each entry under the logger's lock, so it uses one core at most, and this machine has %d. logrusasync formats in the callers' goroutines, but logrus still takes that lock for each entry, and each entry makes %v allocations (logrus→file: %v), so the garbage collector takes its share of the two cores: 2× is the ceiling here, and the measured ratio lands on either side of it from run to run.",
				r.env.cores, a.allocs.Center, f.allocs.Center))
		}
	}
	if isMissed("core.Writer serial") {
		ns = append(ns, "**core.Writer serial Write**: unlike the floor, a core.Writer has a writer goroutine. At GOMAXPROCS=1 it runs between the caller's time slices; at 2 and more it runs on another core, so the caller pays for waking it (twice per buffer) and for the buffer's shared words moving between caches.")
	}
	return ns
}

// latQuantile returns quantile q of a latency run, or 0.
func (r *report) latQuantile(id string, c bench.Case, q float64) time.Duration {
	if res := r.lat(id, c, fileSink); res != nil {
		return res.Quantile(q)
	}
	return 0
}
