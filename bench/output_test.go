package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
				require.NoError(t, err)
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
				assert.NoError(t, l.Sync(), "Sync")
				assert.NoError(t, l.Close(), "Close")
				data, err := os.ReadFile(f.Name())
				require.NoError(t, err)
				lines := bytes.Count(data, []byte{'\n'})
				switch {
				case o.Discard:
					assert.Zero(t, lines, "a discarding output wrote lines")
				case o.Lossy:
					assert.LessOrEqual(t, lines, goroutines*calls, "more lines than entries logged")
				default:
					assert.Equal(t, goroutines*calls, lines, "lines in the file")
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
			require.Equal(t, string(record), string(line)+"\n", "line %d", n)
			continue
		}
		var e map[string]any
		require.NoError(t, json.Unmarshal(line, &e), "line %d: %s", n, line)
		want := staticMessage
		if c == Fields {
			want = fieldsMessage
			require.Equal(t, fRequestID, e["request_id"], "line %d: %s", n, line)
			require.EqualValues(t, fStatus, e["status"], "line %d: %s", n, line)
			require.Contains(t, e["error"], "connection reset", "line %d: %s", n, line)
		}
		msg := e["msg"]
		if msg == nil {
			msg = e["message"]
		}
		require.Equal(t, want, msg, "line %d: %s", n, line)
	}
}

// TestRun checks the harness on each sink: every call counted and timed,
// nothing lost by an output that must not lose, the CPU time read.
func TestRun(t *testing.T) {
	cfg := Config{Goroutines: 4, Calls: 500, Deadline: 200 * time.Millisecond, Dir: t.TempDir()}
	for _, s := range []Sink{FileSink, SlowSink, FsyncSink} {
		for _, o := range Outputs() {
			if o.Group != "core" {
				continue
			}
			t.Run(s.Name+"/"+o.ID(), func(t *testing.T) {
				r, err := Run(o, Record, s, cfg)
				require.NoError(t, err)
				assert.Empty(t, r.Err, "output error")
				assert.Positive(t, r.Calls)
				assert.LessOrEqual(t, r.Calls, int64(cfg.Goroutines*cfg.Calls))
				assert.Equal(t, r.Calls, r.Latency.TotalCount(), "calls in the histogram")
				switch {
				case o.Discard:
					assert.EqualValues(t, -1, r.Lines, "Lines of a discarding output")
				case !o.Lossy:
					assert.Zero(t, r.Lost(), "entries lost")
				}
				assert.GreaterOrEqual(t, r.Elapsed, r.CallTime)
				assert.Positive(t, r.Throughput())
				checkCPU(t, r)
			})
		}
	}
}

// TestRunPaced checks that a paced run makes every call no earlier than
// its schedule: from 2 goroutines at 1000 entries/s in all, each one's
// calls are due 2 ms apart, the last 99 ms after the start.
func TestRunPaced(t *testing.T) {
	o := Find("core/core")
	cfg := Config{Goroutines: 2, Calls: 50, Rate: 1000, Dir: t.TempDir()}
	r, err := Run(o, Record, FileSink, cfg)
	require.NoError(t, err)
	assert.EqualValues(t, 100, r.Calls)
	assert.Zero(t, r.Lost())
	assert.EqualValues(t, 100, r.Latency.TotalCount())
	assert.GreaterOrEqual(t, r.CallTime, 99*time.Millisecond, "the calls ran ahead of their schedule")
	checkCPU(t, r)
}

// checkCPU checks the CPU time a run reports, where it can be read.
func checkCPU(t *testing.T, r *Result) {
	t.Helper()
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		assert.EqualValues(t, -1, r.CPU)
		return
	}
	assert.Positive(t, r.CPU, "a run that logs uses CPU time")
}

// TestFloor checks that each group's floor discards, and that the
// asynclog rows over io.Discard come right after it, discarding too.
func TestFloor(t *testing.T) {
	for _, g := range Groups() {
		f := Floor(g)
		require.NotNil(t, f, g)
		assert.True(t, f.Discard, "the floor of %s discards", g)
	}
	assert.Nil(t, Floor("nope"))
	for _, g := range []string{"zap", "zerolog"} {
		var ids []string
		for _, o := range Outputs() {
			if o.Group == g {
				ids = append(ids, o.ID())
			}
		}
		require.GreaterOrEqual(t, len(ids), 2, g)
		assert.Equal(t, []string{g + "/discard", g + "/asynclog-discard"}, ids[:2])
		o := Find(g + "/asynclog-discard")
		assert.True(t, o.Discard, "%s writes nowhere", o.ID())
		assert.Equal(t, "asynclog → io.Discard", o.Title)
	}
}

// TestRunAsynclogDiscard checks that the harness counts no lines, and so
// no loss, for the asynclog outputs over io.Discard, which still report
// their core's counters.
func TestRunAsynclogDiscard(t *testing.T) {
	cfg := Config{Goroutines: 2, Calls: 200, Dir: t.TempDir()}
	for _, id := range []string{"zap/asynclog-discard", "zerolog/asynclog-discard"} {
		r, err := Run(Find(id), Fields, FileSink, cfg)
		require.NoError(t, err, id)
		assert.Empty(t, r.Err, id)
		assert.EqualValues(t, 400, r.Calls, id)
		assert.EqualValues(t, -1, r.Lost(), id)
		require.NotNil(t, r.Core, id)
		assert.Positive(t, r.Core.WrittenBytes, "%s: the core wrote to io.Discard", id)
	}
}
