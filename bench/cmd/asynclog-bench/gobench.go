package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

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

// goBench runs the benchmarks of package bench with go test, writing its
// output to raw, and returns their summaries. groups, if not empty,
// restricts them to those outputs groups.
func goBench(ctx context.Context, s settings, groups []string, raw io.Writer) (map[benchKey]*benchStat, error) {
	pattern := "^BenchmarkOutputs$"
	if len(groups) > 0 {
		pattern += "/^(" + strings.Join(groups, "|") + ")$/"
	}
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem",
		"-count", strconv.Itoa(s.count), "-cpu", s.cpu, "-benchtime", s.benchtime,
		"-timeout", "0", "."}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = s.pkgDir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf("go %s", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return nil, err
	}

	// Copy the output to raw, and show progress now and then.
	total := expectedResults(s, groups)
	var lines []byte
	sc := bufio.NewScanner(out)
	done, last := 0, time.Now()
	for sc.Scan() {
		line := sc.Bytes()
		fmt.Fprintf(raw, "%s\n", line)
		lines = append(append(lines, line...), '\n')
		if strings.HasPrefix(string(line), "Benchmark") {
			done++
			if s.verbose {
				logf("%s", line)
			} else if time.Since(last) > 20*time.Second {
				logf("go test: %d of %d results", done, total)
				last = time.Now()
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("go test: %w", err)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return parseBench(strings.NewReader(string(lines)))
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
