package core

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The review checker runs writers, Syncs and Closes against a Writer and
// then checks, from what the sink received call by call, the guarantees of
// the package documentation:
//
//   - every record that reaches the sink is whole, inside one sink call,
//     once, and in its writer's order; under Block every accepted record
//     arrives, and a record whose Write failed never does;
//   - if one Write returned before another began (across goroutines), its
//     record is in the sink first;
//   - every record whose Write returned before a Sync began is in the sink
//     when that Sync returns (if it returned nil or a sink error, not a
//     timeout);
//   - every accepted record is in the sink when a Close returns;
//   - the sink is called from one goroutine at a time, and no call is longer
//     than the max write size unless it holds one record.
//
// "Before" is decided by a global logical clock: a Write takes a tick when
// it begins and another when it returns, and the ticks are sequentially
// consistent atomics, so end(a) < begin(b) means that a's Write returned
// before b's began.

// reviewRecord returns record k of writer g, n bytes long: byte 0 is
// 0x80|g, bytes 1-3 are k (as much as fits), the rest a pattern of (g, k).
func reviewRecord(dst []byte, seed uint64, g, k, n int) []byte {
	dst = dst[:0]
	dst = append(dst, 0x80|byte(g), byte(k), byte(k>>8), byte(k>>16))
	if n < 4 {
		dst = dst[:n]
	}
	x := mix(seed^uint64(g)<<40^uint64(k)) | 1
	for len(dst) < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		dst = append(dst, byte(x))
	}
	return dst
}

// reviewSink keeps every call, checks that no two overlap, and can be slow,
// fail, or call back into the Writer.
type reviewSink struct {
	delay    time.Duration                         // each call sleeps up to this, at random
	fail     func(call int, p []byte) (int, error) // if set, decides the result (may panic)
	inflight atomic.Int32
	overlap  atomic.Bool

	mu    sync.Mutex
	calls [][]byte // every call the sink accepted (n == len(p), nil)
	all   int      // every call, failed or not
	rng   *rand.Rand
}

func (s *reviewSink) Write(p []byte) (n int, err error) {
	if s.inflight.Add(1) != 1 {
		s.overlap.Store(true)
	}
	defer s.inflight.Add(-1)
	s.mu.Lock()
	call := s.all
	s.all++
	var d time.Duration
	if s.delay > 0 {
		if s.rng == nil {
			s.rng = rand.New(rand.NewPCG(7, 8))
		}
		d = time.Duration(s.rng.Int64N(int64(s.delay) + 1))
	}
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	n = len(p)
	if s.fail != nil {
		n, err = s.fail(call, p)
	}
	if n == len(p) && err == nil {
		s.mu.Lock()
		s.calls = append(s.calls, bytes.Clone(p))
		s.mu.Unlock()
	}
	return n, err
}

// count returns how many successful calls the sink has received.
func (s *reviewSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *reviewSink) snapshot() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.calls...)
}

// reviewRun describes one run of the checker.
type reviewRun struct {
	seed      uint64
	writers   int // at most 64
	records   int // per writer, at most 1<<24
	length    func(g, k int) int
	wait      func(g, k int) bool // under Drop: use WriteWait (the record must arrive)
	drop      bool                // the Writer's overflow is Drop
	maxWrite  int                 // the Writer's max write size, 0 for none
	syncers   int                 // goroutines calling Sync in a loop
	closeAt   time.Duration       // if > 0, Close (closers times, at once) after this
	closers   int
	pause     func(g, k int) // runs after each Write, e.g. to yield
	sinkLoses bool           // the sink fails calls: no record is sure to arrive
	foreign   [][]byte       // records others (a reentrant sink, the error handler) may have written, anywhere
}

type reviewWrite struct {
	begin, end uint64
	ok         bool // returned len(p), nil
	closed     bool // returned ErrClosed
	done       bool // was attempted
}

type reviewBarrier struct {
	begin uint64
	calls int // successful sink calls when it returned
	kind  string
	err   error
}

type reviewResult struct {
	writes   [][]reviewWrite
	barriers []reviewBarrier
	calls    [][]byte
	closeEnd int // sink calls when the first Close returned; -1 if none
}

