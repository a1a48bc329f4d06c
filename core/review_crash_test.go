package core

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test runs a child process that logs through a Writer with a
// spool into a slow file sink and exits with os.Exit at a random moment,
// without Close, after saving how far each of its writers had got (every
// Write that had returned). Then a Writer in this process opens the same
// spool with the same file as its sink, which writes what the child left.
// The file must then hold every record whose Write returned in the child,
// whole, each writer's in order, with no record twice except the records
// of the sink write the child died in (Stats.RepeatedRecords).

const (
	crashWriters = 4
	crashBuffer  = 4096
)

// crashLine returns record k of writer g: a text line, some of them
// longer than a buffer (those go straight to the sink).
func crashLine(g, k int) []byte {
	h := mix(uint64(g)<<32 | uint64(k))
	n := 10 + int(h%200)
	if h%97 == 0 {
		n = crashBuffer + int(h>>8%1000)
	}
	head := fmt.Sprintf("g=%d k=%07d ", g, k)
	p := []byte(head)
	for len(p) < n-1 {
		p = append(p, 'a'+byte((len(p)*7+k)%26))
	}
	return append(p, '\n')
}

type slowFile struct {
	f     *os.File
	delay time.Duration
}

func (s slowFile) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.f.Write(p)
}

func (s slowFile) Sync() error { return nil }

// TestReviewSpoolCrashRecovery passes, but fails under the race detector
// today: the child reports the false race of TestReviewSpoolRaceDetector.
func TestReviewSpoolCrashRecovery(t *testing.T) {
	if os.Getenv("ASYNCLOG_REVIEW_CHILD") == "spool-crash" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for round := range 6 {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestReviewSpoolCrashRecovery$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ASYNCLOG_REVIEW_CHILD=spool-crash", "ASYNCLOG_REVIEW_DIR="+dir,
			"ASYNCLOG_REVIEW_EXIT_MS="+strconv.Itoa(5+round*7))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child: %s", out)

		acks := make([]int, crashWriters)
		ackText, err := os.ReadFile(filepath.Join(dir, "acks"))
		require.NoError(t, err)
		for g, f := range strings.Fields(string(ackText)) {
			acks[g], err = strconv.Atoi(f)
			require.NoError(t, err)
		}
		before, err := os.ReadFile(filepath.Join(dir, "out.log"))
		require.NoError(t, err)

		f, err := os.OpenFile(filepath.Join(dir, "out.log"), os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		w := New(WithSpool(filepath.Join(dir, "app.spool")), WithSink(f), WithBufferSize(crashBuffer))
		require.NotNil(t, w.spool)
		st := w.Stats()
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())

		all, err := os.ReadFile(filepath.Join(dir, "out.log"))
		require.NoError(t, err)
		dups := crashCheck(t, all, acks)
		t.Logf("round %d: child acked %v, left %d bytes in the sink; recovered %d records (%d repeated, %d torn); %d records twice",
			round, acks, len(before), st.RecoveredRecords, st.RepeatedRecords, st.TornRecords, dups)
		assert.LessOrEqual(t, uint64(dups), st.RepeatedRecords, "records twice beyond those of the write the child died in")
	}
}

// crashCheck parses the sink file and returns how many records appear
// twice.
func crashCheck(t *testing.T, all []byte, acks []int) (dups int) {
	t.Helper()
	seen := make([]map[int]int, crashWriters)
	last := make([]int, crashWriters)
	for g := range seen {
		seen[g] = map[int]int{}
		last[g] = -1
	}
	sc := bufio.NewScanner(bytes.NewReader(all))
	sc.Buffer(nil, 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("{")) && bytes.Contains(line, []byte(`"asynclog":"recovered"`)) {
			for g := range last {
				last[g] = -1 // the recovered records start again
			}
			continue
		}
		var g, k int
		_, err := fmt.Sscanf(string(line), "g=%d k=%d ", &g, &k)
		require.NoError(t, err, "line %d: %.60q", lineNo, line)
		require.Equal(t, string(crashLine(g, k)), string(line)+"\n", "line %d is damaged", lineNo)
		require.Greater(t, k, last[g], "line %d: record %d of writer %d out of order", lineNo, k, g)
		last[g] = k
		seen[g][k]++
		if seen[g][k] == 2 {
			dups++
		}
		require.LessOrEqual(t, seen[g][k], 2, "line %d: record %d of writer %d three times", lineNo, k, g)
	}
	require.NoError(t, sc.Err())
	for g := range acks {
		for k := 0; k <= acks[g]; k++ {
			require.NotZero(t, seen[g][k], "record %d of writer %d, whose Write returned before the crash, is lost", k, g)
		}
	}
	return dups
}

func crashChild() {
	dir := os.Getenv("ASYNCLOG_REVIEW_DIR")
	exitMS, _ := strconv.Atoi(os.Getenv("ASYNCLOG_REVIEW_EXIT_MS"))
	f, err := os.OpenFile(filepath.Join(dir, "out.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		panic(err)
	}
	w := New(WithSpool(filepath.Join(dir, "app.spool")), WithSink(slowFile{f, 300 * time.Microsecond}),
		WithBufferSize(crashBuffer), WithErrorHandler(func(err error) { panic(err) }))
	if w.spool == nil {
		panic("no spool")
	}
	var progress [crashWriters]atomic.Int64
	var wg sync.WaitGroup
	for g := range crashWriters {
		progress[g].Store(-1)
		wg.Go(func() {
			for k := 0; ; k++ {
				if _, err := w.Write(crashLine(g, k)); err != nil {
					panic(err)
				}
				progress[g].Store(int64(k))
				if rand.IntN(8) == 0 {
					time.Sleep(20 * time.Microsecond)
				}
			}
		})
	}
	time.Sleep(time.Duration(exitMS) * time.Millisecond)
	var acks []string
	for g := range crashWriters {
		acks = append(acks, strconv.FormatInt(progress[g].Load(), 10))
	}
	if err := os.WriteFile(filepath.Join(dir, "acks"), []byte(strings.Join(acks, " ")), 0o600); err != nil {
		panic(err)
	}
	os.Exit(0)
}
