package main

import (
	"cmp"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/template"
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
	targets  []target
}

// env describes the machine and the software a run measured.
type env struct {
	date              time.Time
	cores, gomaxprocs int
	cpu, system, fs   string
	commit            string
	load              [2]string // load averages at the start and at the end
	modules           []string  // "path version" of each peer
}

// peers are the modules whose versions the report names.
var peers = []string{"go.uber.org/zap", "github.com/rs/zerolog", "github.com/sirupsen/logrus", "github.com/HdrHistogram/hdrhistogram-go"}

func environment() env {
	e := env{
		date: time.Now().UTC(), cores: runtime.NumCPU(), gomaxprocs: runtime.GOMAXPROCS(0),
		cpu:    cmp.Or(command("sh", "-c", "grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2"), "unknown"),
		system: runtime.GOOS + "/" + runtime.GOARCH + ", kernel " + command("uname", "-r"),
		fs:     command("findmnt", "-n", "-o", "FSTYPE", "-T", os.TempDir()),
		commit: command("git", "rev-parse", "--short", "HEAD"), load: [2]string{loadAverage()},
	}
	if st := command("git", "status", "--porcelain", "--untracked-files=no"); st != "" && st != "unknown" {
		e.commit += " with uncommitted changes"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if slices.Contains(peers, d.Path) {
				e.modules = append(e.modules, d.Path+" "+d.Version)
			}
		}
	}
	return e
}

