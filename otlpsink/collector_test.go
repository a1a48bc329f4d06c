//go:build unix

package otlpsink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests in the collector_*_test.go files ship to the real
// OpenTelemetry Collector, built by `make otelcol` (the official builder,
// the OTLP receiver and the contrib file exporter) into .otelcol/ at the
// repository root, or found at $OTELCOL. Without it they skip, unless the
// environment variable CI is set: then they fail.
//
// The collector writes what it receives with the file exporter, unbuffered
// and appending, so that a record it acknowledged is in the file even if it
// is killed right after, and a restart does not truncate the file. Setting
// rotation does both: the exporter then writes each request straight to
// the file through its rotating writer, which opens the file for
// appending. (This release refuses append: true beside rotation; without
// rotation the defaults, append: false and a buffered writer, truncate the
// file at every start and lose acknowledged records on SIGKILL.)

const collectorConfig = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    rotation:
      max_megabytes: 100000
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`

// collectorBinary returns the collector's path, or skips (fails under CI).
func collectorBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("OTELCOL")
	if bin == "" {
		bin = filepath.Join("..", ".otelcol", "dist", "otelcol-asynclog")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the OpenTelemetry Collector is missing (%v): run make otelcol", err)
		}
		t.Skipf("the OpenTelemetry Collector is missing (%v): run make otelcol", err)
	}
	abs, err := filepath.Abs(bin)
	require.NoError(t, err)
	return abs
}

// A collector is a real OpenTelemetry Collector on a loopback port, in a
// process group of its own, stopped at the end of the test.
type collector struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	out  string // the file exporter's file
	cmd  *exec.Cmd
	// exited is closed when the present process has ended.
	exited chan struct{}
}

func startCollector(t testing.TB) *collector {
	t.Helper()
	c := &collector{t: t, bin: collectorBinary(t), dir: t.TempDir()}
	c.port = freePort(t)
	c.out = filepath.Join(c.dir, "out.jsonl")
	conf := filepath.Join(c.dir, "config.yaml")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, collectorConfig, c.port, c.out), 0o600))
	t.Cleanup(func() {
		if c.cmd != nil {
			c.kill()
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(c.dir, "collector.log"))
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			t.Logf("collector log (end):\n%s", log)
		}
	})
	c.start()
	return c
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// url is the collector's OTLP/HTTP endpoint.
func (c *collector) url() string { return fmt.Sprintf("http://127.0.0.1:%d", c.port) }

// start runs the collector and waits until it accepts connections.
func (c *collector) start() {
	c.t.Helper()
	log, err := os.OpenFile(filepath.Join(c.dir, "collector.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(c.t, err)
	defer log.Close()
	cmd := exec.Command(c.bin, "--config", "file:"+filepath.Join(c.dir, "config.yaml"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(c.t, cmd.Start())
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(c.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.port), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-c.exited:
			c.cmd = nil
			c.t.Fatalf("the collector exited before it listened")
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			c.t.Fatalf("the collector did not listen on port %d within 30 s", c.port)
		}
	}
}

// signal sends sig to the collector's process group.
func (c *collector) signal(sig syscall.Signal) {
	c.t.Helper()
	require.NoError(c.t, syscall.Kill(-c.cmd.Process.Pid, sig))
}

// kill SIGKILLs the collector (continuing it first, if stopped) and waits
// for it to end.
func (c *collector) kill() {
	c.t.Helper()
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
}

// An output record: one LogRecord of the file exporter's OTLP JSON.
type outRecord struct {
	TimeUnixNano         string   `json:"timeUnixNano"`
	ObservedTimeUnixNano string   `json:"observedTimeUnixNano"`
	SeverityNumber       int      `json:"severityNumber"`
	SeverityText         string   `json:"severityText"`
	Body                 *anyJSON `json:"body"`
	Attributes           []kvJSON `json:"attributes"`
	TraceID              string   `json:"traceId"`
	SpanID               string   `json:"spanId"`
}

type kvJSON struct {
	Key   string   `json:"key"`
	Value *anyJSON `json:"value"`
}

type anyJSON struct {
	StringValue *string  `json:"stringValue"`
	BoolValue   *bool    `json:"boolValue"`
	IntValue    *string  `json:"intValue"` // int64 in OTLP JSON is a string
	DoubleValue *float64 `json:"doubleValue"`
	ArrayValue  *struct {
		Values []*anyJSON `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []kvJSON `json:"values"`
	} `json:"kvlistValue"`
}

