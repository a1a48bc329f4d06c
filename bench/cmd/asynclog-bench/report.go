package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynclog/asynclog/bench"
)

// A report holds everything one run of the suite measured.
type report struct {
	settings settings
	env      env
	started  time.Time
	elapsed  time.Duration
	bench    map[benchKey]*benchStat
	latency  map[latKey]*runs
	clock    time.Duration // what timing an empty call measures
	targets  []target
}

var groupTitles = map[string]string{
	"zap":     "zap (production JSON encoder)",
	"zerolog": "zerolog",
	"logrus":  "logrus (JSONFormatter)",
	"slog":    "log/slog (JSONHandler, LogAttrs)",
	"core":    "core alone (256-byte records, no logger)",
}

var caseTitles = map[bench.Case]string{
	bench.Fields: "10 fields",
	bench.Static: "static",
	bench.Record: "256 B",
}

// procs returns the GOMAXPROCS values the benchmarks ran at.
func (r *report) procs() []int {
	var ps []int
	for _, s := range strings.Split(r.settings.cpu, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			ps = append(ps, n)
		}
	}
	return ps
}

// mainProcs is the GOMAXPROCS that summary tables take go test numbers
// from: the number of cores, or the nearest value that was run.
func (r *report) mainProcs() int {
	best := 0
	for _, p := range r.procs() {
		if best == 0 || abs(p-r.env.cores) < abs(best-r.env.cores) {
			best = p
		}
	}
	return best
}

func abs(x int) int { return max(x, -x) }

// stat returns the go test summary of a benchmark, or nil.
func (r *report) stat(id string, c bench.Case, mode string, procs int) *benchStat {
	return r.bench[benchKey{id, c, mode, procs}]
}

// lat returns the latency runs of an output at full speed, or nil.
func (r *report) lat(id string, c bench.Case, sink string) *runs {
	return r.latency[latKey{id, c, sink, 0}]
}

func (r *report) groups() []string {
	var gs []string
	for _, g := range bench.Groups() {
		for _, o := range bench.Outputs() {
			if o.Group == g && (r.hasBench(o) || r.hasLatency(o)) {
				gs = append(gs, g)
				break
			}
		}
	}
	return gs
}

func (r *report) hasBench(o *bench.Output) bool {
	for k := range r.bench {
		if k.output == o.ID() {
			return true
		}
	}
	return false
}

func (r *report) hasLatency(o *bench.Output) bool {
	for k := range r.latency {
		if k.output == o.ID() {
			return true
		}
	}
	return false
}

func groupOutputs(group string) []*bench.Output {
	var outs []*bench.Output
	for _, o := range bench.Outputs() {
		if o.Group == group {
			outs = append(outs, o)
		}
	}
	return outs
}

// reference is the output a group's ratios are taken against: its first
// discarding output (io.Discard, or the floor for the core group).
func reference(group string) *bench.Output {
	for _, o := range groupOutputs(group) {
		if o.Discard {
			return o
		}
	}
	return nil
}

// roundsText says how the latency rounds are summarized.
func (r *report) roundsText() string {
	if r.settings.rounds <= 1 {
		return "one run"
	}
	return fmt.Sprintf("%d rounds (entries/s: their median; latency: over all their calls; lost: their total)", r.settings.rounds)
}

// refLabel is the short name of a reference output in column headers.
func refLabel(o *bench.Output) string {
	if o.Name == "discard" {
		return "io.Discard"
	}
	return o.Name
}

