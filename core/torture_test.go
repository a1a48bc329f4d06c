package core

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The torture tests run many goroutines writing records of every length,
// from 1 byte to past the buffer size, through a small buffer into a sink
// that stalls at random, with a short flush interval, so that every path
// (fast path, crossing the end, high-water and timer swaps, callers writing
// the spare buffer, large records, overflow) runs concurrently with the
// others. Then the sink's calls are parsed byte for byte (see streams).

const tortureSize = 4096

// slowSink returns a sink that sleeps up to max in every Write, at random.
func slowSink(max time.Duration) *recSink {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	return &recSink{write: func(p []byte) (int, error) {
		mu.Lock()
		d := time.Duration(rng.Int64N(int64(max) + 1))
		mu.Unlock()
		time.Sleep(d)
		return len(p), nil
	}}
}

// TestTortureBlock checks Block under load: every record reaches the sink
// exactly once, whole, inside one sink call, in its writer's order, and
// every sink call starts and ends on a record boundary; and the Stats add up.
func TestTortureBlock(t *testing.T) {
	s := slowSink(100 * time.Microsecond)
	w := newWriter(t, WithSink(s), WithBufferSize(tortureSize), WithFlushInterval(time.Millisecond))
	st := streams{seed: 42, writers: 16, records: 400, size: tortureSize, minLen: 1, maxLen: 5000}
	st.run(t, func(g, k int, p []byte) (int, error) { return w.Write(p) })
	require.NoError(t, w.Close())

	require.NoError(t, st.parseStrict(s.Calls()))
	records, size := st.total()
	stats := w.Stats()
	assert.Equal(t, uint64(records), stats.Records)
	assert.Equal(t, uint64(size), stats.Bytes)
	assert.Equal(t, uint64(records), stats.WrittenRecords)
	assert.Equal(t, uint64(size), stats.WrittenBytes)
	assert.Zero(t, stats.DroppedRecords)
	assert.Zero(t, stats.LostRecords)
	assert.Equal(t, uint64(len(s.Calls())), stats.Flushes)
	t.Logf("%d records, %d bytes, %d sink calls, %d waits", records, size, stats.Flushes, stats.Waits)
}

// TestTortureDrop checks Drop under load with a slower sink: every record
// that reaches the sink is whole, inside one call, once, in its writer's
// order; delivered plus dropped is exactly what was written; and every
// accepted record was written.
func TestTortureDrop(t *testing.T) {
	s := slowSink(500 * time.Microsecond)
	w := newWriter(t, WithSink(s), WithBufferSize(tortureSize), WithOverflow(Drop), WithFlushInterval(time.Millisecond))
	st := streams{seed: 43, writers: 16, records: 400, size: tortureSize, minLen: 4, maxLen: 5000}
	st.run(t, func(g, k int, p []byte) (int, error) {
		n, err := w.Write(p)
		// A writer under Drop never waits; without a pause now and then
		// the writers would be done before the sink took a second buffer.
		runtime.Gosched()
		return n, err
	})
	require.NoError(t, w.Close())

	delivered, err := st.parseLossy(s.Calls(), func(g, k int) bool { return false })
	require.NoError(t, err)
	records, _ := st.total()
	stats := w.Stats()
	assert.Equal(t, uint64(records), uint64(delivered)+stats.DroppedRecords)
	assert.Equal(t, uint64(delivered), stats.Records)
	assert.Equal(t, stats.Records, stats.WrittenRecords)
	assert.Equal(t, stats.Bytes, stats.WrittenBytes)
	assert.Zero(t, stats.Waits)
	assert.NotZero(t, stats.DroppedRecords, "the sink should have been too slow for some records")
	t.Logf("%d records: %d delivered, %d dropped", records, delivered, stats.DroppedRecords)
}

// TestTortureDropWithWriteWait checks Drop with a mix of Write and
// WriteWait under load: every WriteWait record arrives, the Write records
// that arrive are whole and in order, and delivered plus dropped is exactly
// what was written.
func TestTortureDropWithWriteWait(t *testing.T) {
	s := slowSink(500 * time.Microsecond)
	w := newWriter(t, WithSink(s), WithBufferSize(tortureSize), WithOverflow(Drop), WithFlushInterval(time.Millisecond))
	st := streams{seed: 44, writers: 16, records: 400, size: tortureSize, minLen: 4, maxLen: 5000}
	mustArrive := func(g, k int) bool { return (g+k)%4 == 0 }
	st.run(t, func(g, k int, p []byte) (int, error) {
		if mustArrive(g, k) {
			return w.WriteWait(p)
		}
		return w.Write(p)
	})
	require.NoError(t, w.Close())

	delivered, err := st.parseLossy(s.Calls(), mustArrive)
	require.NoError(t, err)
	records, _ := st.total()
	stats := w.Stats()
	assert.Equal(t, uint64(records), uint64(delivered)+stats.DroppedRecords)
	assert.Equal(t, uint64(delivered), stats.WrittenRecords)
	assert.Equal(t, stats.Records, stats.WrittenRecords)
	t.Logf("%d records: %d delivered, %d dropped, %d waits", records, delivered, stats.DroppedRecords, stats.Waits)
}

