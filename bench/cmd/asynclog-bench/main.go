// Command asynclog-bench runs the comparison suite of package bench and
// reports it: the go-test benchmarks (cost per call at GOMAXPROCS 1, 2 and
// 4), then the latency harness (tail latency, throughput, loss and peak
// heap under sustained load on a file, a slow sink and a file synced every
// 10 ms, and zap at two steady rates with the CPU it takes). It prints one
// table per logger and the targets, each met, missed or not measured.
//
// Run it from the bench module's directory:
//
//	go run ./cmd/asynclog-bench          # full run, about 10 minutes
//	go run ./cmd/asynclog-bench -quick   # smoke run, under a minute
//
// BENCH_QUICK=1 in the environment means -quick. A full run writes the
// report to ../BENCHMARKS.md (-o) and keeps the raw go test output in
// results/gobench.txt, for benchstat. A quick or partial run (-groups,
// -outputs or -skip-gotest) writes no file, but the report if -o is given.
//
// To measure a few outputs quickly while working on one:
//
//	go run ./cmd/asynclog-bench -outputs zap/discard,zap/asynclog-discard -rounds 5 -skip-gotest
//
// -outputs takes output IDs, group/name as in the benchmark names, and
// restricts both the go test benchmarks and the latency harness to them
// (within -groups, if given too); -rounds sets the number of rounds on
// the page-cache file (3 in a full run, 1 in a quick one); -skip-gotest
// leaves out the go test benchmarks, so that only the latency harness runs.
//
// Targets that compare speeds or latencies are judged in full runs only:
// a quick run makes too few calls for them to mean anything. A missed
// target is reported, never a failure, since ratios measured on a shared
// machine move from run to run. The exit status is
//
//	0  the run completed, no output that must not lose entries lost any,
//	   and no output returned an error;
//	1  an output that must not lose entries lost some, or an output
//	   returned an error from Sync or Close (each printed as FAIL:);
//	2  the suite could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/asynclog/asynclog/bench"
)

// settings are the parameters of one run of the suite.
type settings struct {
	quick     bool
	count     int           // go test passes over the groups
	benchtime string        // go test -benchtime
	calls     int           // calls per goroutine in the latency harness
	deadline  time.Duration // bounds each run on the page-cache file
	slowLimit time.Duration // bounds each run on the slow and fsync sinks
	rounds    int           // rounds of runs on the page-cache file
	paced     time.Duration // length of each paced run
}

var (
	fullRun = settings{count: 6, benchtime: "100ms", calls: 200_000, deadline: time.Minute,
		slowLimit: 1500 * time.Millisecond, rounds: 3, paced: 5 * time.Second}
	quickRun = settings{quick: true, count: 1, benchtime: "200x", calls: 2000, deadline: 10 * time.Second,
		slowLimit: 200 * time.Millisecond, rounds: 1, paced: 2 * time.Second}
)

// goroutines log at once in each latency run but the paced ones.
const goroutines = 8

// procs are the GOMAXPROCS values of the go test benchmarks.
var procs = []int{1, 2, 4}

// The paced runs: zap with 10 fields, from pacedGoroutines goroutines at
// each of pacedRates entries per second in all, on the page-cache file,
// through zapasync and the two outputs it is read against. They sample
// the heap every 100 ms rather than every 1 ms, as they measure CPU time.
var (
	pacedOutputs = []string{"zap/file", zapBuffered, zapAsync}
	pacedRates   = []int{20_000, 200_000}
)

const pacedGoroutines = 4