// run drives w with r and returns what happened. It closes w at the end
// if r did not.
func (r reviewRun) run(t *testing.T, w *Writer, s *reviewSink) reviewResult {
	t.Helper()
	var clock atomic.Uint64
	res := reviewResult{writes: make([][]reviewWrite, r.writers), closeEnd: -1}
	for g := range res.writes {
		res.writes[g] = make([]reviewWrite, r.records)
	}
	var bmu sync.Mutex
	addBarrier := func(b reviewBarrier) {
		bmu.Lock()
		res.barriers = append(res.barriers, b)
		bmu.Unlock()
	}
	stop := make(chan struct{})
	var wg, side sync.WaitGroup
	for g := range r.writers {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for k := range r.records {
				n := r.length(g, k)
				p := reviewRecord(buf, r.seed, g, k, n)
				buf = p[:0]
				rw := &res.writes[g][k]
				rw.done = true
				rw.begin = clock.Add(1)
				var got int
				var err error
				if r.drop && r.wait != nil && r.wait(g, k) {
					got, err = w.WriteWait(p)
				} else {
					got, err = w.Write(p)
				}
				rw.end = clock.Add(1)
				for i := range p {
					p[i] = 0xff // a Writer that kept p would send this
				}
				switch {
				case err == nil && got == n:
					rw.ok = true
				case errors.Is(err, ErrClosed) && got == 0:
					rw.closed = true
					return
				default:
					t.Errorf("writer %d record %d: Write returned %d, %v", g, k, got, err)
					return
				}
				if r.pause != nil {
					r.pause(g, k)
				}
			}
		})
	}
	for range r.syncers {
		side.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := clock.Add(1)
				err := w.Sync()
				addBarrier(reviewBarrier{begin: b, calls: s.count(), kind: "sync", err: err})
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			}
		})
	}
	var closeOnce sync.Once
	if r.closeAt > 0 {
		for range max(r.closers, 1) {
			side.Go(func() {
				time.Sleep(r.closeAt)
				b := clock.Add(1)
				err := w.Close()
				n := s.count()
				closeOnce.Do(func() { res.closeEnd = n })
				addBarrier(reviewBarrier{begin: b, calls: n, kind: "close", err: err})
			})
		}
	}
	wg.Wait()
	close(stop)
	side.Wait()
	if r.closeAt <= 0 {
		b := clock.Add(1)
		err := w.Close()
		res.closeEnd = s.count()
		addBarrier(reviewBarrier{begin: b, calls: res.closeEnd, kind: "close", err: err})
	}
	res.calls = s.snapshot()
	return res
}

// reviewPlace is where a record was found: the sink call and its position
// among all records found.
type reviewPlace struct {
	call, pos int
	found     bool
}

