// Command asynclog-bench runs the comparison suite of package bench and
// reports it: the go-test benchmarks (cost per call, at several
// GOMAXPROCS), then the latency harness (tail latency, throughput, loss and
// peak heap under sustained load, on a file, a slow sink and a file synced
// every 10 ms, and zap at two steady rates with the CPU it takes). It
// prints one table per logger and the targets, each met, missed or not
// measured, and with -o writes everything to a Markdown file.
//
// Run it from the bench module's directory:
//
//	go run ./cmd/asynclog-bench -o ../BENCHMARKS.md   # full run, about 10 minutes
//	go run ./cmd/asynclog-bench -quick                # smoke run, under a minute
//
// BENCH_QUICK=1 in the environment means -quick. A full run keeps the raw
// go test output in the -raw file, for benchstat. A quick or partial run
// (-quick, -groups, -skip-*) writes no file unless -o or -raw is given.
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
//	2  the suite could not run (bad flags, a build or run that failed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/asynclog/asynclog/bench"
)

// settings are the parameters of one run of the suite.
type settings struct {
	quick bool

	// go test benchmarks
	count     int
	cpu       string
	benchtime string
	pkgDir    string

	// latency harness
	goroutines int
	calls      int
	deadline   time.Duration // for the page-cache file
	slowLimit  time.Duration // for the slow and fsync sinks
	rounds     int           // rounds of runs on the page-cache file
	paced      time.Duration // length of each paced run

	verbose bool
}

