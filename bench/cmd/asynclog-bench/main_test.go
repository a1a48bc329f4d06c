package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/bench"
)

const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/asynclog/asynclog/bench
BenchmarkOutputs/zap/discard/fields/serial     	  123159	      1115 ns/op	     704 B/op	       1 allocs/op
BenchmarkOutputs/zap/discard/fields/serial     	  121300	       996.7 ns/op	     704 B/op	       1 allocs/op
BenchmarkOutputs/zap/discard/fields/serial     	  107119	       976.6 ns/op	     704 B/op	       1 allocs/op
BenchmarkOutputs/core/floor/record/parallel-4  	 8792196	        32.54 ns/op	       0 B/op	       0 allocs/op
PASS
`

func TestParseBench(t *testing.T) {
	stats := parseBench(sampleOutput)
	require.Len(t, stats, 2)
	s := stats[benchKey{"zap/discard", bench.Fields, "serial", 1}]
	require.NotNil(t, s)
	assert.Equal(t, 3, s.runs)
	assert.Equal(t, 996.7, s.ns)
	assert.Equal(t, 1.0, s.allocs)
	s = stats[benchKey{"core/floor", bench.Record, "parallel", 4}]
	require.NotNil(t, s)
	assert.Equal(t, 1, s.runs)
	assert.Equal(t, 32.54, s.ns)
	assert.Equal(t, 0.0, s.allocs)
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want benchKey
		ok   bool
	}{
		{"BenchmarkOutputs/zap/file/static/serial", benchKey{"zap/file", bench.Static, "serial", 1}, true},
		{"BenchmarkOutputs/core/core-drop/record/parallel-2", benchKey{"core/core-drop", bench.Record, "parallel", 2}, true},
		{"BenchmarkOutputs/zap/file/static", benchKey{}, false},
		{"BenchmarkOther/a/b/c/d", benchKey{}, false},
	} {
		got, ok := parseName([]string{tc.name, "100", "1", "ns/op"})
		assert.Equal(t, tc.want, got, tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtNs(17.785), "17.8 ns"},
		{fmtNs(996.7), "997 ns"},
		{fmtDur(1234 * time.Nanosecond), "1.23 µs"},
		{fmtDur(45600 * time.Microsecond), "45.6 ms"},
		{fmtCount(1_234_567), "1.23M"},
		{fmtCount(980), "980"},
		{fmtBytes(2 << 20), "2.00 MiB"},
		{fmtBytes(960), "960 B"},
		{fmtDur(0), "0 ns"},
		{fmtRatio(0.9536), "0.954×"},
		{fmtRatio(1.5), "1.5×"},
		{fmtRatio(0.0016), "0.0016×"},
	} {
		assert.Equal(t, tc.want, tc.got)
	}
}

func TestTableText(t *testing.T) {
	tb := &table{title: "T", header: []string{"name", "µs"}, left: 1}
	tb.add("a", "1")
	tb.add("long name", "22")
	var b strings.Builder
	tb.write(&b)
	assert.Equal(t, "\n### T\n\n| name      |  µs |\n| --------- | --: |\n| a         |   1 |\n| long name |  22 |\n", b.String())
}

// fakeRun returns one latency run of output id: calls calls in elapsed,
// each taking lat, lines of them in the file (-1 for a discarding output),
// with the process busy half the time.
func fakeRun(t *testing.T, id string, calls, lines int64, elapsed, lat time.Duration) *runs {
	t.Helper()
	h := hdrhistogram.New(1, int64(100*time.Second), 3)
	require.NoError(t, h.RecordValues(int64(lat), calls))
	o := bench.Find(id)
	require.NotNil(t, o, id)
	x := &runs{}
	x.add(&bench.Result{Output: o, Calls: calls, Lines: lines, CallTime: elapsed, Elapsed: elapsed, Latency: h, CPU: elapsed / 2})
	return x
}

// fakeReport is a report of made-up runs: zapasync meets its 10-field
// targets against BufferedWriteSyncer and misses its static ones and the
// slow sink's maximum; zap over asynclog→io.Discard meets its 10-field
// and static p99.9 targets and misses its static entries/s, and zerolog's
// the other way round but for p99.9; a paced zap→file run lost entries,
// the diode lost some as it may, and the core allocates, meets its serial
// target at P=1 and misses its parallel one.
func fakeReport(t *testing.T, quick bool) *report {
	file := bench.FileSink.Name
	const sec = time.Second
	us := time.Microsecond
	r := &report{settings: settings{quick: quick, paced: sec}, env: env{cores: 2}}
	r.latency = map[latKey]*runs{
		{zapDiscard, bench.Fields, file, 0}:                  fakeRun(t, zapDiscard, 1_000_000, -1, sec, 100*us),
		{zapAsyncDisc, bench.Fields, file, 0}:                fakeRun(t, zapAsyncDisc, 980_000, -1, sec, 120*us),
		{zapAsync, bench.Fields, file, 0}:                    fakeRun(t, zapAsync, 960_000, 960_000, sec, 150*us),
		{zapBuffered, bench.Fields, file, 0}:                 fakeRun(t, zapBuffered, 900_000, 900_000, sec, 2000*us),
		{zapDiscard, bench.Static, file, 0}:                  fakeRun(t, zapDiscard, 1_000_000, -1, sec, 10*us),
		{zapAsyncDisc, bench.Static, file, 0}:                fakeRun(t, zapAsyncDisc, 800_000, -1, sec, 14*us),
		{zapAsync, bench.Static, file, 0}:                    fakeRun(t, zapAsync, 700_000, 700_000, sec, 30*us),
		{zapBuffered, bench.Static, file, 0}:                 fakeRun(t, zapBuffered, 800_000, 800_000, sec, 200*us),
		{zapAsync, bench.Fields, bench.SlowSink.Name, 0}:     fakeRun(t, zapAsync, 1000, 1000, sec, 60*time.Millisecond),
		{"zap/file", bench.Fields, file, pacedRates[0]}:      fakeRun(t, "zap/file", 20_000, 19_995, sec, 3*us),
		{zerologDisc, bench.Fields, file, 0}:                 fakeRun(t, zerologDisc, 1_000_000, -1, sec, us),
		{zerologADisc, bench.Fields, file, 0}:                fakeRun(t, zerologADisc, 960_000, -1, sec, us),
		{zerologDisc, bench.Static, file, 0}:                 fakeRun(t, zerologDisc, 1_000_000, -1, sec, us),
		{zerologADisc, bench.Static, file, 0}:                fakeRun(t, zerologADisc, 900_000, -1, sec, 2*us),
		{zerologDiode, bench.Fields, file, 0}:                fakeRun(t, zerologDiode, 1000, 100, sec, us),
		{zerologAsync, bench.Fields, file, 0}:                fakeRun(t, zerologAsync, 1000, 1000, sec, us),
		{zerologAsync, bench.Fields, bench.SlowSink.Name, 0}: fakeRun(t, zerologAsync, 1000, 1000, sec, us),
	}
	r.bench = map[benchKey]*benchStat{
		{zerologAsync, bench.Fields, "serial", 1}:  {ns: 500},
		{zerologDiode, bench.Fields, "serial", 1}:  {ns: 900, allocs: 3},
		{coreDiscard, bench.Record, "serial", 1}:   {ns: 20, allocs: 1},
		{coreFloor, bench.Record, "serial", 1}:     {ns: 15},
		{coreDiscard, bench.Record, "parallel", 2}: {ns: 40},
		{coreFloor, bench.Record, "parallel", 2}:   {ns: 35},
	}
	r.targets = evaluateTargets(r)
	return r
}

// statuses maps each target's name to its status.
func statuses(r *report) map[string]string {
	m := map[string]string{}
	for _, tg := range r.targets {
		m[tg.name] = tg.status(r.settings.quick)
	}
	return m
}

func TestTargetsFullRun(t *testing.T) {
	r := fakeReport(t, false)
	st := statuses(r)
	for name, want := range map[string]string{
		"zap+zapasync→io.Discard entries/s ≥ 0.97× zap→io.Discard (10 fields)":             met,
		"zap+zapasync→io.Discard entries/s ≥ 0.85× zap→io.Discard (static)":                missed,
		"zap+zapasync→io.Discard p99.9 ≤ 1.5× zap→io.Discard's (static)":                   met,
		"zerolog+zerologasync→io.Discard entries/s ≥ 0.97× zerolog→io.Discard (10 fields)": missed,
		"zerolog+zerologasync→io.Discard entries/s ≥ 0.85× zerolog→io.Discard (static)":    met,
		"zerolog+zerologasync→io.Discard p99.9 ≤ 1.5× zerolog→io.Discard's (static)":       missed,
		"zap+zapasync entries/s ≥ BufferedWriteSyncer's (10 fields)":                       met,
		"zap+zapasync p99.9 ≤ 1/10 of BufferedWriteSyncer's (10 fields)":                   met,
		"zap+zapasync entries/s ≥ BufferedWriteSyncer's (static)":                          missed,
		"zap+zapasync p99.9 ≤ 1/10 of BufferedWriteSyncer's (static)":                      missed,
		"zap+zapasync max latency ≤ 50 ms on the slow sink (10 fields)":                    missed,
		"zapasync with a spool entries/s ≥ 0.9× without (10 fields)":                       notMeasured,
		"0 entries lost by every output that must not lose (every run)":                    missed,
		"zerolog+zerologasync entries/s ≥ diode (10 fields)":                               met,
		"zerolog+zerologasync 0 allocs/op where the diode allocates":                       met,
		"core.Writer Write 0 allocs/op":                                                    missed,
		"core.Writer serial Write ≤ 1.5× floor (P=1)":                                      met,
		"core.Writer serial Write ≤ 1.5× floor (P=2)":                                      notMeasured,
		"core.Writer parallel Write ≤ 1.1× floor (P=2)":                                    missed,
	} {
		assert.Equal(t, want, st[name], name)
	}
	assert.Len(t, r.targetTable().rows, len(r.targets), "a full run lists every target")

	assert.Equal(t, "Targets: 8 met, 9 missed, 11 not measured. A missed target is not a failure.", r.targetSummary())
}

// TestTargetsMetOrMissed checks the new ratio targets on both sides of
// their limits, where the fake report has only one side.
func TestTargetsMetOrMissed(t *testing.T) {
	file := bench.FileSink.Name
	const sec = time.Second
	us := time.Microsecond
	for _, tc := range []struct {
		name      string
		set       func(r *report)
		target    string
		want, was string
	}{
		{"zap asynclog static entries/s", func(r *report) {
			r.latency[latKey{zapAsyncDisc, bench.Static, file, 0}] = fakeRun(t, zapAsyncDisc, 850_000, -1, sec, 14*us)
		}, "zap+zapasync→io.Discard entries/s ≥ 0.85× zap→io.Discard (static)", met, missed},
		{"zap asynclog fields entries/s", func(r *report) {
			r.latency[latKey{zapAsyncDisc, bench.Fields, file, 0}] = fakeRun(t, zapAsyncDisc, 969_000, -1, sec, 120*us)
		}, "zap+zapasync→io.Discard entries/s ≥ 0.97× zap→io.Discard (10 fields)", missed, met},
		{"zap asynclog static p99.9", func(r *report) {
			r.latency[latKey{zapAsyncDisc, bench.Static, file, 0}] = fakeRun(t, zapAsyncDisc, 800_000, -1, sec, 16*us)
		}, "zap+zapasync→io.Discard p99.9 ≤ 1.5× zap→io.Discard's (static)", missed, met},
		{"zerolog asynclog static p99.9", func(r *report) {
			r.latency[latKey{zerologADisc, bench.Static, file, 0}] = fakeRun(t, zerologADisc, 900_000, -1, sec, 1500*time.Nanosecond)
		}, "zerolog+zerologasync→io.Discard p99.9 ≤ 1.5× zerolog→io.Discard's (static)", met, missed},
		{"zapasync static p99.9 against BufferedWriteSyncer", func(r *report) {
			r.latency[latKey{zapBuffered, bench.Static, file, 0}] = fakeRun(t, zapBuffered, 600_000, 600_000, sec, 400*us)
		}, "zap+zapasync p99.9 ≤ 1/10 of BufferedWriteSyncer's (static)", met, missed},
		{"zapasync static entries/s against BufferedWriteSyncer", func(r *report) {
			r.latency[latKey{zapBuffered, bench.Static, file, 0}] = fakeRun(t, zapBuffered, 700_000, 700_000, sec, 200*us)
		}, "zap+zapasync entries/s ≥ BufferedWriteSyncer's (static)", met, missed},
		{"core parallel at P=2", func(r *report) {
			r.bench[benchKey{coreDiscard, bench.Record, "parallel", 2}] = &benchStat{ns: 38}
		}, "core.Writer parallel Write ≤ 1.1× floor (P=2)", met, missed},
		{"core 0 allocs", func(r *report) {
			r.bench[benchKey{coreDiscard, bench.Record, "serial", 1}] = &benchStat{ns: 20}
		}, "core.Writer Write 0 allocs/op", met, missed},
	} {
		r := fakeReport(t, false)
		require.Equal(t, tc.was, statuses(r)[tc.target], "%s: before", tc.name)
		tc.set(r)
		r.targets = evaluateTargets(r)
		assert.Equal(t, tc.want, statuses(r)[tc.target], "%s: after", tc.name)
	}
}

func TestTargetsQuickRun(t *testing.T) {
	r := fakeReport(t, true)
	st := statuses(r)
	for _, tg := range r.targets {
		if tg.speed {
			assert.Equal(t, notJudged, st[tg.name], tg.name)
		}
	}
	assert.Equal(t, missed, st["0 entries lost by every output that must not lose (every run)"])
	assert.Equal(t, met, st["zerolog+zerologasync 0 allocs/op where the diode allocates"])
	assert.Equal(t, missed, st["core.Writer Write 0 allocs/op"])

	rows := r.targetTable().rows
	assert.Len(t, rows, 3, "a quick run lists the targets it judges")
	for _, row := range rows {
		assert.NotEqual(t, notJudged, row[2], row[0])
	}
	assert.Equal(t, "Targets: 1 met, 2 missed, 0 not measured; 25 that compare speeds or latencies are judged in full runs only. A missed target is not a failure.", r.targetSummary())
}

func TestProblems(t *testing.T) {
	r := fakeReport(t, true)
	assert.Equal(t, []string{"zap/file (fields, file sink, 20000 entries/s) lost 5 of 20000 entries"}, r.problems(),
		"the diode may lose entries; zap→file may not")
}

func TestPacedTable(t *testing.T) {
	tb := fakeReport(t, true).pacedTable()
	require.Len(t, tb.rows, 1)
	assert.Equal(t, []string{"20.0k/s", "*os.File (zapcore.Lock)", "20.0k", "3.00 µs", "3.00 µs", "3.00 µs", "0.500", "5 (0.0%)"}, tb.rows[0])
}

func TestFiles(t *testing.T) {
	for _, tc := range []struct {
		partial, given bool
		report, raw    string
	}{
		{false, false, "../BENCHMARKS.md", "results/gobench.txt"},
		{false, true, "../BENCHMARKS.md", "results/gobench.txt"},
		{true, false, "", ""},
		{true, true, "../BENCHMARKS.md", ""},
	} {
		report, raw := files(tc.partial, "../BENCHMARKS.md", tc.given)
		assert.Equal(t, tc.report, report, "partial %v, -o given %v", tc.partial, tc.given)
		assert.Equal(t, tc.raw, raw, "partial %v, -o given %v", tc.partial, tc.given)
	}
}

// TestRunsMerge checks how rounds add up: calls, lines and CPU time
// summed, the median round's throughput, latencies of every call.
func TestRunsMerge(t *testing.T) {
	const sec = time.Second
	x := fakeRun(t, zapAsync, 1000, 1000, sec, time.Microsecond)
	for _, r := range []*runs{
		fakeRun(t, zapAsync, 3000, 2990, sec, time.Millisecond),
		fakeRun(t, zapAsync, 2000, 2000, sec, time.Microsecond),
	} {
		x.add(&r.Result)
	}
	assert.Equal(t, 3, x.rounds)
	assert.EqualValues(t, 6000, x.Calls)
	assert.EqualValues(t, 10, x.Lost())
	assert.Equal(t, 2000.0, x.Throughput(), "the median round's")
	assert.InEpsilon(t, float64(time.Millisecond), float64(x.Max()), 0.001, "3 significant digits")
	assert.EqualValues(t, 6000, x.Latency.TotalCount())
	assert.InDelta(t, 0.5, x.CPUPerSecond(), 1e-9)

	d := fakeRun(t, zapDiscard, 1000, -1, sec, time.Microsecond)
	d.add(&fakeRun(t, zapDiscard, 1000, -1, sec, time.Microsecond).Result)
	assert.EqualValues(t, -1, d.Lost(), "a discarding output loses nothing it could count")
}

// TestGroupTable checks the ratios of the zap table: the asynclog row over
// io.Discard comes right after io.Discard, is compared with it, and is
// never the best, as it writes nowhere; nor does it count losses.
func TestGroupTable(t *testing.T) {
	tb := fakeReport(t, true).groupTable("zap")
	assert.Equal(t, "× io.Discard", tb.header[10])
	var fields [][]string
	for _, row := range tb.rows {
		if row[0] == caseTitles[bench.Fields] {
			fields = append(fields, []string{row[1], row[8], row[9], row[10], row[11]})
		}
	}
	assert.Equal(t, [][]string{
		{"io.Discard", "1.00M", "—", "1×", "—"},
		{"asynclog → io.Discard", "980k", "—", "0.98×", "—"},
		{"BufferedWriteSyncer", "900k", "0.938×", "0.9×", "0"},
		{"zapasync", "960k", "1×", "0.96×", "0"},
	}, fields)
}

// TestGroupTablePartial checks a table whose floor was not run: its
// ratios against io.Discard are blank, the other columns filled.
func TestGroupTablePartial(t *testing.T) {
	r := fakeReport(t, true)
	delete(r.latency, latKey{zapDiscard, bench.Fields, bench.FileSink.Name, 0})
	delete(r.latency, latKey{zapDiscard, bench.Static, bench.FileSink.Name, 0})
	tb := r.groupTable("zap")
	assert.Equal(t, "× io.Discard", tb.header[10])
	require.NotEmpty(t, tb.rows)
	assert.Equal(t, []string{"10 fields", "asynclog → io.Discard", "980k", "—", ""},
		[]string{tb.rows[0][0], tb.rows[0][1], tb.rows[0][8], tb.rows[0][9], tb.rows[0][10]})
}

func TestSelection(t *testing.T) {
	all := strings.Join(bench.Groups(), ",")
	sel, err := newSelection(all, "")
	require.NoError(t, err)
	assert.True(t, sel.has(bench.Find("logrus/file")))
	assert.Equal(t, "^BenchmarkOutputs$/^zap$/", sel.benchPattern("zap"))

	sel, err = newSelection(all, "zap/discard,zap/asynclog-discard")
	require.NoError(t, err)
	assert.True(t, sel.has(bench.Find("zap/asynclog-discard")))
	assert.False(t, sel.has(bench.Find("zap/zapasync")))
	assert.False(t, sel.has(bench.Find("zerolog/discard")))
	assert.Equal(t, `^BenchmarkOutputs$/^zap$/^(discard|asynclog-discard)$/`, sel.benchPattern("zap"))
	assert.Empty(t, sel.benchPattern("zerolog"), "no output of zerolog selected")

	// The pattern's output element matches the selected names only, whole.
	re := regexp.MustCompile(`^(discard|asynclog-discard)$`)
	assert.True(t, re.MatchString("asynclog-discard"))
	assert.False(t, re.MatchString("discard-x"))

	_, err = newSelection(all, "zap/nope")
	assert.ErrorContains(t, err, `unknown output "zap/nope"`)
	_, err = newSelection("zerolog", "zap/discard")
	assert.ErrorContains(t, err, "not in -groups")
	_, err = newSelection("zap,nope", "")
	assert.ErrorContains(t, err, `unknown group "nope"`)
}