func main() {
	quickEnv := os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0"
	var (
		quick  = flag.Bool("quick", quickEnv, "short smoke run (also BENCH_QUICK=1)")
		out    = flag.String("o", filepath.Join("..", "BENCHMARKS.md"), "write the report to this Markdown `file`; a quick or partial run writes it only if -o is given")
		groups = flag.String("groups", strings.Join(bench.Groups(), ","), "comma-separated `groups` to run")
		outs   = flag.String("outputs", "", "comma-separated output `IDs` (group/name, such as zap/discard) to run; all if empty")
		rounds = flag.Int("rounds", 0, "rounds of latency runs on the page-cache file; 0 for 3, or 1 with -quick")
		skipGo = flag.Bool("skip-gotest", false, "skip the go test benchmarks: run the latency harness only")
		child  = flag.String("child", "", "internal: make the latency run this JSON describes and print its result")
	)
	flag.Parse()
	if *child != "" {
		if err := runChild(*child, os.Stdout); err != nil {
			fatalf("%v", err)
		}
		return
	}
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	file, raw := files(*quick || given["groups"] || given["outputs"] || *skipGo, *out, given["o"])
	s := fullRun
	if *quick {
		s = quickRun
	}
	switch {
	case *rounds < 0:
		fatalf("-rounds %d: want 1 or more, or 0 for the default", *rounds)
	case *rounds > 0:
		s.rounds = *rounds
	}
	sel, err := newSelection(*groups, *outs)
	if err != nil {
		fatalf("%v", err)
	}
	if data, err := os.ReadFile("go.mod"); err != nil || !strings.HasPrefix(string(data), "module github.com/asynclog/asynclog/bench\n") {
		fatalf("run me from the bench module's directory, bench/ in the repository")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep := &report{settings: s, env: environment(), started: time.Now()}
	if !*skipGo {
		if rep.bench, err = goBench(ctx, s, sel, raw); err != nil {
			fatalf("%v", err)
		}
	}
	if rep.latency, err = runLatency(ctx, s, sel); err != nil {
		fatalf("%v", err)
	}
	rep.elapsed = time.Since(rep.started)
	rep.env.load[1] = loadAverage()
	rep.targets = evaluateTargets(rep)

	rep.writeText(os.Stdout)
	if file != "" {
		if err := rep.writeMarkdownFile(file); err != nil {
			fatalf("%v", err)
		}
		logf("report written to %s", file)
	}
	if problems := rep.problems(); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		os.Exit(1)
	}
}

// files returns the files a run writes, "" for none: a full run writes the
// report to out and keeps the raw go test output; a quick or partial run
// writes only the report, and that only if -o was given.
func files(partial bool, out string, outGiven bool) (report, raw string) {
	switch {
	case !partial:
		return out, filepath.Join("results", "gobench.txt")
	case outGiven:
		return out, ""
	}
	return "", ""
}

// A selection is the outputs a run measures: those of groups, and of
// them only outputs, if not nil.
type selection struct {
	groups  []string
	outputs []string // output IDs
}

// newSelection parses -groups and -outputs, both comma-separated lists.
func newSelection(groups, outputs string) (selection, error) {
	sel := selection{groups: strings.Split(groups, ",")}
	for _, g := range sel.groups {
		if !slices.Contains(bench.Groups(), g) {
			return sel, fmt.Errorf("unknown group %q", g)
		}
	}
	if outputs == "" {
		return sel, nil
	}
	for id := range strings.SplitSeq(outputs, ",") {
		o := bench.Find(strings.TrimSpace(id))
		if o == nil {
			return sel, fmt.Errorf("unknown output %q", id)
		}
		if !slices.Contains(sel.groups, o.Group) {
			return sel, fmt.Errorf("output %q is not in -groups %s", o.ID(), groups)
		}
		sel.outputs = append(sel.outputs, o.ID())
	}
	return sel, nil
}

// has reports whether o is selected.
func (s selection) has(o *bench.Output) bool {
	return slices.Contains(s.groups, o.Group) && (s.outputs == nil || slices.Contains(s.outputs, o.ID()))
}

