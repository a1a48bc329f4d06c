package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/asynclog/asynclog/bench"
)

// A childSpec describes one latency run, made in a process of its own: the
// driver runs itself with -child and the spec as JSON.
type childSpec struct {
	Output string // group/name
	Case   bench.Case
	Sink   string
	Config bench.Config
}

// A childResult is what the child prints: the result, and its latency
// histogram in hdrhistogram's compressed encoding.
type childResult struct {
	bench.Result
	Histogram []byte
}

// runInChild makes the run spec describes in a new process and returns its
// result.
func runInChild(ctx context.Context, spec childSpec) (*bench.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	arg, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", string(arg))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var cr childResult
	if err == nil {
		err = json.Unmarshal(out, &cr)
	}
	if err == nil {
		cr.Latency, err = hdrhistogram.Decode(cr.Histogram)
	}
	if err != nil {
		return nil, fmt.Errorf("latency run %s: %w", arg, err)
	}
	cr.Output = bench.Find(spec.Output)
	return &cr.Result, nil
}

// runChild makes the run that the JSON arg describes and writes its result
// to w as JSON.
func runChild(arg string, w io.Writer) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(arg), &spec); err != nil {
		return fmt.Errorf("-child: %w", err)
	}
	o := bench.Find(spec.Output)
	i := slices.IndexFunc(bench.Sinks, func(s bench.Sink) bool { return s.Name == spec.Sink })
	if o == nil || i < 0 || !o.Supports(spec.Case) {
		return fmt.Errorf("-child: no output %q of case %q or no sink %q", spec.Output, spec.Case, spec.Sink)
	}
	r, err := bench.Run(o, spec.Case, bench.Sinks[i], spec.Config)
	if err != nil {
		return err
	}
	cr := childResult{Result: *r}
	if cr.Histogram, err = r.Latency.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(cr)
}
