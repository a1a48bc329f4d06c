//go:build unix

// Command otlp-bench compares two ways of shipping zap's entries to an
// OpenTelemetry Collector, side by side in one run against the same
// collector: zap through asynclog (zapasync's core over otlpsink), and zap
// through the otelzap bridge with the OpenTelemetry SDK's BatchProcessor
// and the official otlploghttp exporter. For each it measures, with 4
// goroutines logging entries of 10 fields:
//
//   - flat out: entries a second, the cost of a call (p50, p99.9), CPU
//     seconds per million entries and allocations per entry (whole
//     process), and the entries that never reached the collector;
//   - at a steady 40,000 entries a second while the collector is stopped
//     (SIGSTOP) for 2 s: the entries lost and the slowest calls;
//   - at the same rate, the process SIGKILLed after 2 s (the collector
//     up): the entries whose call had returned and that never reached the
//     collector, after a restart of the process (asynclog with a spool
//     sends what the dead process left in it).
//
// It needs the collector built by `make otelcol` (or -collector).
//
//	cd bench && go run ./cmd/otlp-bench
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"go.opentelemetry.io/contrib/bridges/otelzap"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/otlpsink"
	"github.com/asynclog/asynclog/zapasync"
)

var (
	collectorBin = flag.String("collector", "../.otelcol/dist/otelcol-asynclog", "the OpenTelemetry Collector")
	entries      = flag.Int("n", 200000, "entries of the flat-out run")
	rate         = flag.Int("rate", 40000, "entries a second of the paced runs")
	rounds       = flag.Int("rounds", 1, "times each flat-out run is repeated (the table shows each)")
)

const goroutines = 4

func main() {
	flag.Parse()
	if env := os.Getenv("OTLP_BENCH_CHILD"); env != "" {
		child(env)
		return
	}
	bin, err := filepath.Abs(*collectorBin)
	check(err)
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintln(os.Stderr, "no collector: run make otelcol:", err)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "otlp-bench")
	check(err)
	defer os.RemoveAll(dir)

	fmt.Printf("%d goroutines, zap entries of 10 fields, one collector process per run (%s, GOMAXPROCS %d)\n\n", goroutines, runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Println("Flat out:")
	fmt.Printf("| %-34s | %10s | %9s | %9s | %12s | %11s | %6s |\n", "pipeline", "entries/s", "p50", "p99.9", "CPU s/M ent.", "allocs/ent.", "lost")
	fmt.Println("|---|---|---|---|---|---|---|")
	for r := 0; r < *rounds; r++ {
		for _, p := range []string{"asynclog", "otelzap"} {
			res := flatOut(bin, dir, p)
			fmt.Printf("| %-34s | %10.0f | %9v | %9v | %12.2f | %11.1f | %6d |\n", res.name, res.perSec, res.p50, res.p999, res.cpuPerM, res.allocs, res.lost)
		}
	}
	fmt.Printf("\nCollector stopped (SIGSTOP) for 2 s, %d entries a second for 4 s:\n", *rate)
	fmt.Printf("| %-34s | %9s | %9s | %9s | %6s | %s |\n", "pipeline", "entries", "p99.9", "slowest", "lost", "counted by the pipeline")
	fmt.Println("|---|---|---|---|---|---|")
	for _, p := range []string{"asynclog", "asynclog-drop", "otelzap"} {
		res := stopped(bin, dir, p)
		fmt.Printf("| %-34s | %9d | %9v | %9v | %6d | %s |\n", res.name, res.calls, res.p999, res.max, res.lost, res.counted)
	}
	fmt.Printf("\nProcess SIGKILLed after 2 s at %d entries a second (collector up):\n", *rate)
	fmt.Printf("| %-34s | %16s | %6s |\n", "pipeline", "calls returned", "lost")
	fmt.Println("|---|---|---|")
	for _, p := range []string{"asynclog-spool", "asynclog", "otelzap"} {
		returned, lost := killed(bin, dir, p)
		fmt.Printf("| %-34s | %16d | %6d |\n", names[p], returned, lost)
	}
}

var names = map[string]string{
	"asynclog":       "zap → asynclog → otlpsink (Block)",
	"asynclog-drop":  "zap → asynclog → otlpsink (Drop)",
	"asynclog-spool": "zap → asynclog + spool → otlpsink",
	"otelzap":        "zap → otelzap → Batch → otlploghttp",
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp-bench:", err)
		os.Exit(1)
	}
}

// A pipeline is a zap logger shipping to the collector, and how to flush
// and stop it.
type pipeline struct {
	logger   *zap.Logger
	shutdown func()
	counted  func() string // what the pipeline itself counted as dropped
}