// check checks res against the guarantees; strict says every accepted
// record must arrive (Block, or WriteWait under Drop, and no sink
// failures).
func (r reviewRun) check(t reviewT, res reviewResult, strictAccepted bool) (places [][]reviewPlace) {
	t.Helper()
	places = make([][]reviewPlace, r.writers)
	for g := range places {
		places[g] = make([]reviewPlace, r.records)
	}
	next := make([]int, r.writers)
	pos := 0
	var want []byte
	for ci, call := range res.calls {
		nrec := 0
		for off := 0; off < len(call); {
			b0 := call[off]
			if b0&0x80 == 0 && len(r.foreign) > 0 {
				n := 0
				for _, f := range r.foreign {
					if bytes.HasPrefix(call[off:], f) {
						n = len(f)
						break
					}
				}
				require.NotZero(t, n, "call %d, offset %d: %q starts no record", ci, off, call[off:min(off+20, len(call))])
				off += n
				nrec++
				continue
			}
			g := int(b0 &^ 0x80)
			require.True(t, b0&0x80 != 0 && g < r.writers, "call %d, offset %d: byte %#x starts no record", ci, off, b0)
			k := next[g]
			if k < r.records && r.length(g, k) >= 4 && len(call)-off >= 4 {
				// Records of 4 bytes or more name their k (runs that may
				// lose records have no shorter ones); a shorter one must
				// be the writer's next.
				k = int(call[off+1]) | int(call[off+2])<<8 | int(call[off+3])<<16
				require.GreaterOrEqual(t, k, next[g], "call %d, offset %d: record %d of writer %d again or out of order", ci, off, k, g)
			}
			require.Less(t, k, r.records, "call %d, offset %d: writer %d has no record %d", ci, off, g, k)
			want = reviewRecord(want, r.seed, g, k, r.length(g, k))
			require.LessOrEqual(t, off+len(want), len(call), "call %d, offset %d: record %d of writer %d (%d bytes) is cut off", ci, off, k, g, len(want))
			require.Equal(t, want, call[off:off+len(want)], "call %d, offset %d: record %d of writer %d damaged", ci, off, k, g)
			for kk := next[g]; kk < k; kk++ {
				// Skipped: must not have been accepted where every
				// accepted record must arrive.
				wr := res.writes[g][kk]
				if !r.sinkLoses && (strictAccepted || (r.wait != nil && r.wait(g, kk))) {
					require.False(t, wr.ok, "record %d of writer %d was accepted but is missing (the next found is %d)", kk, g, k)
				}
			}
			wr := res.writes[g][k]
			require.True(t, wr.done && !wr.closed, "record %d of writer %d is in the sink, but its Write was not made or failed (%+v)", k, g, wr)
			places[g][k] = reviewPlace{call: ci, pos: pos, found: true}
			next[g] = k + 1
			pos++
			nrec++
			off += len(want)
		}
		if r.maxWrite > 0 && len(call) > r.maxWrite {
			require.Equal(t, 1, nrec, "call %d: %d bytes, over the max write size %d, holds %d records", ci, len(call), r.maxWrite, nrec)
		}
	}
	for g := range r.writers {
		for k := next[g]; k < r.records; k++ {
			wr := res.writes[g][k]
			if !r.sinkLoses && (strictAccepted || (r.wait != nil && r.wait(g, k))) {
				require.False(t, wr.ok, "record %d of writer %d was accepted but never arrived", k, g)
			}
		}
	}

	// Order across goroutines: walk the records in sink order backwards,
	// keeping the least end tick of those later in the sink.
	type found struct {
		g, k       int
		begin, end uint64
		pos, call  int
	}
	var all []found
	for g := range places {
		for k, p := range places[g] {
			if p.found {
				wr := res.writes[g][k]
				all = append(all, found{g, k, wr.begin, wr.end, p.pos, p.call})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].pos < all[j].pos })
	minEnd, minAt := ^uint64(0), -1
	for i := len(all) - 1; i >= 0; i-- {
		f := all[i]
		if minEnd < f.begin {
			a := all[minAt]
			t.Fatalf("record %d of writer %d returned (tick %d) before record %d of writer %d began (tick %d), but reached the sink after it (call %d vs %d)",
				a.k, a.g, a.end, f.k, f.g, f.begin, a.call, f.call)
		}
		if f.end < minEnd {
			minEnd, minAt = f.end, i
		}
	}

	// Barriers: every record found whose Write ended before the barrier
	// began is in a call the sink had when the barrier returned; for
	// Close, every accepted record.
	byEnd := append([]found(nil), all...)
	sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].end < byEnd[j].end })
	maxCall := make([]int, len(byEnd)) // max call among byEnd[:i+1]
	for i, f := range byEnd {
		maxCall[i] = f.call
		if i > 0 {
			maxCall[i] = max(maxCall[i], maxCall[i-1])
		}
	}
	for _, b := range res.barriers {
		if errors.Is(b.err, ErrTimeout) {
			continue
		}
		i := sort.Search(len(byEnd), func(i int) bool { return byEnd[i].end >= b.begin })
		if i > 0 && maxCall[i-1] >= b.calls {
			for _, f := range byEnd[:i] {
				if f.call >= b.calls {
					t.Fatalf("%s (tick %d) returned with %d sink calls, but record %d of writer %d, whose Write returned at tick %d, is in call %d",
						b.kind, b.begin, b.calls, f.k, f.g, f.end, f.call)
				}
			}
		}
	}
	if res.closeEnd >= 0 {
		for _, f := range all {
			if res.writes[f.g][f.k].ok && f.call >= res.closeEnd {
				t.Fatalf("Close returned with %d sink calls, but accepted record %d of writer %d is in call %d", res.closeEnd, f.k, f.g, f.call)
			}
		}
	}
	return places
}