// command returns what a command printed, trimmed, or "unknown" if it failed.
func command(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

var groupTitles = map[string]string{
	"zap":     "zap (production JSON encoder)",
	"zerolog": "zerolog",
	"logrus":  "logrus (JSONFormatter)",
	"slog":    "log/slog (JSONHandler, LogAttrs)",
	"core":    "core alone (256-byte records, no logger)",
}

var caseTitles = map[bench.Case]string{bench.Fields: "10 fields", bench.Static: "static", bench.Record: "256 B"}

// mainProcs is the GOMAXPROCS that summary tables take go test numbers
// from: the number of cores, or the nearest value that was run.
func (r *report) mainProcs() int {
	best := procs[0]
	for _, p := range procs {
		if abs(p-r.env.cores) < abs(best-r.env.cores) {
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

// outputs returns the outputs of group that were measured, in order.
func (r *report) outputs(group string) []*bench.Output {
	var outs []*bench.Output
	for _, o := range bench.Outputs() {
		for _, c := range o.Cases {
			if o.Group == group && (r.stat(o.ID(), c, "serial", r.mainProcs()) != nil || r.lat(o.ID(), c, bench.FileSink.Name) != nil) {
				outs = append(outs, o)
				break
			}
		}
	}
	return outs
}

// groupTable is the summary of one logger on the page-cache file; its
// ratios are of entries/s: × best against the fastest output that writes
// to the file, and the last against the group's floor (bench.Floor), which
// discards: io.Discard, or the core group's floor. Outputs that discard
// are never the best; a ratio is blank where its reference was not run.
func (r *report) groupTable(group string) *table {
	p := r.mainProcs()
	outs := r.outputs(group)
	floor := bench.Floor(group)
	t := &table{
		title: groupTitles[group],
		header: []string{"case", "output", "serial", "parallel", "allocs/op",
			"p50", "p99.9", "max", "entries/s", "× best", "× " + strings.Fields(floor.Title)[0], "lost", "peak heap", "GCs"},
		left: 2,
		notes: []string{fmt.Sprintf(
			"serial, parallel: ns/op from go test at GOMAXPROCS=%d; p50…GCs: %d goroutines × %s calls on a page-cache file, %s; × ratios are of entries/s; GCs: garbage collections per run",
			p, goroutines, fmtCount(float64(r.settings.calls)), r.roundsText())},
	}
	cases := bench.LoggerCases
	if group == "core" {
		cases = []bench.Case{bench.Record}
	}
	for _, c := range cases {
		best, ref := 0.0, r.lat(floor.ID(), c, bench.FileSink.Name)
		for _, o := range outs {
			if res := r.lat(o.ID(), c, bench.FileSink.Name); res != nil && !o.Discard {
				best = max(best, res.Throughput())
			}
		}
		for _, o := range outs {
			row := []string{caseTitles[c], o.Title, "", "", ""}
			if s := r.stat(o.ID(), c, "serial", p); s != nil {
				row[2], row[4] = fmtNs(s.ns), strconv.FormatFloat(s.allocs, 'f', -1, 64)
			}
			if s := r.stat(o.ID(), c, "parallel", p); s != nil {
				row[3] = fmtNs(s.ns)
			}
			res := r.lat(o.ID(), c, bench.FileSink.Name)
			if res == nil {
				t.add(append(row, make([]string, 9)...)...)
				continue
			}
			thr, vsBest, vsFloor := res.Throughput(), "—", ""
			if !o.Discard && best > 0 {
				vsBest = fmtRatio(thr / best)
			}
			if ref != nil {
				vsFloor = fmtRatio(thr / ref.Throughput())
			}
			t.add(append(row, fmtDur(res.Quantile(50)), fmtDur(res.Quantile(99.9)), fmtDur(res.Max()),
				fmtCount(thr), vsBest, vsFloor, fmtLoss(res.Lost(), res.Calls),
				fmtBytes(res.PeakHeap), fmt.Sprintf("%.0f", res.GCsPerRound()))...)
		}
	}
	return t
}

// roundsText says how the latency rounds are summarized.
func (r *report) roundsText() string {
	if r.settings.rounds <= 1 {
		return "one run"
	}
	return fmt.Sprintf("%d rounds (entries/s: their median; latency: over all their calls; lost: their total)", r.settings.rounds)
}

// sinkTable compares every output that writes somewhere on one sink.
func (r *report) sinkTable(sink bench.Sink) *table {
	t := &table{
		title: "Sink: " + sink.Title,
		header: []string{"logger", "output", "case", "p50", "p99", "p99.9", "p99.99", "max",
			"entries/s", "× on file", "lost", "peak heap"},
		left: 3,
		notes: []string{fmt.Sprintf("%d goroutines, up to %s calls each, stopped after %v; × on file: entries/s against the same output on the page-cache file",
			goroutines, fmtCount(float64(r.settings.calls)), r.settings.slowLimit)},
	}
	for _, o := range bench.Outputs() {
		c := mainCase(o)
		res, file := r.lat(o.ID(), c, sink.Name), r.lat(o.ID(), c, bench.FileSink.Name)
		if res == nil || file == nil {
			continue
		}
		t.add(o.Group, o.Title, caseTitles[c],
			fmtDur(res.Quantile(50)), fmtDur(res.Quantile(99)), fmtDur(res.Quantile(99.9)), fmtDur(res.Quantile(99.99)), fmtDur(res.Max()),
			fmtCount(res.Throughput()), fmtRatio(res.Throughput()/file.Throughput()), fmtLoss(res.Lost(), res.Calls), fmtBytes(res.PeakHeap))
	}
	return t
}

// pacedTable shows zap at steady rates: the callers' latency and the CPU
// the process used, through zapasync and without it.
func (r *report) pacedTable() *table {
	t := &table{
		title: fmt.Sprintf("Paced: zap, 10 fields, %d goroutines at a steady rate, page-cache file", pacedGoroutines),
		notes: []string{fmt.Sprintf("%v per run; each goroutine sleeps until its next call is due, and only the call is timed. "+
			"CPU s/s: user+system CPU seconds of the process (getrusage) per second of the run. "+
			"os.File makes a write system call per entry in the callers; BufferedWriteSyncer batches the writes under a lock, in the callers; "+
			"zapasync batches them in its writer goroutine, whose cost is in its CPU.", r.settings.paced)},
		header: []string{"rate", "output", "entries/s", "p50", "p99.9", "max", "CPU s/s", "lost"},
		left:   2,
	}
	for _, rate := range pacedRates {
		for _, id := range pacedOutputs {
			if res := r.latency[latKey{id, bench.Fields, bench.FileSink.Name, rate}]; res != nil {
				cpu := "—"
				if c := res.CPUPerSecond(); c >= 0 {
					cpu = fmt.Sprintf("%.3f", c)
				}
				t.add(fmtCount(float64(rate))+"/s", res.Output.Title, fmtCount(res.Throughput()),
					fmtDur(res.Quantile(50)), fmtDur(res.Quantile(99.9)), fmtDur(res.Max()), cpu, fmtLoss(res.Lost(), res.Calls))
			}
		}
	}
	return t
}

// coreTable shows what the asynclog core did in each latency run.
func (r *report) coreTable() *table {
	t := &table{
		title: "Core counters per latency run",
		notes: []string{"Counters of the core.Writer under each asynclog output after Close (core.Stats). " +
			"Waits are calls that found both buffers full and waited for the sink (Block); " +
			"each such call is among the slowest, so when waits pass 0.1% of calls they set p99.9."},
		header: []string{"sink", "output", "case", "sink writes", "bytes per write", "waits", "waits per call", "dropped"},
		left:   3,
	}
	for _, s := range bench.Sinks {
		for _, o := range bench.Outputs() {
			for _, c := range o.Cases {
				res := r.lat(o.ID(), c, s.Name)
				if res == nil || res.Core == nil {
					continue
				}
				st := res.Core
				t.add(s.Name, o.ID(), caseTitles[c], fmt.Sprint(st.Flushes), fmtBytes(int64(st.WrittenBytes/max(st.Flushes, 1))),
					fmt.Sprint(st.Waits), fmt.Sprintf("%.3f%%", 100*float64(st.Waits)/float64(res.Calls)), fmt.Sprint(st.DroppedRecords))
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
	n := map[string]int{}
	for _, t := range r.targets {
		n[t.status(r.settings.quick)]++
	}
	s := fmt.Sprintf("Targets: %d met, %d missed, %d not measured", n[met], n[missed], n[notMeasured])
	if n[notJudged] > 0 {
		s += fmt.Sprintf("; %d that compare speeds or latencies are judged in full runs only", n[notJudged])
	}
	return s + ". A missed target is not a failure."
}

// render writes the tables that have rows.
func render(ts ...*table) string {
	var b strings.Builder
	for _, t := range ts {
		if len(t.rows) > 0 {
			t.write(&b)
		}
	}
	return b.String()
}

func (r *report) groupTables() string {
	var ts []*table
	for _, g := range bench.Groups() {
		if len(r.outputs(g)) > 0 {
			ts = append(ts, r.groupTable(g))
		}
	}
	return render(ts...)
}

// writeText prints the summary tables and the targets.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "asynclog-bench %s: %s, %d cores, %s; %s in %v; load average %s at the start, %s at the end\n",
		r.mode(), r.env.cpu, r.env.cores, runtime.Version(), r.env.date.Format("2006-01-02 15:04 MST"),
		r.elapsed.Round(time.Second), r.env.load[0], r.env.load[1])
	fmt.Fprint(w, r.groupTables(), render(r.sinkTable(bench.SlowSink), r.sinkTable(bench.FsyncSink), r.pacedTable(), r.targetTable()))
	fmt.Fprintf(w, "\n%s\n", r.targetSummary())
}

func (r *report) mode() string {
	if r.settings.quick {
		return "quick run"
	}
	return "full run"
}

//go:embed report.md.tmpl
var reportTemplate string

// writeMarkdownFile writes the whole report to path.
func (r *report) writeMarkdownFile(path string) error {
	s, e, tt := r.settings, r.env, r.targetTable()
	var b strings.Builder
	err := template.Must(template.New("report").Parse(reportTemplate)).Execute(&b, map[string]any{
		"Date":    fmt.Sprintf("%s (%s, %v)", e.date.Format("2006-01-02 15:04 MST"), r.mode(), r.elapsed.Round(time.Second)),
		"CPU":     fmt.Sprintf("%s, %d cores (GOMAXPROCS %d)", e.cpu, e.cores, e.gomaxprocs),
		"System":  e.system,
		"TempFS":  e.fs,
		"Load":    e.load[0] + " at the start, " + e.load[1] + " at the end",
		"Go":      runtime.Version(),
		"Commit":  e.commit,
		"Modules": e.modules,
		"Settings": fmt.Sprintf("go test -count %d -benchtime %s -cpu %s; latency harness %d goroutines × %s calls per output and case, "+
			"rounds on the page-cache file: %d; one run of at most %v on the slow and fsync sinks; paced runs of %v",
			s.count, s.benchtime, cpuList(), goroutines, fmtCount(float64(s.calls)), s.rounds, s.slowLimit, s.paced),
		"Summary": r.targetSummary(),
		"Targets": render(&table{"Targets met and missed", nil, tt.header, tt.rows, tt.left}),
		"Groups":  r.groupTables(),
		"Sinks":   render(r.sinkTable(bench.SlowSink), r.sinkTable(bench.FsyncSink)),
		"Paced":   render(r.pacedTable()),
		"Core":    render(r.coreTable()),
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// problems lists what makes the run fail: entries lost by an output that
// must not lose any, and errors reported by an output.
func (r *report) problems() []string {
	var ps []string
	for _, k := range slices.SortedFunc(maps.Keys(r.latency), func(a, b latKey) int { return strings.Compare(a.String(), b.String()) }) {
		res := r.latency[k]
		if o := res.Output; !o.Discard && !o.Lossy && res.Lost() != 0 {
			ps = append(ps, fmt.Sprintf("%s lost %d of %d entries", k, res.Lost(), res.Calls))
		}
		if err := res.Err; err != "" {
			ps = append(ps, fmt.Sprintf("%s: %s", k, err))
		}
	}
	return ps
}
