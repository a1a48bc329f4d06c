package main

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/asynclog/asynclog/bench"
	"github.com/asynclog/asynclog/core"
)

// runs are the latency runs of one output, case, sink and rate, repeated
// in rounds, and summarized: throughput is the median of the rounds,
// latency quantiles are over every call of every round, loss is the total.
type runs struct {
	rs     []*bench.Result
	merged *hdrhistogram.Histogram
}

func (x *runs) add(r *bench.Result) {
	if x.merged == nil {
		x.merged = bench.NewHistogram()
	}
	x.merged.Merge(r.Latency)
	x.rs = append(x.rs, r)
}

// Output returns the output that was run.
func (x *runs) Output() *bench.Output { return x.rs[0].Output }

// sum returns the sum of f over the rounds.
func sum[T int64 | uint64 | time.Duration](x *runs, f func(*bench.Result) T) T {
	var n T
	for _, r := range x.rs {
		n += f(r)
	}
	return n
}

// Calls returns the entries logged in all rounds.
func (x *runs) Calls() int64 { return sum(x, func(r *bench.Result) int64 { return r.Calls }) }

// Lost returns the entries lost in all rounds, or -1 for an output that
// discards.
func (x *runs) Lost() int64 {
	if x.rs[0].Lines < 0 {
		return -1
	}
	return sum(x, (*bench.Result).Lost)
}

// Throughput returns the median of the rounds' entries per second.
func (x *runs) Throughput() float64 {
	t := make([]float64, len(x.rs))
	for i, r := range x.rs {
		t[i] = r.Throughput()
	}
	return median(t)
}

// Quantile returns the latency at quantile q (0 to 100) over all calls.
func (x *runs) Quantile(q float64) time.Duration {
	return time.Duration(x.merged.ValueAtQuantile(q))
}

// Max returns the longest call of all rounds.
func (x *runs) Max() time.Duration { return time.Duration(x.merged.Max()) }

// PeakHeap returns the highest peak heap of the rounds.
func (x *runs) PeakHeap() int64 {
	var p int64
	for _, r := range x.rs {
		p = max(p, r.PeakHeap)
	}
	return p
}

// GCs returns the garbage collections per round, on average.
func (x *runs) GCs() float64 {
	return float64(sum(x, func(r *bench.Result) uint64 { return r.GCs })) / float64(len(x.rs))
}

// CPUPerSecond returns the CPU seconds the process used per second of the
// rounds, or -1 if they could not be read.
func (x *runs) CPUPerSecond() float64 {
	cpu := sum(x, func(r *bench.Result) time.Duration { return r.CPU })
	if cpu < 0 || x.rs[0].CPU < 0 {
		return -1
	}
	return cpu.Seconds() / sum(x, func(r *bench.Result) time.Duration { return r.Elapsed }).Seconds()
}

// Core returns the asynclog counters summed over the rounds, or nil.
func (x *runs) Core() *core.Stats {
	if x.rs[0].Core == nil {
		return nil
	}
	s := core.Stats{BufferSize: x.rs[0].Core.BufferSize}
	for _, r := range x.rs {
		s.Records += r.Core.Records
		s.WrittenBytes += r.Core.WrittenBytes
		s.DroppedRecords += r.Core.DroppedRecords
		s.Flushes += r.Core.Flushes
		s.Waits += r.Core.Waits
	}
	return &s
}

// Err returns the first error of the rounds, or "".
func (x *runs) Err() string {
	for _, r := range x.rs {
		if r.Err != "" {
			return r.Err
		}
	}
	return ""
}
