package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOutputs checks that every output writes every entry of every case it
// supports, whole and in the expected form, from concurrent goroutines.
func TestOutputs(t *testing.T) {
	const goroutines, calls = 4, 250
	for _, o := range Outputs() {
		for _, c := range o.Cases {
			t.Run(o.ID()+"/"+string(c), func(t *testing.T) {
				t.Parallel()
				f, err := os.CreateTemp(t.TempDir(), "*.log")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				l := o.Open(FileSink.Writer(f), c)
				var wg sync.WaitGroup
				for range goroutines {
					wg.Go(func() {
						for range calls {
							l.Log()
						}
					})
				}
				wg.Wait()
				if err := l.Sync(); err != nil {
					t.Errorf("Sync: %v", err)
				}
				if err := l.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				data, err := os.ReadFile(f.Name())
				if err != nil {
					t.Fatal(err)
				}
				lines := bytes.Count(data, []byte{'\n'})
				switch {
				case o.Discard && lines != 0:
					t.Errorf("discarding output wrote %d lines", lines)
				case !o.Discard && !o.Lossy && lines != goroutines*calls:
					t.Errorf("got %d lines, want %d", lines, goroutines*calls)
				case o.Lossy && lines > goroutines*calls:
					t.Errorf("got %d lines, more than the %d logged", lines, goroutines*calls)
				}
				checkLines(t, data, c)
			})
		}
	}
}

// checkLines checks that every line is an entry of case c.
func checkLines(t *testing.T, data []byte, c Case) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if c == Record {
			if !bytes.Equal(append(line, '\n'), record) {
				t.Fatalf("line %d is not the record: %q", n, line)
			}
			continue
		}
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %d: %v: %q", n, err, line)
		}
		want := staticMessage
		if c == Fields {
			want = fieldsMessage
			if e["request_id"] != fRequestID || e["status"] != float64(fStatus) ||
				!strings.Contains(e["error"].(string), "connection reset") {
				t.Fatalf("line %d lacks the fields: %s", n, line)
			}
		}
		if e["msg"] != want && e["message"] != want {
			t.Fatalf("line %d lacks the message %q: %s", n, want, line)
		}
	}
}

// TestRun checks the harness on each sink: every call counted and timed,
// nothing lost by an output that must not lose, the heap sampled.
func TestRun(t *testing.T) {
	cfg := Config{Goroutines: 4, Calls: 500, Deadline: 200 * time.Millisecond, Dir: t.TempDir()}
	for _, s := range []Sink{FileSink, SlowSink, FsyncSink} {
		for _, o := range Outputs() {
			if o.Group != "core" {
				continue
			}
			t.Run(s.Name+"/"+o.ID(), func(t *testing.T) {
				r, err := Run(o, Record, s, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if r.Err != nil {
					t.Errorf("output error: %v", r.Err)
				}
				if r.Calls <= 0 || r.Calls > int64(cfg.Goroutines*cfg.Calls) {
					t.Errorf("Calls = %d", r.Calls)
				}
				if got := r.Latency.TotalCount(); got != r.Calls {
					t.Errorf("histogram holds %d calls, want %d", got, r.Calls)
				}
				switch {
				case o.Discard && r.Lines != -1:
					t.Errorf("Lines = %d for a discarding output", r.Lines)
				case !o.Discard && !o.Lossy && r.Lost() != 0:
					t.Errorf("lost %d of %d entries", r.Lost(), r.Calls)
				}
				if r.Elapsed < r.CallTime || r.Throughput() <= 0 {
					t.Errorf("Elapsed %v, CallTime %v", r.Elapsed, r.CallTime)
				}
			})
		}
	}
}
