package main

import (
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/asynclog/asynclog/bench"
	"github.com/asynclog/asynclog/core"
)

// runs are the latency runs of one output, case and sink, repeated in
// rounds, and summarized: throughput is the median of the rounds, latency
// quantiles are over every call of every round, loss is the total.
type runs struct {
	rs     []*bench.Result
	merged *hdrhistogram.Histogram
}

func (x *runs) add(r *bench.Result) {
	if x.merged == nil {
		x.merged = hdrhistogram.New(r.Latency.LowestTrackableValue(), r.Latency.HighestTrackableValue(),
			int(r.Latency.SignificantFigures()))
	}
	x.merged.Merge(r.Latency)
	x.rs = append(x.rs, r)
}

// Output returns the output that was run.
func (x *runs) Output() *bench.Output { return x.rs[0].Output }

// Calls returns the entries logged in all rounds.
func (x *runs) Calls() int64 {
	var n int64
	for _, r := range x.rs {
		n += r.Calls
	}
	return n
}

// Lost returns the entries lost in all rounds, or -1 for an output that
// discards.
func (x *runs) Lost() int64 {
	var n int64
	for _, r := range x.rs {
		if r.Lost() < 0 {
			return -1
		}
		n += r.Lost()
	}
	return n
}

// Throughput returns the median of the rounds' entries per second.
func (x *runs) Throughput() float64 {
	t := make([]float64, len(x.rs))
	for i, r := range x.rs {
		t[i] = r.Throughput()
	}
	slices.Sort(t)
	if n := len(t); n%2 == 0 {
		return (t[n/2-1] + t[n/2]) / 2
	}
	return t[len(t)/2]
}

// Quantile returns the latency at quantile q (0 to 100) over all calls.
func (x *runs) Quantile(q float64) time.Duration {
	return time.Duration(x.merged.ValueAtQuantile(q))
}

// CPUPerSecond returns the CPU seconds the process used per second, over
// all rounds, or -1 if they could not be read.
func (x *runs) CPUPerSecond() float64 {
	var cpu, wall time.Duration
	for _, r := range x.rs {
		if r.CPU < 0 {
			return -1
		}
		cpu, wall = cpu+r.CPU, wall+r.Elapsed
	}
	return cpu.Seconds() / wall.Seconds()
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
	var n uint64
	for _, r := range x.rs {
		n += r.GCs
	}
	return float64(n) / float64(len(x.rs))
}

// Core returns the asynclog counters summed over the rounds, or nil.
func (x *runs) Core() *core.Stats {
	var s *core.Stats
	for _, r := range x.rs {
		if r.Core == nil {
			continue
		}
		if s == nil {
			s = &core.Stats{BufferSize: r.Core.BufferSize}
		}
		s.Records += r.Core.Records
		s.WrittenBytes += r.Core.WrittenBytes
		s.DroppedRecords += r.Core.DroppedRecords
		s.Flushes += r.Core.Flushes
		s.Waits += r.Core.Waits
	}
	return s
}

// Err returns the first error of the rounds.
func (x *runs) Err() error {
	for _, r := range x.rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}