func groupCases(group string) []bench.Case {
	var cs []bench.Case
	for _, o := range groupOutputs(group) {
		for _, c := range o.Cases {
			if !slices.Contains(cs, c) {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// best returns the highest throughput of the group's outputs that write
// somewhere, on sink, for case c.
func (r *report) best(group string, c bench.Case, sink string) float64 {
	b := 0.0
	for _, o := range groupOutputs(group) {
		if res := r.lat(o.ID(), c, sink); res != nil && !o.Discard {
			b = max(b, res.Throughput())
		}
	}
	return b
}

// groupTable is the summary of one logger on the page-cache file.
func (r *report) groupTable(group string) *table {
	ref := reference(group)
	p := r.mainProcs()
	t := &table{
		title: groupTitles[group],
		header: []string{"case", "output", "serial", "parallel", "allocs/op",
			"p50", "p99.9", "max", "entries/s", "× best", "× " + refLabel(ref), "lost", "peak heap", "GCs"},
		left: 2,
		notes: []string{fmt.Sprintf(
			"serial, parallel: ns/op from go test at GOMAXPROCS=%d; p50…peak heap: %d goroutines × %s calls on a page-cache file, %s; × ratios are of entries/s; GCs: garbage collections per run",
			p, r.settings.goroutines, fmtCount(float64(r.settings.calls)), r.roundsText())},
	}
	for _, c := range groupCases(group) {
		best := r.best(group, c, bench.FileSink.Name)
		refRes := r.lat(ref.ID(), c, bench.FileSink.Name)
		for _, o := range groupOutputs(group) {
			if !o.Supports(c) || !(r.hasBench(o) || r.hasLatency(o)) {
				continue
			}
			row := []string{caseTitles[c], o.Title}
			row = append(row, r.benchCells(o.ID(), c, p)...)
			res := r.lat(o.ID(), c, bench.FileSink.Name)
			if res == nil {
				row = append(row, "", "", "", "", "", "", "", "", "")
			} else {
				thr := res.Throughput()
				row = append(row,
					fmtDur(res.Quantile(50)), fmtDur(res.Quantile(99.9)), fmtDur(res.Max()),
					fmtCount(thr), ratioOrDash(thr, best, !o.Discard), ratioOrDash(thr, throughput(refRes), true),
					fmtLoss(res), fmtBytes(res.PeakHeap()), fmt.Sprintf("%.0f", res.GCs()))
			}
			t.add(row...)
		}
	}
	return t
}

// benchCells returns the serial ns/op, parallel ns/op and allocs/op cells.
func (r *report) benchCells(id string, c bench.Case, procs int) []string {
	cells := []string{"", "", ""}
	if s := r.stat(id, c, "serial", procs); s != nil {
		cells[0] = fmtNs(s.ns.Center)
		cells[2] = strconv.FormatFloat(s.allocs.Center, 'f', -1, 64)
	}
	if s := r.stat(id, c, "parallel", procs); s != nil {
		cells[1] = fmtNs(s.ns.Center)
	}
	return cells
}

func throughput(r *runs) float64 {
	if r == nil {
		return 0
	}
	return r.Throughput()
}

func ratioOrDash(x, ref float64, ok bool) string {
	if !ok || ref == 0 {
		return "—"
	}
	return fmtRatio(x / ref)
}

// sinkTable compares every output that writes somewhere on one sink.
func (r *report) sinkTable(sink bench.Sink) *table {
	t := &table{
		title: "Sink: " + sink.Title,
		header: []string{"logger", "output", "case", "p50", "p99", "p99.9", "p99.99", "max",
			"entries/s", "× on file", "lost", "peak heap"},
		left: 3,
		notes: []string{fmt.Sprintf(
			"%d goroutines, up to %s calls each, stopped after %v; × on file: entries/s against the same output on the page-cache file",
			r.settings.goroutines, fmtCount(float64(r.settings.calls)), r.settings.slowLimit)},
	}
	for _, g := range r.groups() {
		for _, o := range groupOutputs(g) {
			c := mainCase(o)
			res := r.lat(o.ID(), c, sink.Name)
			if res == nil {
				continue
			}
			t.add(g, o.Title, caseTitles[c],
				fmtDur(res.Quantile(50)), fmtDur(res.Quantile(99)), fmtDur(res.Quantile(99.9)), fmtDur(res.Quantile(99.99)), fmtDur(res.Max()),
				fmtCount(res.Throughput()), ratioOrDash(res.Throughput(), throughput(r.lat(o.ID(), c, bench.FileSink.Name)), true),
				fmtLoss(res), fmtBytes(res.PeakHeap()))
		}
	}
	return t
}

// pacedTable shows zap at steady rates: the callers' latency and the CPU
// the process used, through zapasync and without it.
func (r *report) pacedTable() *table {
	t := &table{
		title: fmt.Sprintf("Paced: zap, 10 fields, %d goroutines at a steady rate, page-cache file", pacedGoroutines),
		notes: []string{fmt.Sprintf("%v per run; each goroutine sleeps until its next call is due, and only the call is timed. "+
			"CPU: user+system CPU seconds of the process (getrusage) per second of the run. "+
			"zap→file makes a write system call per entry, in the callers; BufferedWriteSyncer batches the writes under a lock, in the callers; "+
			"zapasync batches them in its writer goroutine, whose cost is in its CPU.",
			r.settings.paced)},
		header: []string{"rate", "output", "entries/s", "p50", "p99.9", "max", "CPU s/s", "lost"},
		left:   2,
	}
	for _, rate := range pacedRates {
		for _, id := range pacedOutputs {
			res := r.latency[latKey{id, bench.Fields, bench.FileSink.Name, rate}]
			if res == nil {
				continue
			}
			cpu := "—"
			if c := res.CPUPerSecond(); c >= 0 {
				cpu = fmt.Sprintf("%.3f", c)
			}
			t.add(fmtCount(float64(rate))+"/s", res.Output().Title, fmtCount(res.Throughput()),
				fmtDur(res.Quantile(50)), fmtDur(res.Quantile(99.9)), fmtDur(res.Max()), cpu, fmtLoss(res))
		}
	}
	return t
}

// latencyTable gives every quantile of every output on the page-cache file.
func (r *report) latencyTable() *table {
	t := &table{
		title:  "Latency of one call on the page-cache file",
		notes:  []string{fmt.Sprintf("%d goroutines × %s calls, %s.", r.settings.goroutines, fmtCount(float64(r.settings.calls)), r.roundsText())},
		header: []string{"logger", "output", "case", "calls", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"},
		left:   3,
	}
	for _, g := range r.groups() {
		for _, c := range groupCases(g) {
			for _, o := range groupOutputs(g) {
				res := r.lat(o.ID(), c, bench.FileSink.Name)
				if res == nil {
					continue
				}
				t.add(g, o.Title, caseTitles[c], fmtCount(float64(res.Calls())),
					fmtDur(res.Quantile(50)), fmtDur(res.Quantile(90)), fmtDur(res.Quantile(99)),
					fmtDur(res.Quantile(99.9)), fmtDur(res.Quantile(99.99)), fmtDur(res.Max()),
					fmtNs(res.merged.Mean()))
			}
		}
	}
	return t
}

// coreTable shows what the asynclog core did in each latency run: how many
// sink writes, and how many calls found both buffers full and waited.
func (r *report) coreTable() *table {
	t := &table{
		title: "Inside asynclog",
		notes: []string{"Counters of the core.Writer under each asynclog output after Close (core.Stats). " +
			"Waits are calls that found both buffers full and waited for the sink (Block); " +
			"each such call is among the slowest, so when waits pass 0.1% of calls they set p99.9."},
		header: []string{"sink", "logger", "output", "case", "sink writes", "bytes per write", "waits", "waits per call", "dropped"},
		left:   4,
	}
	for _, s := range sinks {
		for _, g := range r.groups() {
			for _, o := range groupOutputs(g) {
				for _, c := range o.Cases {
					res := r.lat(o.ID(), c, s.Name)
					if res == nil || res.Core() == nil {
						continue
					}
					st := res.Core()
					per := "—"
					if st.Flushes > 0 {
						per = fmtBytes(int64(st.WrittenBytes / st.Flushes))
					}
					t.add(s.Name, g, o.Title, caseTitles[c], strconv.FormatUint(st.Flushes, 10), per,
						strconv.FormatUint(st.Waits, 10), fmt.Sprintf("%.3f%%", 100*float64(st.Waits)/float64(res.Calls())),
						strconv.FormatUint(st.DroppedRecords, 10))
				}
			}
		}
	}
	return t
}

// benchTable lists every go test result of a group.
func (r *report) benchTable(group string) *table {
	t := &table{
		title: groupTitles[group] + ": go test",
		notes: []string{fmt.Sprintf(
			"ns/op at each GOMAXPROCS: median of %d runs ± the 95%% confidence interval; B/op and allocs/op at GOMAXPROCS=%d",
			r.settings.count, r.mainProcs())},
		header: []string{"case", "output", "mode"},
		left:   3,
	}
	for _, p := range r.procs() {
		t.header = append(t.header, fmt.Sprintf("ns/op P=%d", p))
	}
	t.header = append(t.header, "B/op", "allocs/op")
	for _, c := range groupCases(group) {
		for _, o := range groupOutputs(group) {
			for _, mode := range []string{"serial", "parallel"} {
				if !o.Supports(c) || r.stat(o.ID(), c, mode, r.mainProcs()) == nil {
					continue
				}
				row := []string{caseTitles[c], o.Title, mode}
				for _, p := range r.procs() {
					cell := ""
					if s := r.stat(o.ID(), c, mode, p); s != nil {
						cell = fmtNs(s.ns.Center)
						if s.runs > 1 {
							cell += " " + s.ns.PctRangeString()
						}
					}
					row = append(row, cell)
				}
				s := r.stat(o.ID(), c, mode, r.mainProcs())
				row = append(row, strconv.FormatFloat(s.bytes.Center, 'f', -1, 64),
					strconv.FormatFloat(s.allocs.Center, 'f', -1, 64))
				t.add(row...)
			}
		}
	}
	return t
}

// targetTable lists the targets, but those a quick run does not judge.
func (r *report) targetTable() *table {
	t := &table{title: "Targets", header: []string{"target", "measured", "status"}, left: 2}
	for _, tg := range r.targets {
		if st := tg.status(r.settings.quick); st != notJudged {
			t.add(tg.name, tg.measured, st)
		}
	}
	return t
}

// targetSummary counts the targets by status.
func (r *report) targetSummary() string {
	n := r.countTargets()
	s := fmt.Sprintf("Targets: %d met, %d missed, %d not measured", n[met], n[missed], n[notMeasured])
	if n[notJudged] > 0 {
		s += fmt.Sprintf("; %d that compare speeds or latencies are judged in full runs only", n[notJudged])
	}
	return s + ". A missed target is not a failure."
}

// tables returns the summary tables in the order they are shown.
func (r *report) tables() []*table {
	var ts []*table
	if len(r.latency) > 0 || len(r.bench) > 0 {
		for _, g := range r.groups() {
			ts = append(ts, r.groupTable(g))
		}
	}
	for _, s := range sinks[1:] {
		if t := r.sinkTable(s); len(t.rows) > 0 {
			ts = append(ts, t)
		}
	}
	if t := r.pacedTable(); len(t.rows) > 0 {
		ts = append(ts, t)
	}
	return ts
}

// writeText prints the summary tables and the targets.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "asynclog-bench %s: %s, %d cores, %s; %s in %v; load average %s at the start, %s at the end\n",
		r.mode(), r.env.cpu, r.env.cores, r.env.goVersion, r.env.date.Format("2006-01-02 15:04 MST"),
		r.elapsed.Round(time.Second), r.env.loadStart, r.env.loadEnd)
	for _, t := range r.tables() {
		t.text(w)
	}
	if len(r.targets) > 0 {
		r.targetTable().text(w)
		fmt.Fprintf(w, "\n%s\n", r.targetSummary())
	}
}

func (r *report) mode() string {
	if r.settings.quick {
		return "quick run"
	}
	return "full run"
}

// writeMarkdownFile writes the whole report to path.
func (r *report) writeMarkdownFile(path string) error {
	var b bytes.Buffer
	r.writeMarkdown(&b)
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func (r *report) writeMarkdown(w io.Writer) {
	s := r.settings
	fmt.Fprintf(w, `# Benchmarks

What a logging call costs (median and tail), how many entries are lost and
how much heap is held, for asynclog and for the outputs a zap, zerolog,
logrus or log/slog user would pick instead, measured side by side in one
run. This file is generated by `+"`make bench`"+` (the command
`+"`bench/cmd/asynclog-bench`"+`); do not edit it by hand.

Machine and software:

- Date: %s (%s, %v)
- CPU: %s, %d cores (GOMAXPROCS %d), memory %s
- OS: %s; temporary files on %s
- Load average (1, 5, 15 min): %s at the start, %s at the end
- Go: %s
- asynclog: commit %s
`,
		r.env.date.Format("2006-01-02 15:04 MST"), r.mode(), r.elapsed.Round(time.Second),
		r.env.cpu, r.env.cores, r.env.gomaxprocs, r.env.memory,
		r.env.kernel, r.env.tempFS, r.env.loadStart, r.env.loadEnd, r.env.goVersion, r.env.commit)
	for _, m := range r.env.modules {
		fmt.Fprintf(w, "- %s %s\n", m[0], m[1])
	}
	fmt.Fprintf(w, `
Settings: go test -count %d -benchtime %s -cpu %s; latency harness %d
goroutines × %s calls per output and case, %d rounds on the page-cache file,
one run of at most %v on the slow and fsync sinks, paced runs of %v.
`, s.count, s.benchtime, s.cpu, s.goroutines, fmtCount(float64(s.calls)), s.rounds, s.slowLimit, s.paced)

	if len(r.targets) > 0 {
		fmt.Fprintf(w, "\n## Targets\n\nEach target compares outputs measured in this run, or checks that one loses\nor allocates nothing. %s\n", r.targetSummary())
		t := r.targetTable()
		t.title = "Targets met and missed"
		t.markdown(w)
		if notes := r.notes(); len(notes) > 0 {
			fmt.Fprintf(w, "\nWhere the missed targets go, from the numbers of this run:\n\n")
			for _, n := range notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
	}

	fmt.Fprintf(w, "\n## Per logger, on a file\n")
	for _, g := range r.groups() {
		r.groupTable(g).markdown(w)
	}
	if len(r.latency) > 0 {
		fmt.Fprintf(w, "\n## Slow sinks\n\nThe callers' view when the sink is slow: the same load on a sink that takes 1 ms per Write\n(like a network hop), and on a file that the harness syncs every 10 ms, where Sync means fsync.\n")
		for _, s := range sinks[1:] {
			if t := r.sinkTable(s); len(t.rows) > 0 {
				t.markdown(w)
			}
		}
	}
	if t := r.pacedTable(); len(t.rows) > 0 {
		fmt.Fprintf(w, "\n## At a steady rate\n\nA service logs at some rate rather than flat out: what a call costs then, and what the process spends on it.\n")
		t.markdown(w)
	}
	if t := r.latencyTable(); len(t.rows) > 0 {
		fmt.Fprintf(w, "\n## Latency in detail\n")
		t.markdown(w)
	}
	if t := r.coreTable(); len(t.rows) > 0 {
		fmt.Fprintf(w, "\n## Inside asynclog\n")
		t.title = "Core counters per latency run"
		t.markdown(w)
	}
	if len(r.bench) > 0 {
		fmt.Fprintf(w, "\n## go test benchmarks\n")
		for _, g := range r.groups() {
			if t := r.benchTable(g); len(t.rows) > 0 {
				t.markdown(w)
			}
		}
	}
	fmt.Fprintf(w, methodText, r.clock.Nanoseconds(), r.env.tempFS)
}

const methodText = `
## How it is measured

- **Outputs.** Every peer is set up once, in package bench, and both the
  go-test benchmarks and the latency harness use that setup. zap uses the
  production JSON encoder without sampling or caller annotation, so that
  every entry is written; zerolog is ` + "`zerolog.New(w).With().Timestamp().Logger()`" + `;
  logrus uses the JSONFormatter; slog uses ` + "`slog.NewJSONHandler`" + ` and
  ` + "`LogAttrs`" + `. "10 fields" is a request log (method, path, status, bytes,
  latency, request id, remote address, user agent, a bool and an error);
  "static" is a message alone.
- **ns/op, B/op, allocs/op** come from ` + "`go test -bench BenchmarkOutputs -benchmem`" + `:
  serial is one goroutine, parallel is ` + "`b.RunParallel`" + ` (GOMAXPROCS goroutines).
  The sink is a fresh file in the page cache whose Sync is hidden, so that
  nothing fsyncs it. Each run's time includes the Close that hands what is
  buffered to the file.
- **Latency** is the time of every call, read with ` + "`time.Now`" + ` before and
  after, recorded in an HdrHistogram (3 significant digits); it includes
  about %d ns of clock reads (the median of timing an empty call). Eight
  goroutines on a 2-core machine also wait for a processor now and then,
  which shows in p99.99 and max of every output alike.
- **entries/s** is calls divided by the time from the start of the load
  until Close returned, so buffered outputs pay for their last flush. On
  the page-cache file every output runs in several rounds, one output
  after another in each round; the tables give the median round's
  entries/s, latency quantiles over the calls of all rounds, and the
  total loss.
- **lost** is calls minus the lines counted in the file after Close.
- **GCs** counts garbage collections per run. An output that holds more
  live heap (asynclog's two buffers, for one) raises the collector's heap
  goal and is collected less often than io.Discard, which helps it when
  the logger allocates.
- **peak heap** is the highest sample, taken every 1 ms, of the runtime
  metric ` + "`/memory/classes/heap/objects:bytes`" + ` (live objects and garbage
  not yet swept), less its value after a GC just before the output was
  made. It is the heap the output needs while it runs, garbage included.
- Every latency run is a process of its own, so that each output starts
  from the same heap and collector state and nothing an earlier output
  kept (memory, goroutines) weighs on it; it writes a fresh temporary file
  (on %s), after a GC.
  The slow sink sleeps 1 ms before each Write; the fsync sink is the
  ` + "`*os.File`" + ` itself, and a goroutine calls the output's Sync (or the
  file's, for outputs without one) every 10 ms. Runs on those two sinks
  stop at a deadline, as outputs that make each caller wait 1 ms would
  otherwise take hours.
- **Paced runs** log from 4 goroutines at a steady total rate: each
  goroutine sleeps until its next call is due (or calls at once if it is
  late), and only the call is timed. **CPU s/s** is the user and system
  CPU time of the process (getrusage), from the start of the load until
  Close returned, divided by that time. It includes the harness alike for
  every output: the clock reads, and the heap samples, taken every 100 ms
  rather than 1 ms in these runs.

## How to reproduce

    make bench                      # this file, about 10 minutes
    BENCH_QUICK=1 make bench        # smoke run, under a minute, no file

or, from bench/: ` + "`go run ./cmd/asynclog-bench -o ../BENCHMARKS.md`" + `. The raw go
test output is kept in bench/results/gobench.txt; compare two of them with
` + "`go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt`" + `.
`

// problems lists what makes the run fail: entries lost by an output that
// must not lose any, and errors reported by an output.
func (r *report) problems() []string {
	var ps []string
	keys := make([]latKey, 0, len(r.latency))
	for k := range r.latency {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b latKey) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		res := r.latency[k]
		if o := res.Output(); !o.Discard && !o.Lossy && res.Lost() != 0 {
			ps = append(ps, fmt.Sprintf("%s lost %d of %d entries", k, res.Lost(), res.Calls()))
		}
		if err := res.Err(); err != nil {
			ps = append(ps, fmt.Sprintf("%s: %v", k, err))
		}
	}
	return ps
}