// TestTortureExactFit checks that buffers filled exactly to their end are
// written whole: with records whose lengths are multiples of 8 in a 64-byte
// buffer, most buffers end exactly full, and the next reservation, which
// starts at the very end, must not lose or cut the records before it. A
// single round finds a mishandled exact fit only sometimes, so the test
// runs many short rounds.
func TestTortureExactFit(t *testing.T) {
	const size, rounds = 64, 30
	for round := range rounds {
		s := &recSink{}
		w := New(WithSink(s), WithBufferSize(size), WithFlushInterval(time.Hour))
		st := streams{seed: uint64(round), writers: 8, records: 2000, size: size, minLen: 4,
			lengthOf: func(g, k int) int { return 8 * (1 + int(mix(uint64(g)<<32|uint64(k))%4)) }} // 8 to 32
		st.run(t, func(g, k int, p []byte) (int, error) { return w.Write(p) })
		require.NoError(t, w.Close())
		require.NoError(t, st.parseStrict(s.Calls()), "round %d", round)
	}
}

// failingSink fails one Write in ten with an error, one in ten with a short
// write and one in ten with a panic, and keeps every call, failed or not.
type failingSink struct {
	mu       sync.Mutex
	all, ok  [][]byte
	calls    int
	failures int
}

func (f *failingSink) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.calls++
	f.all = append(f.all, bytes.Clone(p))
	mode := mix(uint64(f.calls)) % 10
	if mode < 3 {
		f.failures++
	} else {
		f.ok = append(f.ok, bytes.Clone(p))
	}
	f.mu.Unlock()
	switch mode {
	case 0:
		return 0, errSink
	case 1:
		return len(p) / 2, nil
	case 2:
		panic("sink exploded")
	}
	return len(p), nil
}

// TestTortureSinkFailures checks the accounting of sink failures under
// load: every failed call is counted in SinkErrors and its records as lost,
// so that Records == WrittenRecords + LostRecords (and the same for bytes)
// exactly; the records in successful calls are exactly WrittenRecords; and
// under Block every record was handed to the sink exactly once, whole, in
// order, failed call or not.
func TestTortureSinkFailures(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &failingSink{}
			st, stats := tortureFailingSink(t, s, policy, 45, 1000)
			assert.Equal(t, uint64(s.failures), stats.SinkErrors)
			assert.Equal(t, uint64(s.calls), stats.Flushes)
			assert.NotZero(t, stats.LostRecords)
			written, err := st.parseLossy(s.ok, func(g, k int) bool { return false })
			require.NoError(t, err)
			assert.Equal(t, uint64(written), stats.WrittenRecords)
			if policy == Block {
				require.NoError(t, st.parseStrict(s.all))
				return
			}
			handed, err := st.parseLossy(s.all, func(g, k int) bool { return false })
			require.NoError(t, err)
			assert.Equal(t, uint64(handed), stats.Records)
			assert.Equal(t, uint64(st.writers*st.records), uint64(handed)+stats.DroppedRecords)
		})
	}
}

// TestTortureRecordWriter is the torture test for a sink that is a
// RecordWriter, under Block and Drop, with and without a max write size:
// every record reaches it exactly once (under Drop: once or, counted, not
// at all), whole, in its writer's order, each slice one record, each call
// within the max write size unless it holds a single record; and the
// Stats add up.
func TestTortureRecordWriter(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		for _, maxWrite := range []int{0, 1000} {
			t.Run(fmt.Sprintf("%s/max=%d", policy, maxWrite), func(t *testing.T) {
				var mu sync.Mutex
				rng := rand.New(rand.NewPCG(3, 4))
				s := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
					mu.Lock()
					d := time.Duration(rng.Int64N(int64(200*time.Microsecond) + 1))
					mu.Unlock()
					time.Sleep(d)
					return len(recs), nil
				}}
				w := newWriter(t, WithSink(s), WithBufferSize(tortureSize), WithOverflow(policy),
					WithMaxWriteSize(maxWrite), WithFlushInterval(time.Millisecond))
				st := streams{seed: 46, writers: 16, records: 300, size: tortureSize, minLen: 4, maxLen: 5000}
				st.run(t, func(g, k int, p []byte) (int, error) {
					n, err := w.Write(p)
					if policy == Drop {
						runtime.Gosched() // see TestTortureDrop
					}
					return n, err
				})
				require.NoError(t, w.Close())

				delivered := requireOneRecordEach(t, st, s.Delivered(), policy == Block)
				calls := s.Calls()
				for i, c := range calls {
					require.NotEmpty(t, c, "call %d", i)
					require.LessOrEqual(t, len(c), maxRecordsPerCall, "call %d", i)
					if maxWrite > 0 && total(c) > maxWrite {
						require.Len(t, c, 1, "call %d: %d bytes, over the max write size, in more than one record", i, total(c))
					}
				}
				records, _ := st.total()
				stats := w.Stats()
				assert.Equal(t, uint64(delivered), stats.Records)
				assert.Equal(t, stats.Records, stats.WrittenRecords)
				assert.Equal(t, stats.Bytes, stats.WrittenBytes)
				assert.Equal(t, uint64(records), stats.Records+stats.DroppedRecords)
				assert.Equal(t, uint64(len(calls)), stats.Flushes)
				assert.Zero(t, s.Writes())
				if policy == Block {
					assert.Zero(t, stats.DroppedRecords)
				}
				t.Logf("%d records: %d delivered in %d calls, %d dropped", records, delivered, len(calls), stats.DroppedRecords)
			})
		}
	}
}

