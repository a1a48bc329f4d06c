package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/asynclog/asynclog/bench"
	"github.com/asynclog/asynclog/core"
)

// A childSpec describes one latency run, made in a process of its own: the
// driver runs itself with -child and the spec as JSON.
type childSpec struct {
	Output       string        `json:"output"` // group/name
	Case         bench.Case    `json:"case"`
	Sink         string        `json:"sink"`
	Goroutines   int           `json:"goroutines"`
	Calls        int           `json:"calls"`
	Deadline     time.Duration `json:"deadline"`
	Rate         float64       `json:"rate,omitempty"`
	Dir          string        `json:"dir"`
	CPUProfile   string        `json:"cpuprofile,omitempty"`
	MutexProfile string        `json:"mutexprofile,omitempty"`
}

// config returns the harness's settings for the run. Paced runs report
// the process's CPU time, so they sample the heap less often.
func (spec childSpec) config() bench.Config {
	cfg := bench.Config{
		Goroutines: spec.Goroutines, Calls: spec.Calls, Deadline: spec.Deadline,
		Dir: spec.Dir, Rate: spec.Rate,
	}
	if spec.Rate > 0 {
		cfg.HeapEvery = pacedHeapEvery
	}
	return cfg
}

// A childResult is a bench.Result as the child prints it.
type childResult struct {
	Calls    int64         `json:"calls"`
	Lines    int64         `json:"lines"`
	CallTime time.Duration `json:"call_time"`
	Elapsed  time.Duration `json:"elapsed"`
	PeakHeap int64         `json:"peak_heap"`
	GCs      uint64        `json:"gcs"`
	CPU      time.Duration `json:"cpu"`
	Core     *core.Stats   `json:"core,omitempty"`
	Err      string        `json:"err,omitempty"`
	Latency  []byte        `json:"latency"` // hdrhistogram's compressed encoding
}

// runInChild makes the run spec describes in a new process and returns its
// result.
func runInChild(ctx context.Context, spec childSpec) (*bench.Result, error) {
	o, sink, err := lookup(spec)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	arg, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "-child", string(arg))
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("latency run %s: %w", arg, err)
	}
	var cr childResult
	if err := json.Unmarshal(out.Bytes(), &cr); err != nil {
		return nil, fmt.Errorf("latency run %s: reading its result: %w", arg, err)
	}
	h, err := hdrhistogram.Decode(cr.Latency)
	if err != nil {
		return nil, fmt.Errorf("latency run %s: reading its histogram: %w", arg, err)
	}
	r := &bench.Result{
		Output: o, Case: spec.Case, Sink: sink.Name,
		Config: spec.config(),
		Calls:  cr.Calls, Lines: cr.Lines, CallTime: cr.CallTime, Elapsed: cr.Elapsed,
		Latency: h, PeakHeap: cr.PeakHeap, GCs: cr.GCs, CPU: cr.CPU, Core: cr.Core,
	}
	if cr.Err != "" {
		r.Err = errors.New(cr.Err)
	}
	return r, nil
}

// runChild makes the run that the JSON arg describes and writes its result
// to w as JSON.
func runChild(arg string, w io.Writer) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(arg), &spec); err != nil {
		return fmt.Errorf("-child: %w", err)
	}
	o, sink, err := lookup(spec)
	if err != nil {
		return err
	}
	stop, err := startProfiles(spec.CPUProfile, spec.MutexProfile)
	if err != nil {
		return err
	}
	r, err := bench.Run(o, spec.Case, sink, spec.config())
	if perr := stop(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	enc, err := r.Latency.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return err
	}
	cr := childResult{
		Calls: r.Calls, Lines: r.Lines, CallTime: r.CallTime, Elapsed: r.Elapsed,
		PeakHeap: r.PeakHeap, GCs: r.GCs, CPU: r.CPU, Core: r.Core, Latency: enc,
	}
	if r.Err != nil {
		cr.Err = r.Err.Error()
	}
	return json.NewEncoder(w).Encode(cr)
}

// lookup finds the output and the sink a spec names.
func lookup(spec childSpec) (*bench.Output, bench.Sink, error) {
	var sink bench.Sink
	for _, s := range sinks {
		if s.Name == spec.Sink {
			sink = s
		}
	}
	if sink.Name == "" {
		return nil, sink, fmt.Errorf("no sink %q", spec.Sink)
	}
	for _, o := range bench.Outputs() {
		if o.ID() == spec.Output {
			return o, sink, nil
		}
	}
	return nil, sink, fmt.Errorf("no output %q", spec.Output)
}
