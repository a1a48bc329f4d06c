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
// not included), rsyslogd-cpu-ns/record (rsyslogd's, whose input thread
// handles one connection at a time: 1e9 over it bounds records/s) and
// the records dropped (Drop), and, where every record reaches rsyslogd's
// file (Block and log/syslog, collector not stopped), in-file-records/s:
// the records over the time until the last is in the file (over TCP the
// final flush only puts the records in the socket). "stopped" runs stop
// rsyslogd (SIGSTOP) for one second inside the run. rsyslogd runs with a
// Direct queue: an acknowledgement means the record is in its file; the
// "linkedlist" rows run it with an in-memory LinkedList queue instead, so
// that an acknowledgement means the record is queued. A background reader
// of the file counts its lines; its CPU is the process's. They need
// rsyslogd (Debian: rsyslog, rsyslog-relp); without it they skip.
// BenchmarkCollectorCeiling, at the end, is rsyslogd's own bound.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/syslog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	out       string // the file it writes
	cmd       *exec.Cmd
}

// Queue types of the ruleset: with queueDirect an acknowledgement means
// the record is in the file; with queueLinkedList, that it is in
// rsyslogd's memory, written later by a worker thread of its own.
const (
	queueDirect     = "Direct"
	queueLinkedList = "LinkedList"
)

