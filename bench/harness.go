package bench

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/asynclog/asynclog/core"
)

// A Sink is what the outputs of a latency run write to: a fresh file, and
// what stands in front of it.
type Sink struct {
	Name  string // "file", "slow" or "fsync"
	Title string // for reports

	// SyncEvery, if positive, makes Run call Logger.Sync at this interval
	// while the callers log, from a goroutine of its own.
	SyncEvery time.Duration

	// Writer returns the writer that outputs write to, for file f.
	Writer func(f *os.File) io.Writer
}

var (
	// FileSink is a file in the page cache: outputs see only its Write
	// method, so nothing fsyncs it.
	FileSink = Sink{Name: "file", Title: "file (page cache, never fsynced)",
		Writer: func(f *os.File) io.Writer { return writeOnly{f} }}

	// SlowSink sleeps 1 ms before each Write to the file, like a network
	// hop. It has no Sync method.
	SlowSink = Sink{Name: "slow", Title: "slow sink (1 ms per Write)",
		Writer: func(f *os.File) io.Writer { return slowWriter{f} }}

	// FsyncSink is the *os.File itself, so that Sync means fsync, and Run
	// calls the output's Sync every 10 ms.
	FsyncSink = Sink{Name: "fsync", Title: "file fsynced at each Sync, Sync every 10 ms",
		SyncEvery: 10 * time.Millisecond, Writer: func(f *os.File) io.Writer { return f }}

	// Sinks lists the sinks in the order the reports show them.
	Sinks = []Sink{FileSink, SlowSink, FsyncSink}
)

// writeOnly hides every method of the file but Write.
type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

type slowWriter struct{ w io.Writer }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return w.w.Write(p)
}

// Config sets the load of a latency run.
type Config struct {
	Goroutines int // goroutines logging at once
	Calls      int // entries each goroutine logs, unless the deadline comes first

	// Deadline, if positive, bounds the logging: a goroutine stops after
	// the call that returns past it. Outputs that make every caller wait
	// for a slow sink would otherwise take hours.
	Deadline time.Duration

	// Rate, if positive, paces the load at this many entries per second in
	// all: each goroutine sleeps until its next call is due, or calls at
	// once if it is late. The sleep is not timed.
	Rate float64

	Dir       string        // where the file is made; "" for os.TempDir()
	HeapEvery time.Duration // interval of heap samples; 0 for 1 ms
}

// A Result is what one latency run measured. It encodes as JSON but for
// Output and Latency.
type Result struct {
	Output *Output `json:"-"`
	Calls  int64   // entries logged: calls that returned
	Lines  int64   // entries in the file after Close, -1 for discarding outputs

	// CallTime runs from the start of the load to the return of the last
	// call; Elapsed goes on to the return of Close, when every accepted
	// entry has been handed to the sink.
	CallTime, Elapsed time.Duration

	// Latency holds the duration of every call, in nanoseconds.
	Latency *hdrhistogram.Histogram `json:"-"`

	// PeakHeap is the highest heap sampled during the run, less the heap
	// before the output was made: bytes of heap objects, live or not yet
	// collected (runtime/metrics /memory/classes/heap/objects:bytes).
	PeakHeap int64
	GCs      uint64 // garbage collections during the run

	// CPU is the user and system CPU time of the process from the start of
	// the load to the return of Close, or -1 where it cannot be read.
	CPU time.Duration

	Core *core.Stats // the counters of the core.Writer under the output, if any
	Err  string      // the first error from Sync or Close
}

// Lost returns the entries logged that did not reach the file, or -1 for
// outputs that discard.
func (r *Result) Lost() int64 {
	if r.Lines < 0 {
		return -1
	}
	return r.Calls - r.Lines
}

// Throughput returns entries logged per second, until Close returned.
func (r *Result) Throughput() float64 { return float64(r.Calls) / r.Elapsed.Seconds() }

// Quantile returns the latency at quantile q (0 to 100).
func (r *Result) Quantile(q float64) time.Duration {
	return time.Duration(r.Latency.ValueAtQuantile(q))
}

// Max returns the longest call.
func (r *Result) Max() time.Duration { return time.Duration(r.Latency.Max()) }

