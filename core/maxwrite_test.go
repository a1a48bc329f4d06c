package core

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/natefinch/lumberjack.v2"
)

// TestMaxWriteSizeAroundTheBound checks WithMaxWriteSize(n) with records
// of n-1, n, n+1 and 2n bytes among short ones, call by call: every call is
// at most n bytes unless it holds one record, which is then alone and
// whole, and the records are packed into as few calls as the bound allows.
func TestMaxWriteSizeAroundTheBound(t *testing.T) {
	const n = 100
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(4096), WithMaxWriteSize(n), withClock(newFakeClock()))
	warm := warmUp(t, w, s)
	short := func(tag string) []byte { return rec(tag, 30) }
	records := [][]byte{
		short("a"), short("b"), short("c"), // 90 bytes: one call
		rec("n-1", n-1),        // alone: nothing else fits beside it
		rec("n", n),            // exactly the bound
		rec("n+1", n+1),        // over: alone, whole
		short("d"), short("e"), // 60
		rec("2n", 2*n),           // over: alone
		short("f"), rec("g", 70), // 100: one call, exactly the bound
		short("h"),
	}
	for _, r := range records {
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	want := [][]byte{
		warm,
		bytesOf(records[0], records[1], records[2]),
		records[3],
		records[4],
		records[5],
		bytesOf(records[6], records[7]),
		records[8],
		bytesOf(records[9], records[10]),
		records[11],
	}
	got := s.Calls()
	require.Len(t, got, len(want), "sink calls")
	for i := range want {
		assert.Equal(t, string(want[i]), string(got[i]), "sink call %d", i)
	}
}

// TestMaxWriteSizeOnSinkFailure checks that a failed sink write under a
// max write size is counted exactly: the records and bytes of that call
// are lost, the others written.
func TestMaxWriteSizeOnSinkFailure(t *testing.T) {
	calls := 0
	s := &recSink{write: func(p []byte) (int, error) {
		calls++
		if calls == 3 {
			return 0, errSink
		}
		return len(p), nil
	}}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(4096), WithMaxWriteSize(64), WithErrorHandler(log.handle), withClock(newFakeClock()))
	warm := warmUp(t, w, s)
	for i := range 6 { // three calls of two 30-byte records
		_, err := w.Write(rec(fmt.Sprint(i), 30))
		require.NoError(t, err)
	}
	assert.ErrorIs(t, w.Sync(), errSink)
	st := w.Stats()
	assert.Equal(t, uint64(7), st.Records)
	assert.Equal(t, uint64(5), st.WrittenRecords)
	assert.Equal(t, uint64(len(warm)+120), st.WrittenBytes)
	assert.Equal(t, uint64(2), st.LostRecords)
	assert.Equal(t, uint64(60), st.LostBytes)
	assert.Equal(t, string(bytesOf(warm, rec("0", 30), rec("1", 30), rec("4", 30), rec("5", 30))), string(s.Data()))
}

// TestTortureMaxWriteSize is TestTortureBlock with a max write size below
// some records and above others: on top of its checks, no sink call is
// longer than the bound unless it holds a single record.
func TestTortureMaxWriteSize(t *testing.T) {
	const maxWrite = 1000
	s := slowSink(100 * time.Microsecond)
	w := newWriter(t, WithSink(s), WithBufferSize(tortureSize), WithMaxWriteSize(maxWrite), WithFlushInterval(time.Millisecond))
	st := streams{seed: 44, writers: 16, records: 300, size: tortureSize, minLen: 1, maxLen: 5000}
	st.run(t, func(g, k int, p []byte) (int, error) { return w.Write(p) })
	require.NoError(t, w.Close())
	calls := s.Calls()
	require.NoError(t, st.parseStrict(calls))
	next := make([]int, st.writers)
	found := 0 // records found in the calls so far
	for i, c := range calls {
		require.NoError(t, st.walkStrict([][]byte{c}, next))
		before := found
		found = 0
		for _, k := range next {
			found += k
		}
		if len(c) > maxWrite {
			assert.Equal(t, 1, found-before, "sink call %d is %d bytes, over %d, and holds several records", i, len(c), maxWrite)
		}
	}
}

// TestLumberjackMaxSize checks the set-up the README gives for rotation:
// lumberjack with MaxSize 1 (a megabyte) and WithMaxWriteSize(1 << 20),
// 4 goroutines logging 20,000 lines each through the default 4 MiB
// buffers. Every line is in the rotated files exactly once, and no write
// failed: lumberjack refuses a write longer than MaxSize.
func TestLumberjackMaxSize(t *testing.T) {
	dir := t.TempDir()
	rotator := &lumberjack.Logger{Filename: filepath.Join(dir, "app.log"), MaxSize: 1}
	// lumberjack names a backup by the millisecond: two rotations within
	// one would write the second over the first. A sink takes longer than
	// that to write a megabyte anywhere but in this test's page cache.
	sink := writerFunc(func(p []byte) (int, error) {
		time.Sleep(2 * time.Millisecond)
		return rotator.Write(p)
	})
	var log errorLog
	w := New(WithSink(sink), WithMaxWriteSize(1<<20), WithErrorHandler(log.handle))
	const goroutines, lines = 4, 20000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range lines {
				_, err := fmt.Fprintf(w, `{"level":"info","msg":"a line of an ordinary length for a service log","g":%d,"seq":%d}`+"\n", g, i)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())
	require.NoError(t, rotator.Close())
	assert.Empty(t, log.Errors())
	assert.Zero(t, w.Stats().LostRecords)

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	assert.Greater(t, len(files), 2, "the log should have rotated")
	seen := make(map[string]int)
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			i := strings.Index(line, `"g":`)
			require.GreaterOrEqual(t, i, 0, "a torn line in %s: %q", name, line)
			seen[line[i:]]++
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	for g := range goroutines {
		for i := range lines {
			key := fmt.Sprintf(`"g":%d,"seq":%d}`, g, i)
			require.Equal(t, 1, seen[key], "line %s", key)
		}
	}
	assert.Len(t, seen, goroutines*lines)
}