func main() {
	quickEnv := os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0"
	var (
		quick      = flag.Bool("quick", quickEnv, "short smoke run (also BENCH_QUICK=1)")
		out        = flag.String("o", filepath.Join("..", "BENCHMARKS.md"), "write the report to this Markdown `file`; a quick or partial run writes it only if -o is given; \"\" for none")
		raw        = flag.String("raw", filepath.Join("results", "gobench.txt"), "keep the raw go test output in this `file`; a quick or partial run keeps it only if -raw is given; \"\" for none")
		groupsFlag = flag.String("groups", "", "comma-separated `groups` to run (default all: "+strings.Join(bench.Groups(), ",")+")")
		skipBench  = flag.Bool("skip-gobench", false, "skip the go-test benchmarks")
		skipLat    = flag.Bool("skip-latency", false, "skip the latency harness")
		count      = flag.Int("count", 0, "go test -count (default 6, quick 1)")
		cpu        = flag.String("cpu", "1,2,4", "go test -cpu")
		benchtime  = flag.String("benchtime", "", "go test -benchtime (default 100ms, quick 200x)")
		goroutines = flag.Int("goroutines", 8, "goroutines logging at once in the latency harness")
		calls      = flag.Int("calls", 0, "calls per goroutine in the latency harness (default 200000, quick 2000)")
		rounds     = flag.Int("rounds", 0, "rounds of latency runs on the page-cache file (default 3, quick 1)")
		verbose    = flag.Bool("v", false, "show every go test result")
		profileDir = flag.String("profiledir", "", "write a CPU and a mutex profile of each latency run into `dir`")
		child      = flag.String("child", "", "internal: run one latency run described by this JSON and print its result")
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
	if partial := *quick || *groupsFlag != "" || *skipBench || *skipLat; partial {
		if !given["o"] {
			*out = ""
		}
		if !given["raw"] {
			*raw = ""
		}
	}
	if err := checkModuleDir(); err != nil {
		fatalf("%v", err)
	}

	s := settings{
		quick: *quick, count: 6, cpu: *cpu, benchtime: "100ms", pkgDir: ".",
		goroutines: *goroutines, calls: 200_000,
		deadline: 60 * time.Second, slowLimit: 1500 * time.Millisecond, rounds: 3,
		paced: 5 * time.Second, verbose: *verbose,
	}
	if s.quick {
		s.count, s.benchtime, s.calls, s.rounds = 1, "200x", 2000, 1
		s.deadline, s.slowLimit, s.paced = 10*time.Second, 200*time.Millisecond, 2*time.Second
	}
	if *count > 0 {
		s.count = *count
	}
	if *benchtime != "" {
		s.benchtime = *benchtime
	}
	if *calls > 0 {
		s.calls = *calls
	}
	if *rounds > 0 {
		s.rounds = *rounds
	}
	var groups []string
	if *groupsFlag != "" {
		groups = strings.Split(*groupsFlag, ",")
		for _, g := range groups {
			if !slices.Contains(bench.Groups(), g) {
				fatalf("unknown group %q", g)
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep := &report{settings: s, env: environment(), started: time.Now()}
	if !*skipBench {
		var err error
		if *raw == "" {
			rep.bench, err = goBench(ctx, s, groups, io.Discard)
		} else {
			rep.bench, err = goBenchTo(ctx, s, groups, *raw)
		}
		if err != nil {
			fatalf("%v", err)
		}
	}
	if !*skipLat {
		rep.clock = clockOverhead()
		if *profileDir != "" {
			if err := os.MkdirAll(*profileDir, 0o755); err != nil {
				fatalf("%v", err)
			}
		}
		var err error
		rep.latency, err = runLatency(ctx, s, groups, *profileDir)
		if err != nil {
			fatalf("%v", err)
		}
	}
	rep.elapsed = time.Since(rep.started)
	rep.env.loadEnd = loadAverage()
	rep.targets = evaluateTargets(rep)

	rep.writeText(os.Stdout)
	if *out != "" {
		if err := rep.writeMarkdownFile(*out); err != nil {
			fatalf("%v", err)
		}
		logf("report written to %s", *out)
	}
	if problems := rep.problems(); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		os.Exit(1)
	}
}

// goBenchTo runs goBench and keeps the raw go test output in file path.
func goBenchTo(ctx context.Context, s settings, groups []string, path string) (map[benchKey]*benchStat, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	stats, err := goBench(ctx, s, groups, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		logf("go test output kept in %s (benchstat reads it)", path)
	}
	return stats, err
}

// checkModuleDir checks that the current directory is the bench module's,
// where go test finds the benchmarks and ../BENCHMARKS.md is the report.
func checkModuleDir() error {
	data, err := os.ReadFile("go.mod")
	if err == nil && strings.HasPrefix(string(data), "module "+benchModule+"\n") {
		return nil
	}
	return fmt.Errorf("run me from the directory of module %s (bench/ in the repository)", benchModule)
}

const benchModule = "github.com/asynclog/asynclog/bench"

// latKey names one latency run.
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

// sinks are the latency harness's sinks, in the order they are run.
var sinks = []bench.Sink{bench.FileSink, bench.SlowSink, bench.FsyncSink}

// The paced runs: zap with 10 fields, from pacedGoroutines goroutines at
// each of pacedRates entries per second in all, on the page-cache file,
// through zapasync and the two outputs it is read against.
var (
	pacedOutputs = []string{"zap/file", zapBuffered, zapAsync}
	pacedRates   = []int{20_000, 200_000}
)

const (
	pacedGoroutines = 4
	pacedHeapEvery  = 100 * time.Millisecond
)

// runLatency runs the latency harness: every output and case on the
// page-cache file, in s.rounds rounds over all of them so that a noisy
// moment hits one round of many outputs rather than one output, then once
// every output that writes somewhere on the slow and fsync sinks with its
// main case (Fields, or Record for the core group), then the paced runs
// for s.paced each.
//
// Each run is a process of its own (see runChild), so that every output
// starts from the same heap and garbage collector state, and nothing one
// output leaves behind (goroutines, memory it keeps) weighs on the next.
// With profileDir, each run writes a CPU and a mutex profile there.
func runLatency(ctx context.Context, s settings, groups []string, profileDir string) (map[latKey]*runs, error) {
	type run struct {
		o     *bench.Output
		c     bench.Case
		sink  bench.Sink
		round int
		rate  int
	}
	var plan []run
	for round := 1; round <= s.rounds; round++ {
		for _, o := range bench.Outputs() {
			if len(groups) == 0 || slices.Contains(groups, o.Group) {
				for _, c := range o.Cases {
					plan = append(plan, run{o, c, bench.FileSink, round, 0})
				}
			}
		}
	}
	for _, sink := range sinks[1:] {
		for _, o := range bench.Outputs() {
			if (len(groups) == 0 || slices.Contains(groups, o.Group)) && !o.Discard {
				plan = append(plan, run{o, mainCase(o), sink, 1, 0})
			}
		}
	}
	for _, rate := range pacedRates {
		for _, o := range bench.Outputs() {
			if (len(groups) == 0 || slices.Contains(groups, o.Group)) && slices.Contains(pacedOutputs, o.ID()) {
				plan = append(plan, run{o, bench.Fields, bench.FileSink, 1, rate})
			}
		}
	}

	dir, err := os.MkdirTemp("", "asynclog-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	results := make(map[latKey]*runs)
	for i, p := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		spec := childSpec{
			Output:     p.o.ID(),
			Case:       p.c,
			Sink:       p.sink.Name,
			Goroutines: s.goroutines,
			Calls:      s.calls,
			Deadline:   s.deadline,
			Dir:        dir,
		}
		if p.sink.Name != bench.FileSink.Name {
			spec.Deadline = s.slowLimit
		}
		where := p.sink.Name
		if p.rate > 0 {
			spec.Goroutines, spec.Rate, spec.Deadline = pacedGoroutines, float64(p.rate), s.paced
			spec.Calls = int(s.paced.Seconds() * float64(p.rate) / pacedGoroutines)
			where = fmtCount(float64(p.rate)) + "/s"
		}
		if profileDir != "" {
			base := filepath.Join(profileDir, fmt.Sprintf("%s-%s-%s-%s-r%d",
				p.o.Group, p.o.Name, p.c, strings.TrimSuffix(where, "/s"), p.round))
			spec.CPUProfile, spec.MutexProfile = base+".cpu.prof", base+".mutex.prof"
		}
		r, err := runInChild(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("%s %s on %s: %w", p.o.ID(), p.c, where, err)
		}
		k := latKey{p.o.ID(), p.c, p.sink.Name, p.rate}
		if results[k] == nil {
			results[k] = &runs{}
		}
		results[k].add(r)
		one := &runs{}
		one.add(r)
		logf("[%d/%d] %-7s %-26s %-6s %9s/s  p50 %8s  p99.9 %8s  max %8s  lost %s",
			i+1, len(plan), where, p.o.ID(), p.c,
			fmtCount(r.Throughput()), fmtDur(r.Quantile(50)), fmtDur(r.Quantile(99.9)),
			fmtDur(r.Max()), fmtLoss(one))
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

// nopLogger does nothing; timing it measures the clock.
type nopLogger struct{}

func (nopLogger) Log()         {}
func (nopLogger) Sync() error  { return nil }
func (nopLogger) Close() error { return nil }

// clockOverhead returns the median time the harness measures for a call
// that does nothing: the cost of reading the clock, included in every
// latency it reports.
func clockOverhead() time.Duration {
	o := &bench.Output{
		Group: "clock", Name: "nop", Discard: true, Cases: []bench.Case{bench.Record},
		Open: func(_ io.Writer, _ bench.Case) bench.Logger { return nopLogger{} },
	}
	r, err := bench.Run(o, bench.Record, bench.FileSink, bench.Config{Goroutines: 1, Calls: 100_000})
	if err != nil {
		fatalf("%v", err)
	}
	return r.Quantile(50)
}

// startProfiles starts the CPU and mutex profiles that have a file name and
// returns the function that stops them and writes them.
func startProfiles(cpuFile, mutexFile string) (stop func() error, err error) {
	var cpu *os.File
	if cpuFile != "" {
		if cpu, err = os.Create(cpuFile); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, err
		}
	}
	if mutexFile != "" {
		runtime.SetMutexProfileFraction(5)
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if mutexFile != "" {
			f, err := os.Create(mutexFile)
			if err != nil {
				return err
			}
			errs = append(errs, pprof.Lookup("mutex").WriteTo(f, 0), f.Close())
		}
		return errors.Join(errs...)
	}, nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "asynclog-bench: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	os.Exit(2)
}