// benchPattern returns the go test -bench pattern of the selected
// outputs of group, or "" if there are none.
func (s selection) benchPattern(group string) string {
	var names []string
	for _, o := range bench.Outputs() {
		if o.Group == group && s.has(o) {
			names = append(names, regexp.QuoteMeta(o.Name))
		}
	}
	switch {
	case len(names) == 0:
		return ""
	case s.outputs == nil:
		return "^BenchmarkOutputs$/^" + regexp.QuoteMeta(group) + "$/"
	}
	return "^BenchmarkOutputs$/^" + regexp.QuoteMeta(group) + "$/^(" + strings.Join(names, "|") + ")$/"
}

// latKey names the latency runs of one output, case, sink and rate.
type latKey struct {
	output string // group/name
	c      bench.Case
	sink   string
	rate   int // entries per second of a paced run, 0 for flat out
}

// String describes the run, such as "zap/zapasync (fields, file sink)".
func (k latKey) String() string {
	s := fmt.Sprintf("%s (%s, %s sink", k.output, k.c, k.sink)
	if k.rate > 0 {
		s += fmt.Sprintf(", %d entries/s", k.rate)
	}
	return s + ")"
}

// runLatency runs the latency harness: every output and case on the
// page-cache file, in s.rounds rounds over all of them so that a noisy
// moment hits one round of many outputs rather than one output; then
// every output that writes somewhere, with its main case, on the slow and
// fsync sinks; then the paced runs. Each run is a process of its own (see
// runChild), so that every output starts from the same heap and collector
// state and nothing an earlier output left behind weighs on it.
func runLatency(ctx context.Context, s settings, sel selection) (map[latKey]*runs, error) {
	var plan []childSpec
	add := func(o *bench.Output, c bench.Case, sink bench.Sink, cfg bench.Config) {
		if sel.has(o) {
			plan = append(plan, childSpec{Output: o.ID(), Case: c, Sink: sink.Name, Config: cfg})
		}
	}
	for range s.rounds {
		for _, o := range bench.Outputs() {
			for _, c := range o.Cases {
				add(o, c, bench.FileSink, bench.Config{Goroutines: goroutines, Calls: s.calls, Deadline: s.deadline})
			}
		}
	}
	for _, sink := range bench.Sinks[1:] {
		for _, o := range bench.Outputs() {
			if !o.Discard {
				add(o, mainCase(o), sink, bench.Config{Goroutines: goroutines, Calls: s.calls, Deadline: s.slowLimit})
			}
		}
	}
	for _, rate := range pacedRates {
		for _, id := range pacedOutputs {
			add(bench.Find(id), bench.Fields, bench.FileSink, bench.Config{
				Goroutines: pacedGoroutines, Calls: int(s.paced.Seconds()*float64(rate)) / pacedGoroutines,
				Deadline: s.paced, Rate: float64(rate), HeapEvery: 100 * time.Millisecond})
		}
	}

	dir, err := os.MkdirTemp("", "asynclog-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	results := make(map[latKey]*runs)
	for i, spec := range plan {
		spec.Config.Dir = dir
		r, err := runInChild(ctx, spec)
		if err != nil {
			return nil, err
		}
		k := latKey{spec.Output, spec.Case, spec.Sink, int(spec.Config.Rate)}
		if results[k] == nil {
			results[k] = &runs{}
		}
		results[k].add(r)
		logf("[%d/%d] %-50s %9s/s  p50 %8s  p99.9 %8s  max %8s  lost %s", i+1, len(plan), k,
			fmtCount(r.Throughput()), fmtDur(r.Quantile(50)), fmtDur(r.Quantile(99.9)), fmtDur(r.Max()), fmtLoss(r.Lost(), r.Calls))
	}
	return results, nil
}

// mainCase is the case an output is compared on when only one is run.
func mainCase(o *bench.Output) bench.Case {
	if o.Supports(bench.Fields) {
		return bench.Fields
	}
	return o.Cases[0]
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "asynclog-bench: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	os.Exit(2)
}