// reviewLengths returns a length function: mostly short records, with a
// share of the edges of the paths a record can take for each size in
// sizes (the buffer sizes the Writer goes through): size-8 (fills an
// empty buffer exactly), size-7 (one byte too many), size/2 around the
// high-water mark, and records of several buffers.
func reviewLengths(seed uint64, minLen, maxShort int, sizes ...int) func(g, k int) int {
	var edges []int
	for _, size := range sizes {
		edges = append(edges, size-9, size-8, size-7, size-1, size, size+1, size/2-8, size/2, 2*size+3, 3*size)
	}
	return func(g, k int) int {
		h := mix(seed ^ uint64(g)<<32 ^ uint64(k) ^ 0x5bd1e995)
		n := 1 + int(h>>16)%maxShort
		if h%100 < 4 {
			n = edges[(h>>8)%uint64(len(edges))]
		}
		return max(n, minLen)
	}
}

func reviewCheckStats(t *testing.T, w *Writer, s *reviewSink) {
	t.Helper()
	st := w.Stats()
	assert.Equal(t, st.Records, st.WrittenRecords+st.LostRecords, "records %+v", st)
	assert.Equal(t, st.Bytes, st.WrittenBytes+st.LostBytes, "bytes %+v", st)
	s.mu.Lock()
	assert.Equal(t, uint64(s.all), st.Flushes, "sink calls")
	s.mu.Unlock()
	assert.False(t, s.overlap.Load(), "two sink calls overlapped")
}

type reviewCase struct {
	name  string
	opts  []Option
	run   reviewRun
	delay time.Duration
	spool bool   // with a spool (after one swap: see TestReviewSpoolLargeRecordWaitsForEarlierRecords)
	epoch uint64 // if set, the epoch count starts here, to run through the wrap of the tags
}

const tiny = MinBufferSize

// TestReviewOrderAndBarriers runs the checker over the configurations the
// guarantees must hold in.
func TestReviewOrderAndBarriers(t *testing.T) {
	reviewCases(t, []reviewCase{
		{name: "block/tiny", opts: []Option{WithBufferSize(tiny)},
			run:   reviewRun{writers: 8, records: 600, length: reviewLengths(1, 1, 24, tiny), syncers: 2},
			delay: 30 * time.Microsecond},
		{name: "block/4k/maxwrite", opts: []Option{WithBufferSize(4096), WithMaxWriteSize(700)},
			run:   reviewRun{writers: 8, records: 500, length: reviewLengths(2, 1, 300, 4096), maxWrite: 700, syncers: 2},
			delay: 50 * time.Microsecond},
		{name: "block/growth", opts: []Option{WithBufferSize(1 << 20)},
			run:   reviewRun{writers: 4, records: 120, length: reviewLengths(3, 1, 2000, 64<<10, 256<<10, 1<<20), syncers: 1},
			delay: 100 * time.Microsecond},
		{name: "block/tiny/close-race", opts: []Option{WithBufferSize(tiny)},
			run:   reviewRun{writers: 8, records: 100000, length: reviewLengths(4, 1, 24, tiny), syncers: 2, closeAt: 30 * time.Millisecond, closers: 3},
			delay: 20 * time.Microsecond},
		{name: "block/4k/close-race", opts: []Option{WithBufferSize(4096), WithMaxWriteSize(1000)},
			run: reviewRun{writers: 8, records: 100000, length: reviewLengths(5, 1, 300, 4096), maxWrite: 1000, syncers: 1, closeAt: 40 * time.Millisecond, closers: 2},
		},
		{name: "drop/wait-mix", opts: []Option{WithBufferSize(512), WithOverflow(Drop)},
			run: reviewRun{writers: 8, records: 800, length: reviewLengths(6, 4, 100, 512), drop: true, syncers: 1,
				wait: func(g, k int) bool { return (g+k)%3 == 0 }, pause: func(g, k int) { runtime.Gosched() }},
			delay: 100 * time.Microsecond},
		{name: "drop/tiny/close-race", opts: []Option{WithBufferSize(tiny), WithOverflow(Drop)},
			run: reviewRun{writers: 8, records: 100000, length: reviewLengths(7, 4, 24, tiny), drop: true, syncers: 2,
				wait: func(g, k int) bool { return k%5 == 0 }, closeAt: 30 * time.Millisecond, closers: 2},
			delay: 20 * time.Microsecond},
		{name: "drop/growth", opts: []Option{WithBufferSize(1 << 20), WithOverflow(Drop), WithMaxWriteSize(100 << 10)},
			run: reviewRun{writers: 4, records: 120, length: reviewLengths(8, 4, 2000, 64<<10, 256<<10, 1<<20), drop: true, syncers: 1,
				maxWrite: 100 << 10, wait: func(g, k int) bool { return k%2 == 0 }},
			delay: 100 * time.Microsecond},
		{name: "block/tiny/tag-wrap", opts: []Option{WithBufferSize(tiny)}, epoch: 1<<32 - 40,
			run:   reviewRun{writers: 4, records: 300, length: reviewLengths(15, 1, 24, tiny), syncers: 1},
			delay: 20 * time.Microsecond},
	})
}

