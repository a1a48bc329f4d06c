package core

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyncIsBarrier checks that when Sync returns, every record written
// before it is in the sink and the sink's Sync was called after the last of
// them.
func TestSyncIsBarrier(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(newFakeClock()))
	var want [][]byte
	for round := range 3 {
		for _, n := range []int{10, 50, 200, 20} { // 200 goes straight to the sink
			r := rec(string(rune('a'+round)), n)
			_, err := w.Write(r)
			require.NoError(t, err)
			want = append(want, r)
		}
		require.NoError(t, w.Sync())
		assertWholeRecords(t, s.Calls(), want)
		ev := s.Events()
		assert.Equal(t, "sync", ev[len(ev)-1], "the sink is synced after the records: %v", ev)
	}
}

// TestSyncWithoutSinkSyncMethod checks that Sync is still a barrier for a
// sink that has no Sync method.
func TestSyncWithoutSinkSyncMethod(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(writerOnly{s}), withClock(newFakeClock()))
	r := rec("plain", 30)
	_, err := w.Write(r)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	assert.Equal(t, string(r), string(s.Data()))
	assert.Equal(t, []string{"write"}, s.Events())
}

// TestSyncIsBarrierUnderConcurrentWrites checks the barrier while writers
// keep writing: after each Sync, the sink holds at least every record whose
// Write had returned when Sync was called, and what it holds so far is
// whole records in each writer's order.
func TestSyncIsBarrierUnderConcurrentWrites(t *testing.T) {
	s := &recSink{}
	const size = 512
	w := newWriter(t, WithSink(s), WithBufferSize(size), withClock(newFakeClock()))
	st := streams{seed: 17, writers: 6, records: 2000, size: size, minLen: 1, maxLen: 2 * size}
	returned := make([]atomic.Int64, st.writers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.run(t, func(g, k int, p []byte) (int, error) {
			n, err := w.Write(p)
			returned[g].Store(int64(k + 1))
			return n, err
		})
	}()
	next := make([]int, st.writers) // records of each writer found so far
	parsed := 0                     // sink calls parsed so far
	syncs := 0
	for running := true; running; syncs++ {
		select {
		case <-done:
			running = false
		default:
		}
		runtime.Gosched() // let the writers write between Syncs
		before := make([]int, st.writers)
		for g := range before {
			before[g] = int(returned[g].Load())
		}
		require.NoError(t, w.Sync())
		calls := s.Calls()
		require.NoError(t, st.walkStrict(calls[parsed:], next))
		parsed = len(calls)
		for g := range before {
			require.GreaterOrEqual(t, next[g], before[g], "after Sync %d, writer %d", syncs, g)
		}
	}
	require.NoError(t, st.parseStrict(s.Calls()))
}

// TestSyncIgnoresCannotSyncErrors checks that the errors fsync gives for a
// terminal or a pipe (EINVAL, ENOTSUP, ENOTTY) are neither returned nor
// reported nor counted.
func TestSyncIgnoresCannotSyncErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.ENOTSUP, syscall.ENOTTY} {
		t.Run(errno.Error(), func(t *testing.T) {
			var log errorLog
			s := &recSink{sync: func() error { return &fs.PathError{Op: "sync", Path: "/dev/stderr", Err: errno} }}
			w := newWriter(t, WithSink(s), WithErrorHandler(log.handle), withClock(newFakeClock()))
			_, err := w.Write(rec("x", 10))
			require.NoError(t, err)
			assert.NoError(t, w.Sync())
			assert.NoError(t, w.Close())
			assert.Empty(t, log.Errors())
			assert.Zero(t, w.Stats().SinkErrors)
			assert.Equal(t, []string{"write", "sync", "sync"}, s.Events(), "the sink was synced")
		})
	}
}

// TestSyncReturnsSinkSyncError checks that any other error from the sink's
// Sync is returned by Sync, reported and counted.
func TestSyncReturnsSinkSyncError(t *testing.T) {
	var log errorLog
	var fail atomic.Bool
	fail.Store(true)
	s := &recSink{sync: func() error {
		if fail.Load() {
			return &fs.PathError{Op: "sync", Path: "log", Err: syscall.EIO}
		}
		return nil
	}}
	w := newWriter(t, WithSink(s), WithErrorHandler(log.handle), withClock(newFakeClock()))
	err := w.Sync()
	assert.ErrorIs(t, err, syscall.EIO)
	require.Len(t, log.Errors(), 1)
	assert.ErrorIs(t, log.Errors()[0], syscall.EIO)
	assert.Equal(t, uint64(1), w.Stats().SinkErrors)
	fail.Store(false)
	assert.NoError(t, w.Sync())
}