// NewHistogram returns a histogram of latencies from 1 ns to 100 s, with
// three significant digits.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, maxLatency, 3) }

const maxLatency = int64(100 * time.Second)

// Run logs entries of case c through output o to a fresh file behind sink,
// from cfg.Goroutines goroutines, timing every call. It then closes the
// output and counts the entries in the file.
func Run(o *Output, c Case, sink Sink, cfg Config) (*Result, error) {
	f, err := os.CreateTemp(cfg.Dir, "asynclog-bench-*.log")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close() // the diode closes it first; the error does not matter then

	r := &Result{Output: o, Lines: -1, Latency: NewHistogram()}
	hists := make([]*hdrhistogram.Histogram, cfg.Goroutines)
	counts := make([]int64, cfg.Goroutines)
	deadline := cfg.Deadline
	if deadline <= 0 {
		deadline = 365 * 24 * time.Hour
	}
	// With a rate, each goroutine's calls are due every period, from an
	// offset that spreads the goroutines' calls evenly.
	var period time.Duration
	if cfg.Rate > 0 {
		period = time.Duration(float64(time.Second) * float64(cfg.Goroutines) / cfg.Rate)
	}

	runtime.GC()
	stopHeap := sampleHeap(cfg.HeapEvery)
	l := o.Open(sink.Writer(f), c)
	var errOnce sync.Once
	keep := func(err error) {
		if err != nil {
			errOnce.Do(func() { r.Err = err.Error() })
		}
	}

	start := make(chan struct{})
	var t0 time.Time
	var wg sync.WaitGroup
	for g := range cfg.Goroutines {
		hists[g] = NewHistogram()
		wg.Go(func() {
			<-start
			due := t0.Add(period * time.Duration(g) / time.Duration(cfg.Goroutines))
			counts[g] = logCalls(l, hists[g], cfg.Calls, t0.Add(deadline), due, period)
		})
	}
	stopSync := make(chan struct{})
	var syncer sync.WaitGroup
	if sink.SyncEvery > 0 {
		syncer.Go(func() {
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
		})
	}

	cpu0 := cpuTime()
	t0 = time.Now()
	close(start)
	wg.Wait()
	r.CallTime = time.Since(t0)
	close(stopSync)
	syncer.Wait()
	keep(l.Close())
	r.Elapsed = time.Since(t0)
	if r.CPU = cpuTime(); r.CPU >= 0 {
		r.CPU -= cpu0
	}
	r.PeakHeap, r.GCs = stopHeap()

	if st, ok := l.(interface{ Stats() core.Stats }); ok {
		s := st.Stats()
		r.Core = &s
	}
	for g, h := range hists {
		r.Calls += counts[g]
		r.Latency.Merge(h)
	}
	if !o.Discard {
		r.Lines, err = countLines(f.Name())
	}
	return r, err
}

// logCalls calls l.Log up to n times, stopping after the first call that
// returns past deadline, and records how long each call took. It returns
// the number of calls. With a positive period, the first call is due at
// due and each next one a period later: logCalls sleeps until a call is
// due, outside the timing.
func logCalls(l Logger, h *hdrhistogram.Histogram, n int, deadline, due time.Time, period time.Duration) int64 {
	for i := range n {
		if period > 0 {
			time.Sleep(time.Until(due))
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
	var n lineCounter
	_, err = io.Copy(&n, f)
	return int64(n), err
}

type lineCounter int64

func (n *lineCounter) Write(p []byte) (int, error) {
	*n += lineCounter(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// sampleHeap samples the heap every interval (1 ms if 0) from a goroutine
// of its own, until stop, which returns the peak above the first sample
// and the number of garbage collections since.
func sampleHeap(interval time.Duration) (stop func() (peak int64, gcs uint64)) {
	if interval <= 0 {
		interval = time.Millisecond
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	base, gc0 := s[0].Value.Uint64(), s[1].Value.Uint64()
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		peak := base
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-t.C:
			case <-done:
				result <- peak
				return
			}
		}
	}()
	return func() (int64, uint64) {
		close(done)
		peak := <-result
		return int64(peak - base), s[1].Value.Uint64() - gc0
	}
}
