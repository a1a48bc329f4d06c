package core

import (
	"bytes"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteReturnsLenAndNil checks that Write accepts a record of any size,
// from 1 byte to several buffers, with (len(p), nil), under both overflow
// policies.
func TestWriteReturnsLenAndNil(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			w := newWriter(t, WithSink(&recSink{}), WithBufferSize(64), WithOverflow(policy), withClock(newFakeClock()))
			for _, n := range []int{1, 31, 32, 33, 63, 64, 65, 200} {
				got, err := w.Write(rec("r", n))
				require.NoError(t, err, "len %d", n)
				require.Equal(t, n, got, "len %d", n)
			}
		})
	}
}

// TestWriteCopiesRecord checks that Write does not keep p: a caller that
// overwrites p as soon as Write returns does not change what the sink gets,
// whichever path the record takes (buffered, or written directly because it
// is larger than half a buffer).
func TestWriteCopiesRecord(t *testing.T) {
	for _, n := range []int{5, 32, 33, 64, 100} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			s := &recSink{}
			w := newWriter(t, WithSink(s), WithBufferSize(64), withClock(newFakeClock()))
			want := rec("copy", n)
			p := bytes.Clone(want)
			_, err := w.Write(p)
			require.NoError(t, err)
			for i := range p {
				p[i] = 'X'
			}
			require.NoError(t, w.Sync())
			assert.Equal(t, string(want), string(s.Data()))
		})
	}
}

// TestWriteZeroLengthIsNoOp checks that an empty Write returns (0, nil),
// counts nothing and sends nothing to the sink.
func TestWriteZeroLengthIsNoOp(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), withClock(newFakeClock()))
	for _, p := range [][]byte{nil, {}} {
		n, err := w.Write(p)
		assert.Equal(t, 0, n)
		assert.NoError(t, err)
		n, err = w.WriteWait(p)
		assert.Equal(t, 0, n)
		assert.NoError(t, err)
	}
	require.NoError(t, w.Sync())
	assert.Equal(t, Stats{BufferSize: DefaultBufferSize}, w.Stats())
	assert.Empty(t, s.Calls())
}

// TestWriteEachRecordReachesSinkWholeInOneCall checks that records of every
// size, written by one goroutine into a small buffer, reach the sink in
// order, each inside a single sink Write call: no call starts or ends
// inside a record.
func TestWriteEachRecordReachesSinkWholeInOneCall(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &recSink{}
			w := newWriter(t, WithSink(s), WithBufferSize(256), WithOverflow(policy), withClock(newFakeClock()))
			st := streams{seed: 7, writers: 1, records: 2000, size: 256, minLen: 1, maxLen: 600}
			if policy == Drop {
				st.maxLen = 256 // longer records are dropped under Drop
			}
			buf := make([]byte, 0, st.maxLen)
			for k := range st.records {
				// WriteWait so that nothing is dropped under Drop either.
				_, err := w.WriteWait(st.record(buf[:0], 0, k))
				require.NoError(t, err)
			}
			require.NoError(t, w.Close())
			require.NoError(t, st.parseStrict(s.Calls()))
			assert.Greater(t, len(s.Calls()), 100, "the records should have taken many sink calls")
		})
	}
}

// TestWriteOrderAcrossGoroutines checks that a record whose Write returned
// before another Write began reaches the sink first, across goroutines and
// whichever path each record takes: writers pass a token around a ring,
// each writing the next record of one sequence before passing it on, while
// other goroutines write concurrently to force swaps.
func TestWriteOrderAcrossGoroutines(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(512))
	// Writer 0 of st is the ring's sequence; writers 1-3 are noise.
	st := streams{seed: 3, writers: 4, records: 1500, size: 512, minLen: 1, maxLen: 1200}

	const ringSize = 4
	var ring [ringSize]chan int
	for i := range ring {
		ring[i] = make(chan int, 1) // one token in flight: sends never block
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ringSize {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				select {
				case k := <-ring[i]:
					if k == st.records {
						close(done)
						return
					}
					buf = st.record(buf[:0], 0, k)
					_, err := w.Write(buf)
					assert.NoError(t, err)
					ring[(i+1)%ringSize] <- k + 1
				case <-done:
					return
				}
			}
		}()
	}
	ring[0] <- 0
	noiseDone := make(chan struct{})
	go func() {
		defer close(noiseDone)
		st.run(t, func(g, k int, p []byte) (int, error) {
			if g == 0 {
				return len(p), nil // writer 0 is the ring's
			}
			return w.Write(p)
		})
	}()
	wg.Wait()
	<-noiseDone
	require.NoError(t, w.Close())
	require.NoError(t, st.parseStrict(s.Calls()))
}

// TestWriteFastPathDoesNotAllocate checks that a Write that finds room in
// the buffer allocates nothing.
func TestWriteFastPathDoesNotAllocate(t *testing.T) {
	w := newWriter(t, WithSink(&recSink{}), WithBufferSize(1<<20), withClock(newFakeClock()))
	p := rec("alloc", 100)
	// 1001 runs of 100 bytes stay below the high-water mark.
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = w.Write(p)
	})
	assert.Zero(t, allocs)
}