func newPipeline(kind, url, spool string) pipeline {
	switch kind {
	case "asynclog", "asynclog-drop", "asynclog-spool":
		sink := otlpsink.New(url)
		opts := []core.Option{core.WithSink(sink), core.WithSyncTimeout(time.Minute)}
		if kind == "asynclog-drop" {
			// Drops are counted in Stats, and shown in the table.
			opts = append(opts, core.WithOverflow(core.Drop), core.WithErrorHandler(func(error) {}))
		}
		if spool != "" {
			opts = append(opts, core.WithSpool(spool))
		}
		ws := zapasync.New(opts...)
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		return pipeline{
			logger:   zap.New(zapasync.NewCore(enc, ws, zap.DebugLevel)),
			shutdown: func() { _ = ws.Close(); _ = sink.Close() },
			counted: func() string {
				return fmt.Sprintf("dropped %d (core), lost %d (sink)", ws.Stats().DroppedRecords, sink.Stats().Lost)
			},
		}
	case "otelzap":
		exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(url+"/v1/logs"))
		check(err)
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		return pipeline{
			logger:   zap.New(otelzap.NewCore("otlp-bench", otelzap.WithLoggerProvider(lp))),
			shutdown: func() { _ = lp.Shutdown(context.Background()) },
			counted:  func() string { return "none (the SDK only warns)" },
		}
	}
	panic(kind)
}

func logEntry(l *zap.Logger, g, seq int) {
	l.Info("request handled",
		zap.Int("g", g), zap.Int("seq", seq),
		zap.String("method", "GET"), zap.String("path", "/api/v1/orders"), zap.Int("status", 200),
		zap.Duration("elapsed", 1234*time.Microsecond), zap.Bool("cached", false), zap.Float64("ratio", 0.25),
		zap.String("user", "alice"), zap.Int64("bytes", 5120))
}

type result struct {
	name      string
	calls     int
	perSec    float64
	p50, p999 time.Duration
	max       time.Duration
	cpuPerM   float64
	allocs    float64
	lost      int
	counted   string
}

// drive logs n entries per goroutine (or for d at rate, if rate > 0) and
// returns the calls' latencies and how many each goroutine made.
func drive(l *zap.Logger, perG int, rate int, d time.Duration, during func()) (*hdrhistogram.Histogram, []int, time.Duration) {
	hists := make([]*hdrhistogram.Histogram, goroutines)
	counts := make([]int, goroutines)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range goroutines {
		hists[g] = hdrhistogram.New(1, int64(time.Minute), 3)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(int64(time.Second) * goroutines / int64(rate))
				perG = int(d / interval)
			}
			for seq := range perG {
				if rate > 0 {
					if wait := time.Until(start.Add(time.Duration(seq) * interval)); wait > 0 {
						time.Sleep(wait)
					}
				}
				t0 := time.Now()
				logEntry(l, g, seq)
				_ = hists[g].RecordValue(int64(time.Since(t0)))
				counts[g] = seq + 1
			}
		}()
	}
	if during != nil {
		during()
	}
	wg.Wait()
	elapsed := time.Since(start)
	h := hdrhistogram.New(1, int64(time.Minute), 3)
	for _, x := range hists {
		h.Merge(x)
	}
	return h, counts, elapsed
}

func flatOut(bin, dir, kind string) result {
	c := startCollector(bin, dir)
	defer c.kill()
	p := newPipeline(kind, c.url(), "")
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	h, counts, elapsed := drive(p.logger, *entries/goroutines, 0, 0, nil)
	p.shutdown()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	calls := sum(counts)
	return result{
		name:    names[kind],
		calls:   calls,
		perSec:  float64(calls) / elapsed.Seconds(),
		p50:     time.Duration(h.ValueAtQuantile(50)),
		p999:    time.Duration(h.ValueAtQuantile(99.9)),
		cpuPerM: cpu.Seconds() / float64(calls) * 1e6,
		allocs:  float64(m1.Mallocs-m0.Mallocs) / float64(calls),
		lost:    c.missing(counts),
	}
}

func stopped(bin, dir, kind string) result {
	c := startCollector(bin, dir)
	defer c.kill()
	p := newPipeline(kind, c.url(), "")
	h, counts, _ := drive(p.logger, 0, *rate, 4*time.Second, func() {
		time.Sleep(time.Second)
		c.signal(syscall.SIGSTOP)
		time.Sleep(2 * time.Second)
		c.signal(syscall.SIGCONT)
	})
	p.shutdown()
	return result{
		name: names[kind], calls: sum(counts),
		p999: time.Duration(h.ValueAtQuantile(99.9)), max: time.Duration(h.Max()),
		lost: c.missing(counts), counted: p.counted(),
	}
}