func startBenchRsyslogdQueue(b *testing.B, queue string) *benchRsyslogd {
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
	r := &benchRsyslogd{relp: free(), tcp: free(), out: filepath.Join(dir, "out.log")}
	_, relpPort, _ := net.SplitHostPort(r.relp)
	_, tcpPort, _ := net.SplitHostPort(r.tcp)
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
module(load="imrelp")
input(type="imtcp" address="127.0.0.1" port=%q ruleset="r")
input(type="imrelp" address="127.0.0.1" port=%q ruleset="r")
template(name="raw" type="string" string="%%rawmsg:::json%%\n")
ruleset(name="r" queue.type=%q) {
  action(type="omfile" file=%q template="raw")
}
`, dir, tcpPort, relpPort, queue, r.out)
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

// cpuTime returns rsyslogd's user and system CPU time so far, in clock
// ticks of 10 ms, from /proc.
func (r *benchRsyslogd) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command's closing parenthesis: state is the
	// 3rd field of the line, utime the 14th and stime the 15th.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
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
	for _, state := range []string{"healthy", "stopped", "linkedlist"} {
		for _, o := range collectorOutputs {
			// Every record of a Block or log/syslog run reaches the file:
			// those runs also time the file's last line.
			inFile := state != "stopped" && (strings.HasSuffix(o.name, "-block") || o.name == "log-syslog-tcp")
			if state == "linkedlist" && !inFile {
				continue
			}
			b.Run(state+"/"+o.name, func(b *testing.B) {
				queue := queueDirect
				if state == "linkedlist" {
					queue = queueLinkedList
				}
				r := startBenchRsyslogdQueue(b, queue)
				l, syncFn, dropped, closeFn := o.open(b, r)
				defer closeFn()
				logEntry200(l, -1)
				syncFn()
				var lines func() time.Time
				if inFile {
					lines = r.tailLines(b, b.N+1) // the entry above, then the run's
				}
				var mu sync.Mutex
				h := hdrhistogram.New(1, int64(10*time.Second), 3)
				var seq atomic.Int64
				waitStop := func() {}
				if state == "stopped" {
					waitStop = r.stopFor(100*time.Millisecond, time.Second)
				}
				cpu0, rcpu0 := cpuTime(), r.cpuTime()
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
				cpu, rcpu := cpuTime()-cpu0, r.cpuTime()-rcpu0
				waitStop()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
				b.ReportMetric(float64(h.ValueAtQuantile(50)), "caller-p50-ns")
				b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "caller-p99.9-ns")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/record")
				b.ReportMetric(float64(rcpu)/float64(b.N), "rsyslogd-cpu-ns/record")
				b.ReportMetric(float64(dropped()), "dropped")
				if lines != nil {
					b.ReportMetric(float64(b.N)/lines().Sub(start).Seconds(), "in-file-records/s")
				}
			})
		}
	}
}

// tailLines follows rsyslogd's file from its start in the background and
// returns a function that waits (up to a minute) until the file holds n
// lines and returns when they were there, to within a millisecond.
func (r *benchRsyslogd) tailLines(b *testing.B, n int) func() time.Time {
	done, stop := make(chan struct{}), make(chan struct{})
	var at time.Time
	var count int
	go func() {
		defer close(done)
		var f *os.File
		defer func() {
			if f != nil {
				f.Close()
			}
		}()
		buf := make([]byte, 1<<20)
		for count < n {
			select {
			case <-stop:
				return
			default:
			}
			if f == nil {
				var err error
				if f, err = os.Open(r.out); err != nil {
					f = nil
					time.Sleep(time.Millisecond)
					continue
				}
			}
			k, _ := f.Read(buf)
			if k == 0 {
				time.Sleep(500 * time.Microsecond)
				continue
			}
			count += bytes.Count(buf[:k], []byte{'\n'})
		}
		at = time.Now()
	}()
	b.Cleanup(func() {
		close(stop)
		<-done
	})
	return func() time.Time {
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		select {
		case <-done:
			if count < n {
				b.Fatalf("rsyslogd's file: %d lines of %d", count, n)
			}
			return at
		case <-t.C:
			b.Fatalf("rsyslogd's file: not %d lines after a minute", n)
			return time.Time{}
		}
	}
}

// ceilingMessage is the RFC 5424 message the sink sends for one entry of
// logEntry200: the same bytes, built once.
func ceilingMessage(b *testing.B) []byte {
	var buf bytes.Buffer
	l := zap.New(zapcore.NewCore(collectorEncoder(), zapcore.AddSync(&buf), zapcore.InfoLevel))
	logEntry200(l, 1234567)
	rec := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	host, _ := os.Hostname()
	return syslogsink.AppendRFC5424(nil, syslogsink.Header{
		Facility: syslogsink.User, Severity: syslogsink.SeverityInformational,
		Timestamp: time.Now(), Hostname: host, AppName: "bench.test", ProcID: strconv.Itoa(os.Getpid()),
	}, rec)
}

// rawRELP is a bare RELP session: frames built in place from one
// message, no formatting, no retries, no checks beyond the answers'
// numbers and codes.
type rawRELP struct {
	c    *net.TCPConn
	r    *bufio.Reader
	txnr int
	data []byte
}

// quickAckConn asks for immediate ACKs before each read, as the sink
// does: librelp sends its answers under Nagle's algorithm.
type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c quickAckConn) Read(p []byte) (int, error) {
	c.rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}

func dialRawRELP(b *testing.B, addr string) *rawRELP {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	tc := c.(*net.TCPConn)
	rc, err := tc.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	s := &rawRELP{c: tc, r: bufio.NewReaderSize(quickAckConn{tc, rc}, 64<<10)}
	offer := "relp_version=0\nrelp_software=bench\ncommands=syslog"
	s.txnr = 1
	if _, err := fmt.Fprintf(c, "1 open %d %s\n", len(offer), offer); err != nil {
		b.Fatal(err)
	}
	if t, code, err := s.readRsp(); err != nil || t != 1 || code != 200 {
		b.Fatalf("RELP open: txnr %d, code %d, %v", t, code, err)
	}
	return s
}

func (s *rawRELP) readNum() (int, byte, error) {
	n := 0
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, 0, err
		}
		if c < '0' || c > '9' {
			return n, c, nil
		}
		n = n*10 + int(c-'0')
	}
}

// readRsp reads an answer: its number and status code.
func (s *rawRELP) readRsp() (txnr, code int, err error) {
	if txnr, _, err = s.readNum(); err != nil {
		return 0, 0, err
	}
	cmd, err := s.r.ReadSlice(' ')
	if err != nil {
		return 0, 0, err
	}
	if string(cmd) != "rsp " {
		return 0, 0, fmt.Errorf("RELP: command %q", cmd)
	}
	n, c, err := s.readNum()
	if err != nil {
		return 0, 0, err
	}
	if n > 0 {
		s.data = append(s.data[:0], make([]byte, n)...)
		if _, err := io.ReadFull(s.r, s.data); err != nil {
			return 0, 0, err
		}
		if c, err = s.r.ReadByte(); err != nil {
			return 0, 0, err
		}
	}
	if c != '\n' || n < 3 {
		return 0, 0, fmt.Errorf("RELP: a malformed answer to %d", txnr)
	}
	code, _ = strconv.Atoi(string(s.data[:3]))
	return txnr, code, nil
}

// send sends n records of msg, up to window in flight, as fast as the
// answers come, and returns when all are answered. With bulk, the reader
// lets answers gather for 200 µs before each read while at least 128 are
// in flight; without, it reads each as it comes.
func (s *rawRELP) send(msg []byte, n, window int, bulk bool) error {
	var acked, written atomic.Int64
	room := make(chan struct{}, 1)
	errc := make(chan error, 1)
	first := s.txnr + 1
	go func() {
		for i := 0; i < n; i++ {
			t, code, err := s.readRsp()
			if err == nil && (t != first+i || code != 200) {
				err = fmt.Errorf("RELP: answer %d code %d, %d expected", t, code, first+i)
			}
			if err != nil {
				errc <- err
				return
			}
			acked.Add(1)
			if s.r.Buffered() == 0 {
				select {
				case room <- struct{}{}:
				default:
				}
				if bulk && int(written.Load())-(i+1) >= 128 {
					// Let the answers gather, as the sink does (see
					// syslogsink's ackPause).
					time.Sleep(200 * time.Microsecond)
				}
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 0, 256*(len(msg)+32))
	for sent := 0; sent < n; {
		free := window - (sent - int(acked.Load()))
		if free <= 0 {
			select {
			case <-room:
			case err := <-errc:
				return err
			}
			continue
		}
		k := min(free, n-sent, 256)
		buf = buf[:0]
		for range k {
			s.txnr++
			buf = strconv.AppendInt(buf, int64(s.txnr), 10)
			buf = append(buf, " syslog "...)
			buf = strconv.AppendInt(buf, int64(len(msg)), 10)
			buf = append(buf, ' ')
			buf = append(buf, msg...)
			buf = append(buf, '\n')
		}
		written.Add(int64(k))
		if _, err := s.c.Write(buf); err != nil {
			return err
		}
		sent += k
	}
	return <-errc
}

// BenchmarkCollectorCeiling is what rsyslogd takes from a bare client on
// this machine, with no asynclog and no formatting at all: the message
// the sink sends for a logEntry200, built once, sent as fast as rsyslogd
// takes it, over RELP (windows of 512 and 4096, on 1 to 4 sessions, the
// records split evenly among them; answers read in bulk, or as they come
// with "eager") and over octet-counted TCP (writes of 256 KiB), to the
// rsyslogd of BenchmarkCollector, with a Direct queue and, for two rows,
// a LinkedList queue. rsyslogd's imrelp has one thread for all sessions,
// and with a Direct queue runs the ruleset on it. It bounds what any client can reach. records/s
// counts, as BenchmarkCollector does, to the last answer (RELP) or the
// last write (TCP); in-file-records/s to the last line in rsyslogd's file.
func BenchmarkCollectorCeiling(b *testing.B) {
	msg := ceilingMessage(b)
	type client struct {
		name          string
		relp, bulk    bool
		window, conns int
		linkedList    bool // run with a LinkedList queue too
	}
	clients := []client{
		{"relp-w512", true, true, 512, 1, false},
		{"relp-w4096", true, true, 4096, 1, true},
		{"relp-w4096-eager", true, false, 4096, 1, false},
		{"relp-w4096-conns2", true, true, 4096, 2, false},
		{"relp-w4096-conns4", true, true, 4096, 4, false},
		{"tcp", false, false, 0, 1, true},
	}
	for _, queue := range []string{queueDirect, queueLinkedList} {
		for _, cl := range clients {
			if queue == queueLinkedList && !cl.linkedList {
				continue
			}
			b.Run(strings.ToLower(queue)+"/"+cl.name, func(b *testing.B) {
				r := startBenchRsyslogdQueue(b, queue)
				var sessions []*rawRELP
				var tcp net.Conn
				if cl.relp {
					for range cl.conns {
						sessions = append(sessions, dialRawRELP(b, r.relp))
					}
				} else {
					c, err := net.Dial("tcp", r.tcp)
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					tcp = c
				}
				lines := r.tailLines(b, b.N)
				cpu0, rcpu0 := cpuTime(), r.cpuTime()
				b.ResetTimer()
				start := time.Now()
				if cl.relp {
					var wg sync.WaitGroup
					for i, s := range sessions {
						n := b.N / len(sessions)
						if i < b.N%len(sessions) {
							n++
						}
						wg.Go(func() {
							if err := s.send(msg, n, cl.window, cl.bulk); err != nil {
								b.Error(err)
							}
						})
					}
					wg.Wait()
				} else {
					frame := strconv.AppendInt(nil, int64(len(msg)), 10)
					frame = append(append(frame, ' '), msg...)
					per := (256 << 10) / len(frame)
					buf := bytes.Repeat(frame, per)
					for sent := 0; sent < b.N; {
						k := min(per, b.N-sent)
						if _, err := tcp.Write(buf[:k*len(frame)]); err != nil {
							b.Fatal(err)
						}
						sent += k
					}
				}
				elapsed := time.Since(start)
				inFile := lines().Sub(start)
				b.StopTimer()
				cpu, rcpu := cpuTime()-cpu0, r.cpuTime()-rcpu0
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
				b.ReportMetric(float64(b.N)/inFile.Seconds(), "in-file-records/s")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/record")
				b.ReportMetric(float64(rcpu)/float64(b.N), "rsyslogd-cpu-ns/record")
			})
		}
	}
}
