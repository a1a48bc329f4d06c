package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/asynclog/asynclog/bench"
)

// A benchKey names one go-test benchmark: an output, a case, serial or
// parallel, at one GOMAXPROCS.
type benchKey struct {
	output string // group/name
	c      bench.Case
	mode   string // "serial" or "parallel"
	procs  int
}

// A benchStat summarizes the runs of one benchmark: medians with their
// 95% confidence intervals, as benchstat computes them.
type benchStat struct {
	ns, bytes, allocs benchmath.Summary
	runs              int
}

// goBench runs the benchmarks of package bench, writing the go test output
// to raw, and returns their summaries. groups, if not empty, restricts them
// to those output groups.
//
// The test binary is built once. Each group runs in a process of its own,
// so that one group's heap does not change the garbage collection of the
// next, and -count is made of passes over all groups rather than of
// back-to-back repetitions, so that a burst of noise on a shared machine
// hits one sample of many outputs instead of every sample of one.
func goBench(ctx context.Context, s settings, groups []string, raw io.Writer) (map[benchKey]*benchStat, error) {
	dir, err := os.MkdirTemp("", "asynclog-bench-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
	build.Dir, build.Stdout, build.Stderr = s.pkgDir, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the benchmarks: %w", err)
	}
	if len(groups) == 0 {
		groups = bench.Groups()
	}

	var all bytes.Buffer
	out := io.MultiWriter(raw, &all)
	total, done := expectedResults(s, groups), 0
	logf("go test -bench BenchmarkOutputs -benchmem -count %d -cpu %s -benchtime %s: %d results",
		s.count, s.cpu, s.benchtime, total)
	for pass := 1; pass <= s.count; pass++ {
		for _, g := range groups {
			args := []string{"-test.run", "^$", "-test.bench", "^BenchmarkOutputs$/^" + g + "$/",
				"-test.benchmem", "-test.count", "1", "-test.cpu", s.cpu,
				"-test.benchtime", s.benchtime, "-test.timeout", "0"}
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir, cmd.Stderr = s.pkgDir, os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				return nil, err
			}
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				fmt.Fprintln(out, line)
				if strings.HasPrefix(line, "Benchmark") {
					done++
					if s.verbose {
						logf("%s", line)
					}
				}
			}
			if err := cmd.Wait(); err != nil {
				return nil, fmt.Errorf("go test, group %s: %w", g, err)
			}
		}
		logf("go test: pass %d of %d done, %d of %d results", pass, s.count, done, total)
	}
	return parseBench(&all)
}

// expectedResults is the number of result lines go test will print.
func expectedResults(s settings, groups []string) int {
	n := 0
	for _, o := range bench.Outputs() {
		if len(groups) == 0 || contains(groups, o.Group) {
			n += 2 * len(o.Cases)
		}
	}
	return n * s.count * len(strings.Split(s.cpu, ","))
}

// parseBench reads go test benchmark output and summarizes each benchmark.
func parseBench(r io.Reader) (map[benchKey]*benchStat, error) {
	type samples struct{ ns, bytes, allocs []float64 }
	all := map[benchKey]*samples{}
	br := benchfmt.NewReader(r, "go test")
	for br.Scan() {
		res, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue // unit metadata, or a line that is not a result
		}
		key, ok := parseName(res.Name.String())
		if !ok {
			continue
		}
		s := all[key]
		if s == nil {
			s = &samples{}
			all[key] = s
		}
		for _, v := range res.Values {
			switch v.Unit { // as benchfmt normalizes them
			case "sec/op":
				ns := v.Value * 1e9
				if v.OrigUnit == "ns/op" {
					ns = v.OrigValue // exactly as printed
				}
				s.ns = append(s.ns, ns)
			case "B/op":
				s.bytes = append(s.bytes, v.Value)
			case "allocs/op":
				s.allocs = append(s.allocs, v.Value)
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	stats := make(map[benchKey]*benchStat, len(all))
	for k, s := range all {
		stats[k] = &benchStat{
			ns:     summarize(s.ns),
			bytes:  summarize(s.bytes),
			allocs: summarize(s.allocs),
			runs:   len(s.ns),
		}
	}
	return stats, nil
}

// summarize returns the median of values and its confidence interval.
func summarize(values []float64) benchmath.Summary {
	if len(values) == 0 {
		return benchmath.Summary{}
	}
	sample := benchmath.NewSample(values, &benchmath.DefaultThresholds)
	return benchmath.AssumeNothing.Summary(sample, 0.95)
}

// parseName parses "Outputs/group/name/case/mode[-procs]".
func parseName(name string) (benchKey, bool) {
	procs := 1
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			name, procs = name[:i], n
		}
	}
	parts := strings.Split(name, "/")
	if len(parts) != 5 || parts[0] != "Outputs" {
		return benchKey{}, false
	}
	return benchKey{
		output: parts[1] + "/" + parts[2],
		c:      bench.Case(parts[3]),
		mode:   parts[4],
		procs:  procs,
	}, true
}