// TestSyncReturnsFirstErrorSinceLastSync checks that Sync returns the
// first sink error since the previous Sync, not a later one, and nil at the
// next Sync if nothing new failed.
func TestSyncReturnsFirstErrorSinceLastSync(t *testing.T) {
	err1, err2 := errors.New("first failure"), errors.New("second failure")
	var calls atomic.Int32
	s := &recSink{write: func(p []byte) (int, error) {
		switch calls.Add(1) {
		case 1:
			return 0, err1
		case 2:
			return 0, err2
		}
		return len(p), nil
	}}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithErrorHandler(log.handle), withClock(newFakeClock()))
	// The first record is written at once and fails; the second waits in
	// the buffer (the fake clock's interval never passes) until Sync
	// writes it, and fails too.
	_, err := w.Write(rec("small", 10))
	require.NoError(t, err)
	eventually(t, "the first sink write", func() bool { return calls.Load() == 1 })
	_, err = w.Write(rec("second", 40))
	require.NoError(t, err)

	err = w.Sync()
	require.Equal(t, int32(2), calls.Load())
	assert.ErrorIs(t, err, err1)
	assert.NotErrorIs(t, err, err2)
	assert.NoError(t, w.Sync(), "nothing failed since the last Sync")

	ok := rec("ok", 10)
	_, err = w.Write(ok)
	require.NoError(t, err)
	assert.NoError(t, w.Sync())
	assert.Equal(t, string(ok), string(s.Data()))
	require.Len(t, log.Errors(), 2)
	assert.ErrorIs(t, log.Errors()[0], err1)
	assert.ErrorIs(t, log.Errors()[1], err2)
}

// TestSyncTimesOutOnBlockedSinkWrite checks that Sync returns an error
// matching ErrTimeout when the sink is stuck in Write, and that the record
// still arrives once the sink goes on.
func TestSyncTimesOutOnBlockedSinkWrite(t *testing.T) {
	w, s, g := newGatedWriter(t, WithSyncTimeout(100*time.Millisecond), withClock(newFakeClock()))
	r := rec("stuck", 10)
	_, err := w.Write(r)
	require.NoError(t, err)
	err = w.Sync()
	assert.ErrorIs(t, err, ErrTimeout)

	g.open()
	_ = w.Close() // may time out too on a slow machine; what matters is below
	<-w.done
	assert.Equal(t, string(r), string(s.Data()))
}

// TestSyncTimesOutOnBlockedSinkSync checks that Sync returns an error
// matching ErrTimeout when the sink's own Sync never returns.
func TestSyncTimesOutOnBlockedSinkSync(t *testing.T) {
	g := newGate()
	s := &recSink{sync: func() error { g.pass(); return nil }}
	w := newWriter(t, WithSink(s), WithSyncTimeout(100*time.Millisecond), withClock(newFakeClock()))
	t.Cleanup(g.open)
	_, err := w.Write(rec("x", 10))
	require.NoError(t, err)
	assert.ErrorIs(t, w.Sync(), ErrTimeout)
	g.waitEntered(t)
}

// TestSyncAfterCloseReturnsNil checks that Sync after Close does nothing and
// returns nil.
func TestSyncAfterCloseReturnsNil(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), withClock(newFakeClock()))
	require.NoError(t, w.Close())
	events := len(s.Events())
	assert.NoError(t, w.Sync())
	assert.Len(t, s.Events(), events, "Sync after Close does not touch the sink")
}

// TestConcurrentSyncsAllReturn checks that Syncs called concurrently from
// many goroutines all return nil and each is a barrier for its caller.
func TestConcurrentSyncsAllReturn(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(newFakeClock()))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				r := rec(string(rune('a'+i)), 5+j)
				_, err := w.Write(r)
				assert.NoError(t, err)
				assert.NoError(t, w.Sync())
				assert.Contains(t, string(s.Data()), string(r))
			}
		}()
	}
	wg.Wait()
}