// TestReviewSpoolOrderAndBarriers is TestReviewOrderAndBarriers with a
// spool (under the race detector too, since the epoch tag is atomic: see
// TestReviewSpoolRaceDetector).
func TestReviewSpoolOrderAndBarriers(t *testing.T) {
	reviewCases(t, []reviewCase{
		{name: "block/spool/maxwrite", opts: []Option{WithBufferSize(4096), WithMaxWriteSize(900)}, spool: true,
			run:   reviewRun{writers: 8, records: 400, length: reviewLengths(13, 1, 300, 4096), maxWrite: 900, syncers: 2},
			delay: 50 * time.Microsecond},
		{name: "drop/spool/close-race", opts: []Option{WithBufferSize(256), WithOverflow(Drop)}, spool: true,
			run: reviewRun{writers: 8, records: 100000, length: reviewLengths(14, 4, 60, 256), drop: true, syncers: 1,
				wait: func(g, k int) bool { return k%3 == 0 }, closeAt: 30 * time.Millisecond, closers: 2},
			delay: 20 * time.Microsecond},
		{name: "block/spool/tag-wrap", opts: []Option{WithBufferSize(128)}, spool: true, epoch: 3<<32 - 40,
			run:   reviewRun{writers: 4, records: 300, length: reviewLengths(16, 1, 50, 128), syncers: 1},
			delay: 20 * time.Microsecond},
	})
}

func reviewCases(t *testing.T, cases []reviewCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &reviewSink{delay: c.delay}
			if c.spool {
				c.opts = append(c.opts, WithSpool(filepath.Join(t.TempDir(), "review.spool")))
			}
			w := newWriter(t, append([]Option{WithSink(s), WithFlushInterval(time.Millisecond)}, c.opts...)...)
			if c.spool {
				require.NotNil(t, w.spool)
			}
			if c.epoch != 0 {
				w.mu.Lock()
				w.epoch = c.epoch
				w.mu.Unlock()
			}
			if c.spool {
				warm := []byte("W-warm\n")
				_, err := w.Write(warm)
				require.NoError(t, err)
				require.NoError(t, w.Sync())
				c.run.foreign = append(c.run.foreign, warm)
			}
			c.run.seed = uint64(len(c.name))
			res := c.run.run(t, w, s)
			for _, b := range res.barriers {
				assert.NoError(t, b.err, "%s", b.kind)
			}
			places := c.run.check(t, res, !c.run.drop)
			reviewCheckStats(t, w, s)
			found, closed := 0, 0
			for g := range places {
				for k := range places[g] {
					if places[g][k].found {
						found++
					}
					if res.writes[g][k].closed {
						closed++
					}
				}
			}
			st := w.Stats()
			if c.epoch != 0 {
				w.mu.Lock()
				epoch := w.epoch
				w.mu.Unlock()
				assert.Greater(t, epoch, c.epoch&^(1<<32-1)+1<<32, "the tags went round")
			}
			t.Logf("%d records in %d sink calls, %d barriers, %d Writes refused by Close, %d dropped, %d waits",
				found, len(res.calls), len(res.barriers), closed, st.DroppedRecords, st.Waits)
			if c.run.closeAt > 0 {
				// Writes after Close fail.
				_, err := w.Write([]byte("late"))
				assert.ErrorIs(t, err, ErrClosed)
			}
		})
	}
}