// failingRecords is failingSink for a RecordWriter: one call in ten
// delivers part of its records and fails, one in ten reports fewer
// records than it has without an error, one in ten panics.
type failingRecords struct {
	mu                  sync.Mutex
	handed, delivered   [][]byte
	calls, failures     int
	lostRecs, lostBytes int
}

func (f *failingRecords) WriteRecords(recs [][]byte) (int, error) {
	f.mu.Lock()
	f.calls++
	mode := mix(uint64(f.calls)) % 10
	n := len(recs)
	if mode < 3 {
		f.failures++
		n = int(mix(uint64(f.calls)+1) % uint64(len(recs)))
		if mode == 2 {
			n = 0 // a panic delivers nothing that the Writer knows of
		}
		f.lostRecs += len(recs) - n
		f.lostBytes += total(recs[n:])
	}
	for i, r := range recs {
		f.handed = append(f.handed, bytes.Clone(r))
		if i < n {
			f.delivered = append(f.delivered, bytes.Clone(r))
		}
	}
	f.mu.Unlock()
	switch mode {
	case 0:
		return n, errSink
	case 1:
		return n, nil
	case 2:
		panic("sink exploded")
	}
	return n, nil
}

func (f *failingRecords) Write(p []byte) (int, error) { panic("Write called on a RecordWriter") }

// TestTortureRecordWriterFailures is TestTortureSinkFailures for a
// RecordWriter: the records a failed call did not deliver are counted
// lost exactly, those before them written, and under Block every record
// was handed to the sink exactly once, in order, failed call or not.
func TestTortureRecordWriterFailures(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &failingRecords{}
			st, stats := tortureFailingSink(t, s, policy, 47, 600)
			assert.Equal(t, uint64(s.lostRecs), stats.LostRecords)
			assert.Equal(t, uint64(s.lostBytes), stats.LostBytes)
			assert.Equal(t, uint64(s.failures), stats.SinkErrors)
			assert.Equal(t, uint64(s.calls), stats.Flushes)
			assert.NotZero(t, stats.LostRecords)
			written := requireOneRecordEach(t, st, s.delivered, false)
			assert.Equal(t, uint64(written), stats.WrittenRecords)
			handed := requireOneRecordEach(t, st, s.handed, policy == Block)
			assert.Equal(t, uint64(handed), stats.Records)
		})
	}
}

// tortureFailingSink writes records records from each of 8 goroutines
// into 256-byte buffers over sink, which fails some calls, with a Sync
// every 100 records, closes the Writer, and checks that every record it
// took is counted written or lost, in records and in bytes.
func tortureFailingSink(t *testing.T, sink io.Writer, policy Overflow, seed uint64, records int) (streams, Stats) {
	t.Helper()
	const size = 256
	w := newWriter(t, WithSink(sink), WithBufferSize(size), WithOverflow(policy),
		WithFlushInterval(time.Millisecond), WithErrorHandler(func(error) {}))
	st := streams{seed: seed, writers: 8, records: records, size: size, minLen: 4, maxLen: 2*size + 3}
	st.run(t, func(g, k int, p []byte) (int, error) {
		if k%100 == 0 {
			_ = w.Sync() // sink errors are expected here
		}
		return w.Write(p)
	})
	_ = w.Close()
	stats := w.Stats()
	assert.Equal(t, stats.Records, stats.WrittenRecords+stats.LostRecords)
	assert.Equal(t, stats.Bytes, stats.WrittenBytes+stats.LostBytes)
	return st, stats
}
