package core

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewReentrantSinkAndHandler runs the checker against a sink that
// calls back into the Writer it serves, on the writer goroutine: it writes
// short records back (Write and WriteWait), records too long for a buffer
// (dropped: the writer goroutine cannot wait for itself), calls Sync and
// Close (ErrReentrant), fails now and then with an error, a short write or
// a panic; and an error handler that logs every error through the Writer
// and calls Sync. The writers' records obey every guarantee, nothing
// waits for itself, and the Stats add up.
func TestReviewReentrantSinkAndHandler(t *testing.T) {
	const size = 512
	short := []byte("R-short\n")
	shortWait := []byte("R-wait\n")
	long := append([]byte("R-long"), bytes.Repeat([]byte{'-'}, 2*size)...)
	handled := []byte("E-handler\n")
	for _, policy := range []Overflow{Block, Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			var wp atomic.Pointer[Writer]
			var bad atomic.Value // an unexpected error from a reentrant call
			expect := func(what string, err error, want error) {
				// During Close, Writes from the writer goroutine are refused.
				if !errors.Is(err, want) && !(want == nil && errors.Is(err, ErrClosed)) {
					bad.Store(what + ": " + errString(err))
				}
			}
			s := &reviewSink{delay: 20 * time.Microsecond, fail: func(call int, p []byte) (int, error) {
				w := wp.Load()
				switch call % 16 {
				case 1, 5:
					_, err := w.Write(short)
					expect("Write", err, nil)
				case 2:
					_, err := w.WriteWait(shortWait)
					expect("WriteWait", err, nil)
				case 3:
					_, err := w.WriteWait(long)
					expect("WriteWait long", err, nil)
				case 4:
					expect("Sync", w.Sync(), ErrReentrant)
				case 6:
					expect("Close", w.Close(), ErrReentrant)
				case 7:
					return 0, errSink
				case 8:
					return len(p) - 1, nil
				case 9:
					panic("review: sink panics")
				}
				return len(p), nil
			}}
			w := newWriter(t, WithSink(s), WithBufferSize(size), WithOverflow(policy), WithNotices(TextNotice),
				WithErrorHandler(func(err error) {
					w := wp.Load()
					_, werr := w.Write(handled)
					expect("handler Write", werr, nil)
					expect("handler Sync", w.Sync(), ErrReentrant)
				}))
			wp.Store(w)
			r := reviewRun{seed: 11, writers: 6, records: 500, length: reviewLengths(11, 4, 120, size),
				drop: policy == Drop, syncers: 1, sinkLoses: true, wait: func(g, k int) bool { return k%4 == 0 },
				pause: func(g, k int) {
					if k%8 == 0 {
						time.Sleep(50 * time.Microsecond) // leave the sink room to write back
					}
				},
				foreign: [][]byte{short, shortWait, handled, []byte("asynclog: ")}}
			res := r.run(t, w, s)
			// Notices are text lines: let the parser skip them.
			for i, c := range res.calls {
				res.calls[i] = stripNotices(c)
			}
			r.check(t, res, false)
			reviewCheckStats(t, w, s)
			if v := bad.Load(); v != nil {
				t.Errorf("a reentrant call returned what it should not: %v", v)
			}
			st := w.Stats()
			t.Logf("%d sink calls, %+v", s.all, st)
			assert.Greater(t, s.all, 50)
			assert.NotZero(t, st.LostRecords)
			assert.NotZero(t, st.DroppedRecords, "the long records written back")
			assert.Contains(t, string(bytes.Join(res.calls, nil)), string(short))
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// stripNotices removes the text notices (one line each, starting
// "asynclog: ") that a call may hold: a notice is a call of its own.
func stripNotices(c []byte) []byte {
	if bytes.HasPrefix(c, []byte("asynclog: ")) {
		return nil
	}
	return c
}

// TestReviewSinkClosesFromAnotherGoroutine: a sink that starts Close on a
// goroutine of its own (not waiting for it) in the middle of a run. Writes
// start failing with ErrClosed, every accepted record arrives, and
// nothing hangs.
func TestReviewSinkClosesFromAnotherGoroutine(t *testing.T) {
	var wp atomic.Pointer[Writer]
	closed := make(chan error, 1)
	s := &reviewSink{delay: 20 * time.Microsecond, fail: func(call int, p []byte) (int, error) {
		if call == 40 {
			go func() { closed <- wp.Load().Close() }()
		}
		return len(p), nil
	}}
	w := newWriter(t, WithSink(s), WithBufferSize(256))
	wp.Store(w)
	r := reviewRun{seed: 12, writers: 6, records: 100000, length: reviewLengths(12, 1, 60, 256), syncers: 1}
	res := r.run(t, w, s)
	require.NoError(t, <-closed)
	r.check(t, res, true)
	reviewCheckStats(t, w, s)
}
