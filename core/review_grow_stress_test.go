package core

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewGrowCheckerFreshWriters runs the checker on many new Writers,
// since buffers grow only in the first swaps of a Writer: Block and Drop,
// with WriteWait, Syncs, and Closes racing the growth.
func TestReviewGrowCheckerFreshWriters(t *testing.T) {
	var cases []reviewCase
	for i := range 6 {
		seed := uint64(100 + i)
		closeAt := time.Duration(0)
		if i%2 == 1 {
			closeAt = time.Duration(1+i) * time.Millisecond
		}
		cases = append(cases,
			reviewCase{name: fmt.Sprintf("block/%d", i), opts: []Option{WithBufferSize(4 << 20)},
				run: reviewRun{writers: 6, records: 150, length: reviewLengths(seed, 1, 30000, 64<<10, 256<<10, 1<<20, 4<<20),
					syncers: 1, closeAt: closeAt, closers: 2},
				delay: 50 * time.Microsecond},
			reviewCase{name: fmt.Sprintf("drop/%d", i), opts: []Option{WithBufferSize(4 << 20), WithOverflow(Drop)},
				run: reviewRun{writers: 6, records: 150, length: reviewLengths(seed, 4, 30000, 64<<10, 256<<10, 1<<20, 4<<20),
					drop: true, syncers: 1, closeAt: closeAt, closers: 2, wait: func(g, k int) bool { return (g+k)%3 == 0 }},
				delay: 50 * time.Microsecond},
		)
	}
	reviewCases(t, cases)
}

// TestReviewGrowNoWriteIntoReplacedBuffer watches every buffer the Writer
// ever holds while it grows under concurrent Writes and Syncs: the memory
// held as cur and spare never exceeds two buffers of the configured size,
// and a buffer that stopped being cur or spare is sealed, so that no
// caller holding it can reserve in it.
func TestReviewGrowNoWriteIntoReplacedBuffer(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			for iter := range 20 {
				const size = 4 << 20
				s := &reviewSink{delay: 30 * time.Microsecond}
				w := newWriter(t, WithSink(s), WithBufferSize(size), WithOverflow(policy),
					WithFlushInterval(time.Millisecond), WithErrorHandler(func(error) {}))
				seen := map[*buffer]bool{}
				stop := make(chan struct{})
				var sampler sync.WaitGroup
				var maxBytes atomic.Int64
				sampler.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						w.mu.Lock()
						seen[w.cur.Load()] = true
						seen[w.spare] = true
						n := len(w.cur.Load().data) + len(w.spare.data)
						w.mu.Unlock()
						if int64(n) > maxBytes.Load() {
							maxBytes.Store(int64(n))
						}
						runtime.Gosched()
					}
				})
				var wg sync.WaitGroup
				var accepted atomic.Int64
				for g := range 6 {
					wg.Go(func() {
						for k := range 200 {
							n := 1 + int(mix(uint64(iter<<20|g<<10|k))%40000)
							p := rec(fmt.Sprintf("i%d-g%d-k%d|", iter, g, k), n)
							_, err := w.Write(p)
							assert.NoError(t, err)
							accepted.Add(1)
						}
					})
				}
				wg.Go(func() {
					for range 5 {
						assert.NoError(t, w.Sync())
					}
				})
				wg.Wait()
				close(stop)
				sampler.Wait()
				require.NoError(t, w.Close())
				assert.LessOrEqual(t, maxBytes.Load(), int64(2*size))
				w.mu.Lock()
				cur, spare := w.cur.Load(), w.spare
				w.mu.Unlock()
				for b := range seen {
					if b == cur || b == spare {
						continue
					}
					assert.NotZero(t, b.state.Load()&sealedBit, "a buffer given up is still open")
				}
				if policy == Block {
					st := w.Stats()
					assert.Equal(t, uint64(accepted.Load()), st.WrittenRecords)
				}
			}
		})
	}
}

// TestReviewGrowGoexitInOutgrownSpare ends the writer goroutine with
// runtime.Goexit inside the sink write of a spare that is to be replaced
// by a grown one: the new writer goroutine goes on in that buffer, and
// the replacement still happens, with every other record delivered once.
func TestReviewGrowGoexitInOutgrownSpare(t *testing.T) {
	for _, records := range []bool{false, true} {
		t.Run(fmt.Sprint("records=", records), func(t *testing.T) {
			for call := int32(1); call <= 6; call++ {
				var calls atomic.Int32
				var mu sync.Mutex
				var got [][]byte
				keep := func(p []byte) {
					mu.Lock()
					got = append(got, bytes.Clone(p))
					mu.Unlock()
				}
				var sink any
				if records {
					sink = recordSinkFunc(func(rs [][]byte) (int, error) {
						if calls.Add(1) == call {
							runtime.Goexit()
						}
						for _, r := range rs {
							keep(r)
						}
						return len(rs), nil
					})
				} else {
					sink = writerFunc(func(p []byte) (int, error) {
						if calls.Add(1) == call {
							runtime.Goexit()
						}
						keep(p)
						return len(p), nil
					})
				}
				w := newWriter(t, WithSink(sink.(interface{ Write([]byte) (int, error) })), WithBufferSize(1<<20),
					WithErrorHandler(func(error) {}), WithFlushInterval(time.Millisecond))
				var want [][]byte
				for k := range 60 {
					p := rec(fmt.Sprintf("c%d-k%d|", call, k), 20000)
					want = append(want, p)
					_, err := w.Write(p)
					require.NoError(t, err)
				}
				_ = w.Sync() // the Goexit, if it came already, is reported here
				for k := range 60 {
					p := rec(fmt.Sprintf("c%d-after%d|", call, k), 20000)
					want = append(want, p)
					_, err := w.Write(p)
					require.NoError(t, err)
				}
				if err := w.Close(); err != nil {
					require.ErrorIs(t, err, ErrSinkPanic) // a Goexit after the Sync
				}
				mu.Lock()
				all := bytes.Join(got, nil)
				mu.Unlock()
				st := w.Stats()
				missing := 0
				for _, p := range want {
					c := bytes.Count(all, p)
					require.LessOrEqual(t, c, 1, "a record twice")
					if c == 0 {
						missing++
					}
				}
				assert.Equal(t, int(st.LostRecords), missing, "only the records of the ended write are lost")
				assert.LessOrEqual(t, st.BufferBytes, 2<<20)
			}
		})
	}
}

type recordSinkFunc func(rs [][]byte) (int, error)

func (f recordSinkFunc) Write(p []byte) (int, error) {
	n, err := f([][]byte{p})
	return n * len(p), err
}
func (f recordSinkFunc) WriteRecords(rs [][]byte) (int, error) { return f(rs) }
