package core

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBlockWaitsWhenBothBuffersAreFull checks Block: with the sink stuck on
// one buffer and the other full, Write waits (and counts the wait) instead
// of dropping, and once the sink goes on every record arrives, in order.
func TestBlockWaitsWhenBothBuffersAreFull(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(64), withClock(newFakeClock()))
	var want [][]byte
	write := func(tag string) error {
		r := rec(tag, 24) // a 32-byte frame: two fill a buffer
		want = append(want, r)
		_, err := w.Write(r)
		return err
	}
	// The first record is written at once, and the sink sticks.
	require.NoError(t, write("a"))
	g.waitEntered(t)

	// Two records fill the other buffer; the third finds no room.
	done := make(chan error, 1)
	go func() {
		for i := range 3 {
			if err := write(fmt.Sprint("b", i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	eventually(t, "a Write waits for room", func() bool { return w.Stats().Waits > 0 })
	select {
	case err := <-done:
		t.Fatalf("Write returned (%v) while both buffers were full", err)
	default:
	}

	g.open()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	assert.Equal(t, string(bytesOf(want...)), string(s.Data()))
	st := w.Stats()
	assert.Equal(t, uint64(1), st.Waits)
	assert.Zero(t, st.DroppedRecords)
	assert.Equal(t, uint64(4), st.WrittenRecords)
}

// TestDropNeverWaitsForStalledSink checks Drop: with the sink stuck, Write
// keeps returning (len(p), nil) at once, discards what does not fit, counts
// every discarded record, allocates nothing doing so, and the records that
// fitted still arrive once the sink goes on.
func TestDropNeverWaitsForStalledSink(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()))
	first := rec("first", 40) // past the high-water mark: taken at once
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)

	// The sink holds one buffer; the other takes two 20-byte records, in
	// 32-byte frames.
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			r := rec(fmt.Sprintf("r%03d", i), 20)
			got, err := w.Write(r)
			assert.NoError(t, err)
			assert.Equal(t, len(r), got)
		}
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("Write under Drop waited for a stalled sink")
	}
	st := w.Stats()
	assert.Equal(t, uint64(n-2), st.DroppedRecords)
	assert.Equal(t, uint64(20*(n-2)), st.DroppedBytes)
	assert.Zero(t, st.Waits)

	// Dropping does not allocate: memory stays at the two buffers.
	p := rec("more", 20)
	allocs := testing.AllocsPerRun(100, func() { _, _ = w.Write(p) })
	assert.Zero(t, allocs)
	assert.Equal(t, uint64(n-2+101), w.Stats().DroppedRecords)

	g.open()
	require.NoError(t, w.Close())
	want := bytesOf(first, rec("r000", 20), rec("r001", 20))
	assert.Equal(t, string(want), string(s.Data()))
}

// TestDropWriteWaitWaitsForStalledSink checks that WriteWait under Drop
// waits for room like Write under Block, and its record arrives.
func TestDropWriteWaitWaitsForStalledSink(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()))
	first := rec("first", 40)
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)
	fill := rec("fill", 56) // with its header, exactly a buffer
	_, err = w.Write(fill)
	require.NoError(t, err)

	must := rec("must", 20)
	done := make(chan error, 1)
	go func() {
		_, err := w.WriteWait(must)
		done <- err
	}()
	eventually(t, "WriteWait waits for room", func() bool { return w.Stats().Waits > 0 })
	select {
	case err := <-done:
		t.Fatalf("WriteWait returned (%v) while both buffers were full", err)
	default:
	}
	g.open()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	assert.Equal(t, string(bytesOf(first, fill, must)), string(s.Data()))
	assert.Zero(t, w.Stats().DroppedRecords)
}

// TestLargeRecordsUnderBlock checks that under Block records from half a
// buffer to several buffers long arrive whole, each inside one sink call,
// in order with the small records written before and after them.
func TestLargeRecordsUnderBlock(t *testing.T) {
	const size = 64
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(size), withClock(newFakeClock()))
	var want [][]byte
	for i, n := range []int{size / 2, size/2 + 1, size - 1, size, size + 1, 3*size + 5} {
		for _, r := range [][]byte{rec(fmt.Sprint("s", i), 10), rec(fmt.Sprint("L", i), n), rec(fmt.Sprint("t", i), 5)} {
			got, err := w.Write(r)
			require.NoError(t, err)
			require.Equal(t, len(r), got)
			want = append(want, r)
		}
	}
	require.NoError(t, w.Close())
	assertWholeRecords(t, s.Calls(), want)
	assert.Zero(t, w.Stats().DroppedRecords)
}

