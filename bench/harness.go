package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/asynclog/asynclog/core"
)

// A Sink is what the outputs of a latency run write to. Every run gets a
// fresh file; the sink decides what stands in front of it and whether the
// harness syncs it during the run.
type Sink struct {
	// Name is "file", "slow" or "fsync".
	Name string

	// Title describes the sink in reports.
	Title string

	// SyncEvery, if positive, makes Run call Logger.Sync at this interval
	// while the callers log, from a goroutine of its own.
	SyncEvery time.Duration

	// wrap returns the writer the outputs get for file f.
	wrap func(f *os.File) io.Writer
}

// Writer returns the writer that outputs over s write to, for file f.
func (s Sink) Writer(f *os.File) io.Writer { return s.wrap(f) }

// SlowDelay is how long each Write of the slow sink takes.
const SlowDelay = time.Millisecond

// FsyncEvery is how often the fsync sink is synced during a run.
const FsyncEvery = 10 * time.Millisecond

var (
	// FileSink is a file in the page cache: outputs see only its Write
	// method, so nothing fsyncs it.
	FileSink = Sink{
		Name:  "file",
		Title: "file (page cache, never fsynced)",
		wrap:  func(f *os.File) io.Writer { return writeOnly{f} },
	}

	// SlowSink takes SlowDelay per Write before writing to the file, like
	// a network hop. It has no Sync method.
	SlowSink = Sink{
		Name:  "slow",
		Title: "slow sink (1 ms per Write)",
		wrap:  func(f *os.File) io.Writer { return slowWriter{f} },
	}

	// FsyncSink is the *os.File itself, so that Sync means fsync, and the
	// harness calls each output's Sync every FsyncEvery.
	FsyncSink = Sink{
		Name:      "fsync",
		Title:     "file fsynced at each Sync, Sync every 10 ms",
		SyncEvery: FsyncEvery,
		wrap:      func(f *os.File) io.Writer { return f },
	}
)

// writeOnly hides every method of the file but Write.
type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// slowWriter sleeps SlowDelay before each Write.
type slowWriter struct{ w io.Writer }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(SlowDelay)
	return w.w.Write(p)
}

// Config sets the load of a latency run.
type Config struct {
	// Goroutines is how many goroutines log at once.
	Goroutines int

	// Calls is how many entries each goroutine logs, unless the deadline
	// comes first.
	Calls int

	// Deadline, if positive, bounds the logging: a goroutine stops after
	// the call that returns past it. Outputs that make every caller wait
	// for a slow sink would otherwise take hours.
	Deadline time.Duration

	// Dir is where the run's file is made; empty means os.TempDir().
	Dir string

	// HeapEvery is the interval at which the heap is sampled; zero means
	// DefaultHeapEvery.
	HeapEvery time.Duration

	// Rate, if positive, paces the load at this many entries per second
	// in all: each goroutine sleeps until its next call is due, or calls
	// at once if it is late. The sleep is not timed.
	Rate float64
}

// DefaultHeapEvery is the default interval of heap samples.
const DefaultHeapEvery = time.Millisecond

// A Result is what one latency run measured.
type Result struct {
	Output *Output
	Case   Case
	Sink   string
	Config Config

	// Calls is the number of entries logged: calls that returned.
	Calls int64

	// Lines is the number of entries that reached the file after Close,
	// or -1 for outputs that discard.
	Lines int64

	// CallTime runs from the start of the load to the return of the last
	// call; Elapsed goes on to the return of Close, when every accepted
	// entry has been handed to the sink.
	CallTime, Elapsed time.Duration

	// Latency holds the duration of every call, in nanoseconds.
	Latency *hdrhistogram.Histogram

	// PeakHeap is the highest heap sampled during the run, less the heap
	// before the output was made: bytes of heap objects, live or not yet
	// collected (runtime/metrics /memory/classes/heap/objects:bytes).
	PeakHeap int64

	// GCs is the number of garbage collections during the run.
	GCs uint64

	// Core holds the counters of the asynclog core.Writer under the
	// output after Close, or nil for the other outputs.
	Core *core.Stats

	// CPU is the user and system CPU time the process used from the start
	// of the load to the return of Close, or -1 where it cannot be read.
	CPU time.Duration

	// Err is the first error from Sync or Close.
	Err error
}

// Lost returns the entries logged that did not reach the file, or -1 for
// outputs that discard.
func (r *Result) Lost() int64 {
	if r.Lines < 0 {
		return -1
	}
	return r.Calls - r.Lines
}

// Throughput returns entries logged per second, counting the time until
// Close returned.
func (r *Result) Throughput() float64 {
	return float64(r.Calls) / r.Elapsed.Seconds()
}

// Quantile returns the latency at quantile q (0 to 100) in nanoseconds.
func (r *Result) Quantile(q float64) time.Duration {
	return time.Duration(r.Latency.ValueAtQuantile(q))
}

// CPUPerSecond returns the CPU seconds the process used per second of the
// run, or -1 if they could not be read.
func (r *Result) CPUPerSecond() float64 {
	if r.CPU < 0 {
		return -1
	}
	return r.CPU.Seconds() / r.Elapsed.Seconds()
}

// Max returns the longest call.
func (r *Result) Max() time.Duration { return time.Duration(r.Latency.Max()) }

