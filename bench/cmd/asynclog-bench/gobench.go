package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

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

// A benchStat holds the medians of the runs of one benchmark.
type benchStat struct {
	ns, allocs float64
	runs       int
}

// goBench runs the benchmarks of package bench for the outputs of sel and
// returns their medians. With raw, it keeps go test's output in that file.
//
// The test binary is built once. Each group runs in a process of its own,
// so that one group's heap does not change the garbage collection of the
// next, and s.count is made of passes over all groups rather than of
// back-to-back repetitions, so that a burst of noise on a shared machine
// hits one sample of many outputs instead of every sample of one.
func goBench(ctx context.Context, s settings, sel selection, raw string) (map[benchKey]*benchStat, error) {
	dir, err := os.MkdirTemp("", "asynclog-bench-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the benchmarks: %w", err)
	}
	cpu := cpuList()
	logf("go test -bench BenchmarkOutputs -benchmem -count %d -cpu %s -benchtime %s", s.count, cpu, s.benchtime)
	var out bytes.Buffer
	for pass := 1; pass <= s.count; pass++ {
		for _, g := range sel.groups {
			pattern := sel.benchPattern(g)
			if pattern == "" {
				continue
			}
			cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", pattern,
				"-test.benchmem", "-test.cpu", cpu, "-test.benchtime", s.benchtime, "-test.timeout", "0")
			cmd.Stdout, cmd.Stderr = &out, os.Stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("go test, group %s: %w", g, err)
			}
		}
		logf("go test: pass %d of %d done", pass, s.count)
	}
	if raw != "" {
		if err := os.MkdirAll(filepath.Dir(raw), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(raw, out.Bytes(), 0o644); err != nil {
			return nil, err
		}
		logf("go test output kept in %s (benchstat reads it)", raw)
	}
	return parseBench(out.String()), nil
}

// cpuList returns procs as go test's -cpu takes them: "1,2,4".
func cpuList() string { return strings.Trim(strings.ReplaceAll(fmt.Sprint(procs), " ", ","), "[]") }

// parseBench reads go test benchmark output and returns the medians of
// each benchmark's ns/op and allocs/op.
func parseBench(out string) map[benchKey]*benchStat {
	type samples struct{ ns, allocs []float64 }
	all := map[benchKey]*samples{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		k, ok := parseName(f)
		if !ok {
			continue
		}
		if all[k] == nil {
			all[k] = &samples{}
		}
		for i := 3; i < len(f); i += 2 { // after the iterations, value and unit pairs
			v, err := strconv.ParseFloat(f[i-1], 64)
			switch {
			case err != nil:
			case f[i] == "ns/op":
				all[k].ns = append(all[k].ns, v)
			case f[i] == "allocs/op":
				all[k].allocs = append(all[k].allocs, v)
			}
		}
	}
	stats := make(map[benchKey]*benchStat, len(all))
	for k, s := range all {
		stats[k] = &benchStat{median(s.ns), median(s.allocs), len(s.ns)}
	}
	return stats
}

// parseName parses the fields of a result line, whose name is
// "BenchmarkOutputs/group/name/case/mode[-procs]".
func parseName(fields []string) (benchKey, bool) {
	if len(fields) < 4 {
		return benchKey{}, false
	}
	name, procs := fields[0], 1
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			name, procs = name[:i], n
		}
	}
	p := strings.Split(name, "/")
	if len(p) != 5 || p[0] != "BenchmarkOutputs" {
		return benchKey{}, false
	}
	return benchKey{p[1] + "/" + p[2], bench.Case(p[3]), p[4], procs}, true
}

// median returns the median of xs, or 0 if there are none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs))
	n := len(xs)
	return (xs[(n-1)/2] + xs[n/2]) / 2
}