// TestReviewFailingSink runs the checker with a sink that fails one call
// in eight with an error, one in eight with a short write and one in eight
// with a panic: the records of the calls that succeeded still obey every
// guarantee, and the Stats add up.
func TestReviewFailingSink(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &reviewSink{delay: 20 * time.Microsecond, fail: func(call int, p []byte) (int, error) {
				switch mix(uint64(call)) % 8 {
				case 0:
					return 0, errSink
				case 1:
					return len(p) / 2, nil
				case 2:
					panic("review: sink panics")
				}
				return len(p), nil
			}}
			var errs atomic.Int64
			w := newWriter(t, WithSink(s), WithBufferSize(256), WithOverflow(policy), WithMaxWriteSize(200),
				WithErrorHandler(func(error) { errs.Add(1) }))
			r := reviewRun{seed: 9, writers: 6, records: 600, length: reviewLengths(9, 4, 80, 256), maxWrite: 200,
				drop: policy == Drop, syncers: 1, sinkLoses: true}
			res := r.run(t, w, s)
			r.check(t, res, false)
			reviewCheckStats(t, w, s)
			st := w.Stats()
			assert.NotZero(t, st.LostRecords)
			assert.NotZero(t, errs.Load())
		})
	}
}

// TestReviewCheckerCatchesViolations makes sure the checker is not
// vacuous: a sink that holds one call back and delivers it later breaks
// the order or a barrier, and the checker says so.
func TestReviewCheckerCatchesViolations(t *testing.T) {
	r := reviewRun{seed: 1, writers: 2, records: 4, length: func(g, k int) int { return 10 }}
	mk := func(g, k int) []byte { return reviewRecord(nil, r.seed, g, k, 10) }
	writes := [][]reviewWrite{
		{{begin: 1, end: 2, ok: true, done: true}, {begin: 3, end: 4, ok: true, done: true}, {begin: 9, end: 10, ok: true, done: true}, {begin: 11, end: 12, ok: true, done: true}},
		{{begin: 5, end: 6, ok: true, done: true}, {begin: 7, end: 8, ok: true, done: true}, {begin: 13, end: 14, ok: true, done: true}, {begin: 15, end: 16, ok: true, done: true}},
	}
	good := [][]byte{bytesOf(mk(0, 0), mk(0, 1)), bytesOf(mk(1, 0), mk(1, 1), mk(0, 2), mk(0, 3)), bytesOf(mk(1, 2), mk(1, 3))}
	// A correct history passes.
	assert.False(t, reviewCheckFails(r, reviewResult{writes: writes, calls: good, closeEnd: 3,
		barriers: []reviewBarrier{{begin: 9, calls: 2, kind: "sync"}}}), "a correct history")
	// The checker's failure paths are exercised by swapping calls: a
	// record of writer 1 (which began after writer 0's first two
	// returned) ahead of them.
	bad := [][]byte{bytesOf(mk(1, 0), mk(1, 1)), bytesOf(mk(0, 0), mk(0, 1), mk(0, 2), mk(0, 3)), bytesOf(mk(1, 2), mk(1, 3))}
	assert.True(t, reviewCheckFails(r, reviewResult{writes: writes, calls: bad, closeEnd: 3}), "order violation")
	// A Sync that began at tick 9 returned with one call only: writer 1's
	// first records (ended at 6 and 8) are in call 1.
	assert.True(t, reviewCheckFails(r, reviewResult{writes: writes, calls: good, closeEnd: 3,
		barriers: []reviewBarrier{{begin: 9, calls: 1, kind: "sync"}}}), "sync violation")
	// Close returned with two calls: the third holds accepted records.
	assert.True(t, reviewCheckFails(r, reviewResult{writes: writes, calls: good, closeEnd: 2}), "close violation")
	// A record missing.
	assert.True(t, reviewCheckFails(r, reviewResult{writes: writes, calls: good[:2], closeEnd: 2}), "missing")
	// A record split across calls.
	split := [][]byte{good[0][:5], good[0][5:], good[1], good[2]}
	assert.True(t, reviewCheckFails(r, reviewResult{writes: writes, calls: split, closeEnd: 4}), "split")
}

// reviewT is what check needs of a testing.T, so that the checker's own
// test can run it on a T that only records failure.
type reviewT interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	FailNow()
}

type reviewFakeT struct{ failed bool }

func (f *reviewFakeT) Helper()               {}
func (f *reviewFakeT) Errorf(string, ...any) { f.failed = true }
func (f *reviewFakeT) Fatalf(string, ...any) { f.failed = true; runtime.Goexit() }
func (f *reviewFakeT) FailNow()              { f.failed = true; runtime.Goexit() }

// reviewCheckFails reports whether check fails on res, run in a goroutine
// of its own (a fatal failure ends that goroutine).
func reviewCheckFails(r reviewRun, res reviewResult) bool {
	inner := &reviewFakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.check(inner, res, true)
	}()
	<-done
	return inner.failed
}