// maxLatency is the longest call a histogram can record; longer ones are
// recorded as this.
const maxLatency = int64(100 * time.Second)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, maxLatency, 3)
}

// Run logs entries of case c through output o to a fresh file behind sink,
// from cfg.Goroutines goroutines, timing every call. It then closes the
// output and counts the entries in the file.
func Run(o *Output, c Case, sink Sink, cfg Config) (*Result, error) {
	if !o.Supports(c) {
		return nil, fmt.Errorf("%s does not support case %s", o.ID(), c)
	}
	f, err := os.CreateTemp(cfg.Dir, "asynclog-bench-*.log")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	defer os.Remove(path)
	defer f.Close() // the diode closes it first; the error does not matter then

	hists := make([]*hdrhistogram.Histogram, cfg.Goroutines)
	for i := range hists {
		hists[i] = newHistogram()
	}
	counts := make([]int64, cfg.Goroutines)

	runtime.GC()
	heap := startHeapSampler(cfg.HeapEvery)

	l := o.Open(sink.Writer(f), c)
	var (
		errMu    sync.Mutex
		firstErr error
	)
	keep := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil && err != nil {
			firstErr = err
		}
	}

	deadline := cfg.Deadline
	if deadline <= 0 {
		deadline = 365 * 24 * time.Hour
	}
	// With a rate, goroutine g's calls are due every period, from an
	// offset that spreads the goroutines' calls evenly.
	var period time.Duration
	if cfg.Rate > 0 {
		period = time.Duration(float64(time.Second) * float64(cfg.Goroutines) / cfg.Rate)
	}
	start := make(chan struct{})
	var t0 time.Time
	var wg sync.WaitGroup
	for g := range cfg.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			due := t0.Add(period * time.Duration(g) / time.Duration(cfg.Goroutines))
			counts[g] = logCalls(l, hists[g], cfg.Calls, t0.Add(deadline), due, period)
		}()
	}

	stopSync := make(chan struct{})
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		if sink.SyncEvery <= 0 {
			return
		}
		t := time.NewTicker(sink.SyncEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				keep(l.Sync())
			case <-stopSync:
				return
			}
		}
	}()

	cpu0 := cpuTime()
	t0 = time.Now()
	close(start)
	wg.Wait()
	callTime := time.Since(t0)
	close(stopSync)
	<-syncDone
	keep(l.Close())
	elapsed := time.Since(t0)
	cpu := cpuTime()
	peak, gcs := heap.stop()
	if cpu >= 0 {
		cpu -= cpu0
	}

	r := &Result{
		Output: o, Case: c, Sink: sink.Name, Config: cfg,
		CallTime: callTime, Elapsed: elapsed,
		Latency: hists[0], PeakHeap: peak, GCs: gcs,
		Lines: -1, CPU: cpu, Err: firstErr,
	}
	if st, ok := coreStats(l); ok {
		r.Core = &st
	}
	for g, h := range hists {
		r.Calls += counts[g]
		if g > 0 {
			r.Latency.Merge(h)
		}
	}
	if !o.Discard {
		if r.Lines, err = countLines(path); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// logCalls calls l.Log up to n times, stopping after the first call that
// returns past deadline, and records how long each call took. It returns
// the number of calls. With a positive period, the first call is due at
// due and each next one a period later: logCalls sleeps until a call is
// due, outside the timing.
func logCalls(l Logger, h *hdrhistogram.Histogram, n int, deadline, due time.Time, period time.Duration) int64 {
	for i := range n {
		if period > 0 {
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			due = due.Add(period)
		}
		t0 := time.Now()
		l.Log()
		t1 := time.Now()
		h.RecordValue(min(int64(t1.Sub(t0)), maxLatency))
		if t1.After(deadline) {
			return int64(i + 1)
		}
	}
	return int64(n)
}

// countLines returns the number of newlines in the file at path.
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := f.Read(buf)
		n += int64(bytes.Count(buf[:m], []byte{'\n'}))
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// heapSampler records the peak of the heap from a goroutine of its own.
type heapSampler struct {
	done   chan struct{}
	result chan [2]uint64 // peak heap, GC cycles
	base   uint64
	gcs    uint64
}

const (
	heapMetric = "/memory/classes/heap/objects:bytes"
	gcMetric   = "/gc/cycles/total:gc-cycles"
)

func readHeap(s []metrics.Sample) (heap, gcs uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// startHeapSampler takes the baseline and starts sampling every interval.
func startHeapSampler(interval time.Duration) *heapSampler {
	if interval <= 0 {
		interval = DefaultHeapEvery
	}
	s := []metrics.Sample{{Name: heapMetric}, {Name: gcMetric}}
	h := &heapSampler{done: make(chan struct{}), result: make(chan [2]uint64, 1)}
	h.base, h.gcs = readHeap(s)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		peak := h.base
		for {
			heap, gcs := readHeap(s)
			peak = max(peak, heap)
			select {
			case <-t.C:
			case <-h.done:
				h.result <- [2]uint64{peak, gcs}
				return
			}
		}
	}()
	return h
}

// stop ends the sampling and returns the peak above the baseline and the
// number of GC cycles since the start.
func (h *heapSampler) stop() (peak int64, gcs uint64) {
	close(h.done)
	r := <-h.result
	return int64(r[0] - h.base), r[1] - h.gcs
}