// killed runs a child that logs at the steady rate, SIGKILLs it after 2 s,
// restarts the pipeline (with the spool, for asynclog-spool) and returns
// how many calls had returned and how many of those never arrived.
func killed(bin, dir, kind string) (returned, lost int) {
	c := startCollector(bin, dir)
	defer c.kill()
	spool := ""
	if kind == "asynclog-spool" {
		spool = filepath.Join(dir, fmt.Sprintf("spool-%d", time.Now().UnixNano()))
	}
	progress := filepath.Join(dir, "progress")
	check(os.WriteFile(progress, make([]byte, 8*goroutines), 0o600))
	f, err := os.OpenFile(progress, os.O_RDWR, 0)
	check(err)
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8*goroutines, syscall.PROT_READ, syscall.MAP_SHARED)
	check(err)
	defer syscall.Munmap(mem)

	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self, "-rate", strconv.Itoa(*rate))
	cmd.Env = append(os.Environ(), "OTLP_BENCH_CHILD="+kind+" "+c.url()+" "+progress+" "+spool)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	time.Sleep(2 * time.Second)
	check(cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	counts := make([]int, goroutines)
	for g := range counts {
		counts[g] = int(atomic.LoadUint64((*uint64)(unsafe.Pointer(&mem[8*g]))))
	}
	if spool != "" {
		// The restarted process: its Writer sends what the spool holds.
		newPipeline(kind, c.url(), spool).shutdown()
	}
	return sum(counts), c.missing(counts)
}

func child(env string) {
	var kind, url, progress, spool string
	_, _ = fmt.Sscan(env, &kind, &url, &progress, &spool)
	f, err := os.OpenFile(progress, os.O_RDWR, 0)
	check(err)
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8*goroutines, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	check(err)
	p := newPipeline(kind, url, spool)
	interval := time.Duration(int64(time.Second) * goroutines / int64(*rate))
	start := time.Now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				if wait := time.Until(start.Add(time.Duration(seq) * interval)); wait > 0 {
					time.Sleep(wait)
				}
				logEntry(p.logger, g, seq)
				atomic.StoreUint64((*uint64)(unsafe.Pointer(&mem[8*g])), uint64(seq+1))
			}
		}()
	}
	wg.Wait()
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// A collector is the real OpenTelemetry Collector on a loopback port,
// writing what it receives to a file, unbuffered and appending.
type collector struct {
	cmd  *exec.Cmd
	port int
	out  string
	done chan struct{}
}

func startCollector(bin, dir string) *collector {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sub, err := os.MkdirTemp(dir, "collector")
	check(err)
	c := &collector{port: port, out: filepath.Join(sub, "out.jsonl"), done: make(chan struct{})}
	conf := filepath.Join(sub, "config.yaml")
	check(os.WriteFile(conf, fmt.Appendf(nil, `receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:%d"}}}}
exporters: {file: {path: %q, rotation: {max_megabytes: 100000}}}
service:
  telemetry: {metrics: {level: none}, logs: {level: error}}
  pipelines: {logs: {receivers: [otlp], exporters: [file]}}
`, port, c.out), 0o600))
	c.cmd = exec.Command(bin, "--config", "file:"+conf)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	check(c.cmd.Start())
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return c
		}
		if time.Now().After(deadline) {
			check(fmt.Errorf("the collector did not start"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *collector) url() string { return fmt.Sprintf("http://127.0.0.1:%d", c.port) }

func (c *collector) signal(sig syscall.Signal) { _ = syscall.Kill(-c.cmd.Process.Pid, sig) }

func (c *collector) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// missing returns how many of the entries seq 0 to counts[g]-1 of each
// goroutine g are not in the collector's output.
func (c *collector) missing(counts []int) int {
	seen := map[[2]int64]bool{}
	f, err := os.Open(c.out)
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<30)
		for sc.Scan() {
			var line struct {
				ResourceLogs []struct {
					ScopeLogs []struct {
						LogRecords []struct {
							Attributes []struct {
								Key   string `json:"key"`
								Value struct {
									IntValue string `json:"intValue"`
								} `json:"value"`
							} `json:"attributes"`
						} `json:"logRecords"`
					} `json:"scopeLogs"`
				} `json:"resourceLogs"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			for _, rl := range line.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					for _, r := range sl.LogRecords {
						var g, seq int64 = -1, -1
						for _, a := range r.Attributes {
							switch a.Key {
							case "g":
								g, _ = strconv.ParseInt(a.Value.IntValue, 10, 64)
							case "seq":
								seq, _ = strconv.ParseInt(a.Value.IntValue, 10, 64)
							}
						}
						seen[[2]int64{g, seq}] = true
					}
				}
			}
		}
	}
	missing := 0
	for g, n := range counts {
		for seq := range n {
			if !seen[[2]int64{int64(g), int64(seq)}] {
				missing++
			}
		}
	}
	return missing
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
