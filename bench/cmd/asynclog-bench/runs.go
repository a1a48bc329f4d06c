package main

import (
	"time"

	"github.com/asynclog/asynclog/bench"
	"github.com/asynclog/asynclog/core"
)

// runs are the latency runs of one output, case, sink and rate, repeated
// in rounds, merged into one Result: counts, times and latencies added up,
// the highest peak heap, the first error. Throughput is the median of the
// rounds'.
type runs struct {
	bench.Result
	rounds      int
	throughputs []float64
}

func (x *runs) add(r *bench.Result) {
	if x.rounds == 0 {
		x.Output, x.Latency = r.Output, bench.NewHistogram()
	}
	x.rounds++
	x.throughputs = append(x.throughputs, r.Throughput())
	x.Latency.Merge(r.Latency)
	x.Calls, x.Elapsed, x.GCs = x.Calls+r.Calls, x.Elapsed+r.Elapsed, x.GCs+r.GCs
	x.PeakHeap = max(x.PeakHeap, r.PeakHeap)
	x.Lines = addKnown(x.Lines, r.Lines)
	x.CPU = addKnown(x.CPU, r.CPU)
	if x.Err == "" {
		x.Err = r.Err
	}
	if r.Core != nil {
		if x.Core == nil {
			x.Core = &core.Stats{BufferSize: r.Core.BufferSize}
		}
		x.Core.Flushes += r.Core.Flushes
		x.Core.Waits += r.Core.Waits
		x.Core.WrittenBytes += r.Core.WrittenBytes
		x.Core.DroppedRecords += r.Core.DroppedRecords
	}
}

// addKnown adds a and b, which are -1 if unknown.
func addKnown[T int64 | time.Duration](a, b T) T {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

// Throughput returns the median of the rounds' entries per second.
func (x *runs) Throughput() float64 { return median(x.throughputs) }

// GCsPerRound returns the garbage collections per round, on average.
func (x *runs) GCsPerRound() float64 { return float64(x.GCs) / float64(x.rounds) }

// CPUPerSecond returns the CPU seconds the process used per second of the
// rounds, or -1 if they could not be read.
func (x *runs) CPUPerSecond() float64 {
	if x.CPU < 0 {
		return -1
	}
	return x.CPU.Seconds() / x.Elapsed.Seconds()
}