func (a *anyJSON) value() any {
	switch {
	case a == nil:
		return nil
	case a.StringValue != nil:
		return *a.StringValue
	case a.BoolValue != nil:
		return *a.BoolValue
	case a.IntValue != nil:
		n, err := strconv.ParseInt(*a.IntValue, 10, 64)
		if err != nil {
			return "bad int " + *a.IntValue
		}
		return n
	case a.DoubleValue != nil:
		return *a.DoubleValue
	case a.ArrayValue != nil:
		out := []any{}
		for _, v := range a.ArrayValue.Values {
			out = append(out, v.value())
		}
		return out
	case a.KvlistValue != nil:
		out := map[string]any{}
		for _, kv := range a.KvlistValue.Values {
			out[kv.Key] = kv.Value.value()
		}
		return out
	}
	return nil
}

func (r outRecord) received() received {
	u := func(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }
	attrs := map[string]any{}
	for _, kv := range r.Attributes {
		attrs[kv.Key] = kv.Value.value()
	}
	return received{
		Time: u(r.TimeUnixNano), Observed: u(r.ObservedTimeUnixNano),
		SeverityNumber: r.SeverityNumber, SeverityText: r.SeverityText,
		Body: r.Body.value(), Attrs: attrs,
		TraceID: r.TraceID, SpanID: r.SpanID,
	}
}

// output is what the collector wrote: every LogRecord, in order, with the
// service.name of its resource; torn counts the lines that do not parse
// (only a kill in the middle of a write can leave one, at the end of what
// one collector process wrote, and the sink resends its records).
func (c *collector) output() (recs []received, services []string, torn int) {
	c.t.Helper()
	f, err := os.Open(c.out)
	if os.IsNotExist(err) {
		return nil, nil, 0
	}
	require.NoError(c.t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		var line struct {
			ResourceLogs []struct {
				Resource struct {
					Attributes []kvJSON `json:"attributes"`
				} `json:"resource"`
				ScopeLogs []struct {
					LogRecords []outRecord `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &line); err != nil {
			torn++
			continue
		}
		for _, rl := range line.ResourceLogs {
			service := ""
			for _, kv := range rl.Resource.Attributes {
				if kv.Key == "service.name" {
					service, _ = kv.Value.value().(string)
				}
			}
			for _, sl := range rl.ScopeLogs {
				for _, r := range sl.LogRecords {
					recs = append(recs, r.received())
					services = append(services, service)
				}
			}
		}
	}
	require.NoError(c.t, sc.Err())
	return recs, services, torn
}

// A tally counts, for records identified by (g, seq), how often each
// arrived.
type tally map[[2]int64]int

// count tallies the records with int attributes g and seq, and returns
// the rest (notices, say).
func (tl tally) count(recs []received) (others []received) {
	for _, r := range recs {
		g, ok1 := r.Attrs["g"].(int64)
		seq, ok2 := r.Attrs["seq"].(int64)
		if !ok1 || !ok2 {
			others = append(others, r)
			continue
		}
		tl[[2]int64{g, seq}]++
	}
	return others
}

// check returns how many of the records seq 0 to n[g]-1 of each goroutine
// g are missing, and how many arrived more than once (the extra copies).
func (tl tally) check(n []int) (missing, dups int, firstMissing string) {
	for g, ng := range n {
		for seq := range ng {
			switch k := tl[[2]int64{int64(g), int64(seq)}]; {
			case k == 0:
				if missing == 0 {
					firstMissing = fmt.Sprintf("g%d seq %d", g, seq)
				}
				missing++
			case k > 1:
				dups += k - 1
			}
		}
	}
	return missing, dups, firstMissing
}
