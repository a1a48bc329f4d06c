//go:build linux

package bench

// Benchmarks of zap through asynclog to the real rsyslogd, over RELP and
// TCP, against the standard library's log/syslog writer over TCP (the
// synchronous peer a Go program has today) and zap to io.Discard (the
// caller's floor), all in the same run:
//
//	go test -run '^$' -bench Collector -benchtime 3s -count 5 . | tee collector.txt
//
// Each reports records/s (the callers' calls over the run, the final
// flush included), caller-p50-ns and caller-p99.9-ns (each logging call,
// timed), cpu-ns/record (the process's user and system CPU, rsyslogd's
// not included) and the records dropped (Drop). "stopped" runs stop
// rsyslogd (SIGSTOP) for one second inside the run. rsyslogd runs with a
// Direct queue: an acknowledgement means the record is in its file. They
// need rsyslogd (Debian: rsyslog, rsyslog-relp); without it they skip.

import (
	"fmt"
	"io"
	"log/syslog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/syslogsink"
)

// benchRsyslogd is a private rsyslogd with a RELP and a TCP input on free
// loopback ports, writing each message as one line of a file.
type benchRsyslogd struct {
	relp, tcp string
	cmd       *exec.Cmd
}

func startBenchRsyslogd(b *testing.B) *benchRsyslogd {
	b.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		path = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(path); err != nil {
			b.Skip("rsyslogd is not installed (apt-get install rsyslog rsyslog-relp)")
		}
	}
	dir := b.TempDir()
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	r := &benchRsyslogd{relp: free(), tcp: free()}
	_, relpPort, _ := net.SplitHostPort(r.relp)
	_, tcpPort, _ := net.SplitHostPort(r.tcp)
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
module(load="imrelp")
input(type="imtcp" address="127.0.0.1" port=%q ruleset="r")
input(type="imrelp" address="127.0.0.1" port=%q ruleset="r")
template(name="raw" type="string" string="%%rawmsg:::json%%\n")
ruleset(name="r" queue.type="Direct") {
  action(type="omfile" file=%q template="raw")
}
`, dir, tcpPort, relpPort, filepath.Join(dir, "out.log"))
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	r.cmd = exec.Command(path, "-n", "-f", confPath, "-i", "NONE")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGCONT)
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		r.cmd.Wait()
	})
	for _, addr := range []string{r.relp, r.tcp} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("rsyslogd does not accept on %s: %v", addr, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return r
}

// stopFor stops rsyslogd for d, after a delay, in the background.
func (r *benchRsyslogd) stopFor(delay, d time.Duration) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(delay)
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGSTOP)
		time.Sleep(d)
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGCONT)
	}()
	return func() { <-done }
}

// collectorEncoder is zap's production JSON encoder.
func collectorEncoder() zapcore.Encoder {
	return zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
}

// logEntry200 logs an entry of about 200 bytes of JSON.
func logEntry200(l *zap.Logger, i int) {
	l.Info("request served",
		zap.String("method", "GET"), zap.String("path", "/api/v1/orders/12345/items"),
		zap.Int("status", 200), zap.Int("bytes", 5123), zap.Int("seq", i),
		zap.String("client", "10.1.2.3:54321"))
}

type collectorOutput struct {
	name string
	open func(b *testing.B, r *benchRsyslogd) (l *zap.Logger, sync func(), dropped func() uint64, closeFn func())
}

func asyncToCollector(proto syslogsink.Protocol, policy core.Overflow) func(*testing.B, *benchRsyslogd) (*zap.Logger, func(), func() uint64, func()) {
	return func(b *testing.B, r *benchRsyslogd) (*zap.Logger, func(), func() uint64, func()) {
		addr := r.relp
		if proto == syslogsink.TCP {
			addr = r.tcp
		}
		s := syslogsink.New(addr, syslogsink.WithProtocol(proto), syslogsink.WithMaxMessageSize(64<<10))
		onError := func(err error) { b.Error(err) }
		if policy == core.Drop {
			onError = func(error) {} // the drops, counted in Stats
		}
		w := core.New(core.WithSink(s), core.WithOverflow(policy), core.WithNotices(func(core.Notice) []byte { return nil }),
			core.WithErrorHandler(onError))
		l := zap.New(zapcore.NewCore(collectorEncoder(), zapcore.AddSync(w), zapcore.InfoLevel))
		return l, func() { w.Sync() }, func() uint64 { return w.Stats().DroppedRecords }, func() {
			w.Close()
			s.Close()
		}
	}
}

var collectorOutputs = []collectorOutput{
	{"zap-discard", func(*testing.B, *benchRsyslogd) (*zap.Logger, func(), func() uint64, func()) {
		l := zap.New(zapcore.NewCore(collectorEncoder(), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
		return l, func() {}, func() uint64 { return 0 }, func() {}
	}},
	{"asynclog-relp-block", asyncToCollector(syslogsink.RELP, core.Block)},
	{"asynclog-relp-drop", asyncToCollector(syslogsink.RELP, core.Drop)},
	{"asynclog-tcp-block", asyncToCollector(syslogsink.TCP, core.Block)},
	{"asynclog-tcp-drop", asyncToCollector(syslogsink.TCP, core.Drop)},
	{"log-syslog-tcp", func(b *testing.B, r *benchRsyslogd) (*zap.Logger, func(), func() uint64, func()) {
		w, err := syslog.Dial("tcp", r.tcp, syslog.LOG_INFO|syslog.LOG_USER, "bench")
		if err != nil {
			b.Fatal(err)
		}
		l := zap.New(zapcore.NewCore(collectorEncoder(), zapcore.AddSync(w), zapcore.InfoLevel))
		return l, func() {}, func() uint64 { return 0 }, func() { w.Close() }
	}},
}

// BenchmarkCollector: see the top of the file.
func BenchmarkCollector(b *testing.B) {
	for _, state := range []string{"healthy", "stopped"} {
		for _, o := range collectorOutputs {
			b.Run(state+"/"+o.name, func(b *testing.B) {
				r := startBenchRsyslogd(b)
				l, syncFn, dropped, closeFn := o.open(b, r)
				defer closeFn()
				logEntry200(l, -1)
				syncFn()
				var mu sync.Mutex
				h := hdrhistogram.New(1, int64(10*time.Second), 3)
				var seq atomic.Int64
				waitStop := func() {}
				if state == "stopped" {
					waitStop = r.stopFor(100*time.Millisecond, time.Second)
				}
				cpu0 := cpuTime()
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					local := hdrhistogram.New(1, int64(10*time.Second), 3)
					for pb.Next() {
						i := int(seq.Add(1))
						t0 := time.Now()
						logEntry200(l, i)
						local.RecordValue(int64(time.Since(t0)))
					}
					mu.Lock()
					h.Merge(local)
					mu.Unlock()
				})
				syncFn()
				elapsed := time.Since(start)
				b.StopTimer()
				cpu := cpuTime() - cpu0
				waitStop()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
				b.ReportMetric(float64(h.ValueAtQuantile(50)), "caller-p50-ns")
				b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "caller-p99.9-ns")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/record")
				b.ReportMetric(float64(dropped()), "dropped")
			})
		}
	}
}