// TestCloseRefusesLaterWrites checks that after Close, Write and WriteWait
// of any size return (0, ErrClosed) under both policies and each refused
// record is counted as dropped.
func TestCloseRefusesLaterWrites(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			s := &recSink{}
			w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(policy), withClock(newFakeClock()))
			require.NoError(t, w.Close())
			var dropped uint64
			for _, n := range []int{1, 32, 33, 64, 65, 500} {
				for _, write := range []func([]byte) (int, error){w.Write, w.WriteWait} {
					got, err := write(rec("late", n))
					assert.ErrorIs(t, err, ErrClosed, "len %d", n)
					assert.Zero(t, got, "len %d", n)
					dropped += uint64(n)
				}
			}
			st := w.Stats()
			assert.Equal(t, uint64(12), st.DroppedRecords)
			assert.Equal(t, dropped, st.DroppedBytes)
			assert.Empty(t, s.Calls())
		})
	}
}

// TestCloseDrainsAndSyncsButDoesNotCloseSink checks that Close hands every
// accepted record to the sink, then syncs it, and never calls its Close.
func TestCloseDrainsAndSyncsButDoesNotCloseSink(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(newFakeClock()))
	var want [][]byte
	for i := range 20 {
		r := rec(string(rune('a'+i)), 7*i+1)
		_, err := w.Write(r)
		require.NoError(t, err)
		want = append(want, r)
	}
	require.NoError(t, w.Close())
	assertWholeRecords(t, s.Calls(), want)
	ev := s.Events()
	assert.Equal(t, "sync", ev[len(ev)-1], "the sink is synced last: %v", ev)
	assert.NotContains(t, ev, "close")
	st := w.Stats()
	assert.Equal(t, uint64(20), st.Records)
	assert.Equal(t, uint64(20), st.WrittenRecords)
}

// TestCloseIsIdempotent checks that every Close returns the same result: nil
// for a healthy sink, and the same sink error for one that failed.
func TestCloseIsIdempotent(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		s := &recSink{}
		w := newWriter(t, WithSink(s), withClock(newFakeClock()))
		assert.NoError(t, w.Close())
		assert.NoError(t, w.Close())
		assert.Equal(t, 1, countOf(s.Events(), "sync"), "the sink is synced once")
	})
	t.Run("failed", func(t *testing.T) {
		s := &recSink{write: func(p []byte) (int, error) { return 0, errSink }}
		w := newWriter(t, WithSink(s), WithErrorHandler(func(error) {}), withClock(newFakeClock()))
		_, err := w.Write(rec("x", 10))
		require.NoError(t, err)
		err1 := w.Close()
		assert.ErrorIs(t, err1, errSink)
		assert.Equal(t, err1, w.Close())
	})
}

// TestCloseConcurrentWithWritesAndItself checks that Close is safe while
// other goroutines write and close: all Closes return nil; every Write
// returns either (len(p), nil) or, once and for ever after, ErrClosed; and
// the sink gets every record whose Write returned nil exactly once, whole,
// in order, and no other.
func TestCloseConcurrentWithWritesAndItself(t *testing.T) {
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			const size = 512
			s := &recSink{}
			w := newWriter(t, WithSink(s), WithBufferSize(size), WithOverflow(policy), WithFlushInterval(time.Millisecond))
			st := streams{seed: 19, writers: 8, records: 1 << 20, size: size, minLen: 4, maxLen: 2 * size}
			accepted := make([]int, st.writers)
			var refused atomic.Uint64
			var wg sync.WaitGroup
			for g := range st.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var buf []byte
					for k := range st.records {
						buf = st.record(buf[:0], g, k)
						// WriteWait: under Drop, nil must mean delivered.
						n, err := w.WriteWait(buf)
						if err != nil {
							assert.ErrorIs(t, err, ErrClosed)
							assert.Zero(t, n)
							break
						}
						assert.Equal(t, len(buf), n)
						accepted[g]++
					}
					refused.Add(1)
					for range 3 {
						_, err := w.WriteWait(buf)
						assert.ErrorIs(t, err, ErrClosed, "a Write after one refused by Close")
						refused.Add(1)
					}
				}()
			}
			s.waitForData(t, 10*size)
			var closers sync.WaitGroup
			for range 4 {
				closers.Add(1)
				go func() {
					defer closers.Done()
					assert.NoError(t, w.Close())
				}()
			}
			closers.Wait()
			wg.Wait()

			delivered, err := st.parseLossy(s.Calls(), func(g, k int) bool { return k < accepted[g] })
			require.NoError(t, err)
			total := 0
			for _, n := range accepted {
				total += n
			}
			assert.Equal(t, total, delivered, "records refused by Close reached the sink")
			stats := w.Stats()
			assert.Equal(t, uint64(total), stats.Records)
			assert.Equal(t, uint64(total), stats.WrittenRecords)
			assert.Equal(t, refused.Load(), stats.DroppedRecords)
		})
	}
}