// TestLargeRecordsUnderDrop checks that under Drop a record too long for a
// buffer (longer than the buffer less its 8-byte header) is dropped and
// counted, while one that just fits an empty buffer is delivered when a
// buffer is free, and WriteWait delivers either.
func TestLargeRecordsUnderDrop(t *testing.T) {
	const size = 64
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(size), WithOverflow(Drop), withClock(newFakeClock()))
	for _, n := range []int{size - 7, size + 1, 3 * size} {
		got, err := w.Write(rec("drop", n))
		require.NoError(t, err)
		require.Equal(t, n, got)
	}
	require.NoError(t, w.Sync())
	assert.Empty(t, s.Calls())
	st := w.Stats()
	assert.Equal(t, uint64(3), st.DroppedRecords)
	assert.Equal(t, uint64(size-7+size+1+3*size), st.DroppedBytes)

	exact := rec("exact", size-8)
	_, err := w.Write(exact)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	waited := [][]byte{rec("ww-exact", size-8), rec("ww-over", size-7), rec("ww-huge", 3*size)}
	for _, r := range waited {
		_, err := w.WriteWait(r)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	assertWholeRecords(t, s.Calls(), append([][]byte{exact}, waited...))
	assert.Equal(t, uint64(3), w.Stats().DroppedRecords)
}

// TestBufferSizeRecordNoLivelock checks that records of exactly the buffer
// size (and just around it) complete and arrive whole while other
// goroutines keep filling the buffers with small records: Write under
// Block, and WriteWait under Drop.
func TestBufferSizeRecordNoLivelock(t *testing.T) {
	const size = 256
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &recSink{}
			w := newWriter(t, WithSink(s), WithBufferSize(size), WithOverflow(policy), WithFlushInterval(time.Millisecond))
			// Writer 0 writes the big records; the others small ones
			// until writer 0 is done.
			st := streams{seed: 13, writers: 5, records: 1 << 20, size: size, minLen: 4,
				lengthOf: func(g, k int) int {
					if g == 0 {
						return size - 1 + k%3
					}
					return 4 + k%40
				}}
			const big = 60
			var stop atomic.Bool
			var sent [5]int
			var wg sync.WaitGroup
			for g := 1; g < 5; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var buf []byte
					for k := 0; !stop.Load(); k++ {
						buf = st.record(buf[:0], g, k)
						_, err := w.Write(buf)
						assert.NoError(t, err)
						sent[g]++
						if k%16 == 15 {
							// Under Drop these loops never wait;
							// leave the processors to the others
							// now and then.
							runtime.Gosched()
						}
					}
				}()
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				var buf []byte
				for k := range big {
					buf = st.record(buf[:0], 0, k)
					_, err := w.WriteWait(buf)
					assert.NoError(t, err)
				}
			}()
			select {
			case <-done:
			case <-time.After(waitLimit):
				t.Error("records of the buffer size did not complete")
			}
			stop.Store(true)
			wg.Wait()
			<-done
			require.NoError(t, w.Close())

			if policy == Block {
				next := make([]int, st.writers)
				require.NoError(t, st.walkStrict(s.Calls(), next))
				assert.Equal(t, big, next[0])
				for g := 1; g < 5; g++ {
					assert.Equal(t, sent[g], next[g], "writer %d", g)
				}
				return
			}
			delivered, err := st.parseLossy(s.Calls(), func(g, k int) bool { return g == 0 && k < big })
			require.NoError(t, err)
			assert.Equal(t, uint64(delivered)+w.Stats().DroppedRecords, uint64(big+sent[1]+sent[2]+sent[3]+sent[4]))
		})
	}
}

// assertWholeRecords checks that calls hold exactly want, in order, and that
// every call starts and ends on a record boundary.
func assertWholeRecords(t *testing.T, calls, want [][]byte) {
	t.Helper()
	require.Equal(t, string(bytesOf(want...)), string(bytesOf(calls...)), "the sink got other bytes")
	ends := map[int]bool{0: true}
	pos := 0
	for _, r := range want {
		pos += len(r)
		ends[pos] = true
	}
	pos = 0
	for i, c := range calls {
		pos += len(c)
		assert.True(t, ends[pos], "sink call %d ends inside a record", i)
	}
}

// TestDropDoesNotDropWhileSinkSyncs checks that a sink busy syncing does
// not count as a full spare buffer: with the spare buffer written and free,
// a record that does not fit in the active buffer swaps it out instead of
// being dropped, while the sink's Sync is still running.
func TestDropDoesNotDropWhileSinkSyncs(t *testing.T) {
	g := newGate()
	s := &recSink{sync: func() error { g.pass(); return nil }}
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()))
	t.Cleanup(g.open)

	first := rec("first", 20)
	_, err := w.Write(first)
	require.NoError(t, err)
	synced := make(chan error, 1)
	go func() { synced <- w.Sync() }()
	g.waitEntered(t) // first is written; the sink's Sync is running

	var more [][]byte
	for i := range 3 { // 32-byte frames: the third does not fit beside the first two
		r := rec(fmt.Sprint("r", i), 20)
		_, err := w.Write(r)
		require.NoError(t, err)
		more = append(more, r)
	}
	assert.Zero(t, w.Stats().DroppedRecords, "a record was dropped while the spare buffer was free")

	g.open()
	require.NoError(t, <-synced)
	require.NoError(t, w.Close())
	assert.Equal(t, string(bytesOf(append([][]byte{first}, more...)...)), string(s.Data()))
}
