package core

import (
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReviewSlowSinkLatency measures, and asserts nothing (a shared,
// noisy machine): 16 goroutines write 200-byte records under Block, as
// fast as they can, for 3 s, into 4 KiB buffers, against a sink that takes
// 1 ms per Write. It reports the worst single Write, the 99.9th
// percentile, and the spread of Writes per goroutine, at GOMAXPROCS 1
// and 2. Run it with ASYNCLOG_REVIEW_LATENCY set.
func TestReviewSlowSinkLatency(t *testing.T) {
	if os.Getenv("ASYNCLOG_REVIEW_LATENCY") == "" {
		t.Skip("a measurement: set ASYNCLOG_REVIEW_LATENCY to run it")
	}
	for _, procs := range []int{1, 2} {
		for _, policy := range []Overflow{Block, Drop} {
			reviewLatency(t, procs, policy, 0, 3*time.Second)
		}
		// Callers that do some work of their own between records, 2 µs
		// of CPU, as a service does: they still keep every processor
		// busy.
		reviewLatency(t, procs, Drop, 2*time.Microsecond, 3*time.Second)
	}
}

func reviewLatency(t *testing.T, procs int, policy Overflow, work, d time.Duration) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	var sinkCalls atomic.Int64
	sink := writerFunc(func(p []byte) (int, error) {
		sinkCalls.Add(1)
		time.Sleep(time.Millisecond)
		return len(p), nil
	})
	w := New(WithSink(sink), WithBufferSize(4096), WithOverflow(policy), WithNotices(nil), WithErrorHandler(func(error) {}))
	const goroutines = 16
	counts := make([]int, goroutines)
	worst := make([]time.Duration, goroutines)
	lats := make([][]time.Duration, goroutines)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			p := rec("lat", 200)
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				if _, err := w.Write(p); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
				l := time.Since(start)
				counts[g]++
				worst[g] = max(worst[g], l)
				lats[g] = append(lats[g], l)
				for end := time.Now().Add(work); work > 0 && time.Now().Before(end); {
				}
			}
		})
	}
	var syncWorst time.Duration
	var syncs int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			start := time.Now()
			if err := w.Sync(); err != nil {
				t.Errorf("Sync: %v", err)
			}
			syncWorst = max(syncWorst, time.Since(start))
			syncs++
		}
	})
	time.Sleep(d)
	close(stop)
	wg.Wait()
	closeStart := time.Now()
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	closeTime := time.Since(closeStart)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	sorted := slices.Clone(counts)
	slices.Sort(sorted)
	pct := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	st := w.Stats()
	t.Logf("GOMAXPROCS %d, %v, %v of work between Writes: %d writes (%.0f/ms), %d sink calls; Write latency p50 %v, p99 %v, p99.9 %v, max %v; writes per goroutine min %d, median %d, max %d; %d dropped, %d waits; %d Syncs, worst %v; Close %v",
		procs, policy, work, len(all), float64(len(all))/float64(d.Milliseconds()), sinkCalls.Load(),
		pct(0.5), pct(0.99), pct(0.999), all[len(all)-1],
		sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1], st.DroppedRecords, st.Waits, syncs, syncWorst, closeTime)
}