// TestCloseReleasesWaitingWriter checks that a Write waiting for room under
// Block when Close is called returns ErrClosed at once, even though the sink
// is still stuck, and its record is counted as dropped, while every record
// accepted before Close still arrives once the sink goes on.
func TestCloseReleasesWaitingWriter(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(64), WithSyncTimeout(100*time.Millisecond), withClock(newFakeClock()))
	var accepted [][]byte
	for i := range 3 { // 32-byte frames: one in the stuck buffer, two fill the other one
		r := rec(fmt.Sprint("r", i), 24)
		_, err := w.Write(r)
		require.NoError(t, err)
		accepted = append(accepted, r)
		if i == 0 {
			g.waitEntered(t)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(rec("waiting", 16))
		done <- err
	}()
	eventually(t, "a Write waits for room", func() bool { return w.Stats().Waits > 0 })

	assert.ErrorIs(t, w.Close(), ErrTimeout)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(waitLimit):
		t.Fatal("the waiting Write did not return after Close")
	}
	assert.Equal(t, uint64(1), w.Stats().DroppedRecords)

	g.open()
	<-w.done
	assert.Equal(t, string(bytesOf(accepted...)), string(s.Data()))
}

// TestCloseTimesOutOnBlockedSink checks that Close returns an error matching
// ErrTimeout when the sink is stuck, and that the writer goroutine finishes
// the job once the sink goes on.
func TestCloseTimesOutOnBlockedSink(t *testing.T) {
	w, s, g := newGatedWriter(t, WithSyncTimeout(100*time.Millisecond), withClock(newFakeClock()))
	r := rec("stuck", 10)
	_, err := w.Write(r)
	require.NoError(t, err)
	assert.ErrorIs(t, w.Close(), ErrTimeout)
	_, err = w.Write(r)
	assert.ErrorIs(t, err, ErrClosed, "the Writer is closed even though Close timed out")

	g.open()
	<-w.done
	assert.Equal(t, string(r), string(s.Data()))
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestCloseReleasesWaitingLargeWrite checks that a record too large for the
// buffers, waiting for a stuck sink, gives up with ErrClosed when Close
// comes, like a small one, instead of waiting for the sink.
func TestCloseReleasesWaitingLargeWrite(t *testing.T) {
	w, s, g := newGatedWriter(t, WithBufferSize(64), WithSyncTimeout(100*time.Millisecond), withClock(newFakeClock()))
	// Two records pass the high-water mark: the writer goroutine takes
	// them to the sink, which sticks.
	first := append(rec("a", 20), rec("b", 20)...)
	_, err := w.Write(first[:20])
	require.NoError(t, err)
	_, err = w.Write(first[20:])
	require.NoError(t, err)
	g.waitEntered(t)

	done := make(chan error, 1)
	go func() {
		_, err := w.Write(rec("large", 100))
		done <- err
	}()
	eventually(t, "the large Write waits for the sink", func() bool { return w.Stats().Waits > 0 })

	assert.ErrorIs(t, w.Close(), ErrTimeout)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(waitLimit):
		t.Fatal("the waiting large Write did not return after Close")
	}
	assert.Equal(t, uint64(1), w.Stats().DroppedRecords)

	g.open()
	<-w.done
	assert.Equal(t, string(first), string(s.Data()))
}

// TestSyncRacingCloseIsStillABarrier checks that a Sync that meets a
// concurrent Close still returns only after the records written before it
// are in the sink: Close seals the active buffer, and the writer goroutine
// must then finish the shutdown before it answers the Sync.
func TestSyncRacingCloseIsStillABarrier(t *testing.T) {
	for i := range 200 {
		s := &recSink{}
		w := New(WithSink(s), withClock(newFakeClock()))
		r := rec(fmt.Sprint("before-sync-", i), 32)
		_, err := w.Write(r)
		require.NoError(t, err)

		closed := make(chan error, 1)
		go func() { closed <- w.Close() }()
		require.NoError(t, w.Sync())
		require.Equal(t, string(r), string(s.Data()), "round %d: Sync returned before the record reached the sink", i)
		require.NoError(t, <-closed)
	}
}
