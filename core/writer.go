package core

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("asynclog: writer closed")

	// ErrTimeout is matched (with errors.Is) by the error Sync and Close
	// return when the sink has not finished within the sync timeout.
	ErrTimeout = errors.New("asynclog: sink did not finish in time")

	// ErrSinkPanic is matched by the error reported when the sink panics
	// inside Write or Sync. The panic is recovered and the writer goroutine
	// goes on.
	ErrSinkPanic = errors.New("asynclog: sink panicked")
)

// A Writer is an io.Writer that copies each record into one of two
// fixed-size buffers and leaves the sink to a background goroutine. See the
// package documentation for the design and its guarantees.
//
// A Writer is safe for concurrent use. New starts its goroutine; you must
// call Close to flush what is left and stop it. Close does not close the
// sink.
type Writer struct {
	// Read by every Write; changed once per swap.
	cur     atomic.Pointer[buffer] // the buffer accepting records
	size    uint64                 // bytes in each buffer
	high    uint64                 // high-water mark: wake the writer goroutine here
	maxFast int                    // longer records skip the buffers (Block) or are dropped (Drop)
	drop    bool                   // Overflow is Drop
	_       cacheLinePad

	// timing is set while the flush timer runs, so that a record landing
	// in an empty buffer need not wake the writer goroutine to start it.
	timing atomic.Bool
	_      cacheLinePad

	cfg   config
	wake  chan struct{}   // non-blocking nudges for the writer goroutine
	syncs chan chan error // Sync requests
	done  chan struct{}   // closed when the writer goroutine has exited

	closeErr error // what Close returns; written before done is closed

	// sinkMu serializes the calls to the sink: the writes of whoever
	// holds the spare buffer or writes a large record, and Sync's.
	sinkMu sync.Mutex

	// mu guards the fields below. It is taken on the slow paths only and
	// never held while calling the sink or waiting for a drain.
	mu      sync.Mutex
	room    sync.Cond     // broadcast when the spare buffer becomes free and at Close
	spare   *buffer       // the buffer that is not cur
	spareAt atomic.Int32  // a spareState; written under mu, read without it by the drop check
	closed  atomic.Bool   // written under mu
	closing chan struct{} // closed by Close to stop the writer goroutine
	err     error         // first sink error since the last Sync

	// sealed counts the buffers swapped out so far, and written is the
	// count of the last one written, so that flush knows when what it
	// must write is out.
	sealed, written uint64

	stats counters
}

// spareState says where the spare buffer is in its cycle.
type spareState int

const (
	spareFree spareState = iota // empty and ready to become cur
	spareFull                   // sealed, waiting to be written
	spareBusy                   // claimed: its holder is writing it and frees it with writeOut
)

func (w *Writer) spareState() spareState { return spareState(w.spareAt.Load()) }
func (w *Writer) setSpare(s spareState)  { w.spareAt.Store(int32(s)) }

// New returns a Writer configured by opts and starts its writer goroutine.
// It never fails: options out of range are replaced by their defaults or
// bounds (see each Option).
func New(opts ...Option) *Writer {
	cfg := newConfig(opts)
	size := cfg.bufferSize
	w := &Writer{
		size:    uint64(size),
		high:    uint64(min(size/2, maxHighWater)),
		maxFast: size / 2,
		drop:    cfg.overflow == Drop,
		cfg:     cfg,
		wake:    make(chan struct{}, 1),
		syncs:   make(chan chan error),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		spare:   newBuffer(size),
	}
	if w.drop {
		// Under Drop a record that fits in an empty buffer is tried;
		// nothing waits, so nothing can starve.
		w.maxFast = size
	}
	w.room.L = &w.mu
	w.cur.Store(newBuffer(size))
	go w.run()
	return w
}

// Write copies p into the active buffer and returns len(p), nil once the
// record is accepted; the sink receives it later, whole, in one Write call
// of its own or together with other whole records. Write does not retain p.
//
// Under Drop, a record that does not fit is discarded, counted in Stats,
// and Write still returns len(p), nil, so that loggers do not report every
// drop as a failure. After Close, Write returns 0 and an error matching
// ErrClosed. A zero-length p is a no-op.
func (w *Writer) Write(p []byte) (int, error) {
	return w.write(p, !w.drop)
}

// WriteWait is Write for a record that must not be dropped, such as an
// error: under Drop it waits for room, as Write does under Block, instead of
// discarding the record. Under Block it is the same as Write. The adapters
// use it for records at or above their never-drop level.
func (w *Writer) WriteWait(p []byte) (int, error) {
	return w.write(p, true)
}

func (w *Writer) write(p []byte, wait bool) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	if n > w.maxFast {
		return w.writeLarge(p, wait)
	}
	for attempt := 0; ; attempt++ {
		b := w.cur.Load()
		start, end, sealed := b.reserve(n)
		if !sealed && end <= w.size {
			copy(b.data[start:end], p)
			b.commitRecord(n)
			switch {
			case start < w.high && end >= w.high:
				w.nudge()
				runtime.Gosched()
			case start == 0 && !w.timing.Load():
				w.nudge()
			}
			return n, nil
		}
		if !sealed && start <= w.size {
			b.commitPadding(start)
		}
		switch err := w.makeRoom(b, n, attempt, wait); err {
		case nil:
			continue
		case errDropped:
			return n, nil
		case errTooLong:
			return w.writeLarge(p, wait)
		default:
			return 0, err
		}
	}
}

// nudge wakes the writer goroutine. Callers do it rarely: when a record
// crosses the high-water mark (then the caller also yields its processor,
// so that on a busy machine the writer goroutine swaps now rather than
// after the caller's time slice, while most of the buffer is still free),
// when a record lands in an empty buffer while the flush timer is not
// running, and on the slow paths.
func (w *Writer) nudge() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

var (
	errDropped = errors.New("dropped")
	errTooLong = errors.New("too many attempts")
)

// maxHighWater caps the high-water mark of large buffers. Sink writes of
// half a megabyte already cost little per byte, and swapping there keeps
// the part of the buffers that callers touch small enough to stay in
// cache (Write of a 256-byte record is 15% slower with a 2 MiB mark than
// with this one); the rest of a large buffer is headroom for the time the
// writer goroutine waits for a processor while it writes the other one.
const maxHighWater = 512 << 10

// maxAttempts bounds how often a record under Block goes back to the
// buffers after a swap before it takes the path of large records, so that
// no record can starve behind faster callers.
const maxAttempts = 4

// makeRoom is the slow path of Write, taken when buffer b, which was cur,
// had no room for n bytes. Unless wait is set, it never waits for the
// sink. It returns nil when the caller should try again, errDropped when
// the record was dropped, errTooLong when it should go the way of large
// records, or ErrClosed.
func (w *Writer) makeRoom(b *buffer, n, attempt int, wait bool) error {
	if !wait && w.cur.Load() == b && w.spareState() != spareFree && !w.closed.Load() {
		// Both buffers are full: drop without queueing on the mutex,
		// which every other dropping caller would also want.
		w.stats.dropped(n)
		return errDropped
	}
	w.mu.Lock()
	waited := false
	for {
		switch {
		case w.closed.Load():
			w.mu.Unlock()
			w.stats.dropped(n)
			return ErrClosed
		case w.cur.Load() != b:
			// Somebody swapped since we looked: try the new buffer.
			w.mu.Unlock()
			return w.retry(n, attempt, wait)
		case w.spareState() == spareFree:
			w.swapLocked()
			w.mu.Unlock()
			w.nudge()
			return w.retry(n, attempt, wait)
		case !wait:
			w.mu.Unlock()
			w.stats.dropped(n)
			return errDropped
		case w.spareState() == spareFull:
			// Both buffers are full and the writer goroutine has not
			// come for the sealed one yet (on a loaded machine it may wait
			// milliseconds for a processor). Rather than sleep, write it
			// from here.
			if !waited {
				w.stats.waits.Add(1)
				waited = true
			}
			full := w.claimLocked()
			w.mu.Unlock()
			w.writeOut(full, nil)
			w.mu.Lock()
		default: // spareBusy: the sink is being written; wait for it.
			if !waited {
				w.stats.waits.Add(1)
				waited = true
			}
			w.room.Wait()
		}
	}
}

// retry tells makeRoom's caller to try the buffers again after a swap,
// unless it has tried maxAttempts times: then the record is dropped, or,
// if it must wait, it goes the way of large records.
func (w *Writer) retry(n, attempt int, wait bool) error {
	switch {
	case attempt+1 < maxAttempts:
		return nil
	case wait:
		return errTooLong
	}
	w.stats.dropped(n)
	return errDropped
}

// writeLarge writes, if wait is set, a record too large for the buffers or
// one that failed to find room maxAttempts times: it takes the sink, writes
// everything buffered before the record, then the record itself in one
// sink Write. Otherwise (Drop) it drops the record.
func (w *Writer) writeLarge(p []byte, wait bool) (int, error) {
	n := len(p)
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		w.stats.dropped(n)
		return 0, ErrClosed
	}
	if !wait {
		w.mu.Unlock()
		w.stats.dropped(n)
		return n, nil
	}
	if w.spareState() != spareFree {
		w.stats.waits.Add(1)
	}
	full, ok := w.acquireSinkLocked()
	w.mu.Unlock()
	switch {
	case !ok: // Close came while we waited
		w.stats.dropped(n)
		return 0, ErrClosed
	case full != nil:
		w.writeOut(full, p)
	default:
		// Nothing was waiting for the sink: every record accepted
		// before this one has been written.
		w.stats.accepted(1, n)
		w.sinkWrite(p, 1)
	}
	return n, nil
}

// acquireSinkLocked makes way for a large record: it waits until every
// buffer swapped out so far has been written, writing a full spare buffer
// itself on the way, then swaps cur out if it holds records and returns
// it, claimed, so that the caller writes every record accepted so far
// before its own, and frees it with writeOut. If cur is empty it returns
// nil, true: every record accepted so far has been written. If the Writer
// is closed, or closes while it waits, it reports false, holding nothing.
// mu must be held; it is released while waiting and writing.
func (w *Writer) acquireSinkLocked() (*buffer, bool) {
	for {
		if w.closed.Load() {
			return nil, false
		}
		switch w.spareState() {
		case spareBusy:
			w.room.Wait()
		case spareFull:
			full := w.claimLocked()
			w.mu.Unlock()
			w.writeOut(full, nil)
			w.mu.Lock()
		default:
			if w.cur.Load().offset() == 0 {
				return nil, true
			}
			w.swapLocked()
			return w.claimLocked(), true
		}
	}
}

// swapLocked seals cur and makes the free spare buffer cur. The old cur
// becomes the spare, full. mu must be held and the spare free.
//
// The order matters: the old buffer is sealed before the new one opens, so
// every reservation in the old buffer precedes, in the order of its state
// word and so in time, every reservation in the new one. A caller that
// loaded the new buffer long ago and reserves in it between reopen and the
// Store below is simply early in the new epoch.
func (w *Writer) swapLocked() {
	old := w.cur.Load()
	old.seal()
	w.sealed++
	old.seq = w.sealed
	w.spare.reopen()
	w.cur.Store(w.spare)
	w.spare = old
	w.setSpare(spareFull)
}

// claimLocked takes the full spare buffer for writing: the caller holds
// it until writeOut frees it. mu must be held.
func (w *Writer) claimLocked() *buffer {
	w.setSpare(spareBusy)
	return w.spare
}

// Sync is a barrier: when it returns, every record whose Write returned
// before Sync was called has been handed to the sink, and the sink's own
// Sync method, if it has one, has been called (so an *os.File is
// fsynced). It returns the first sink error since the previous Sync, or an
// error matching ErrTimeout if the sink has not finished within the sync
// timeout. After Close it returns nil.
func (w *Writer) Sync() error {
	reply := make(chan error, 1)
	t := time.NewTimer(w.cfg.syncTimeout)
	defer t.Stop()
	select {
	case w.syncs <- reply:
	case <-w.done:
		return nil
	case <-t.C:
		return w.timeoutError("sync")
	}
	select {
	case err := <-reply:
		return err
	case <-t.C:
		return w.timeoutError("sync")
	}
}

// Close stops the Writer: later Writes fail with ErrClosed, every record
// already accepted is handed to the sink, the sink is synced, and the
// writer goroutine exits. It returns the first sink error since the last
// Sync, or an error matching ErrTimeout if the sink has not finished within
// the sync timeout; in that case the writer goroutine finishes the job if
// the sink ever returns. Close does not close the sink. It is safe to call
// more than once and concurrently; every call waits for the same shutdown
// and returns its result, or a timeout error if it gave up first.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed.Load() {
		w.closed.Store(true)
		// No reservation succeeds after this seal. Those made before it
		// are drained and written by the writer goroutine.
		w.cur.Load().seal()
		w.room.Broadcast()
		close(w.closing)
	}
	w.mu.Unlock()

	t := time.NewTimer(w.cfg.syncTimeout)
	defer t.Stop()
	select {
	case <-w.done:
		return w.closeErr
	case <-t.C:
		return w.timeoutError("close")
	}
}

func (w *Writer) timeoutError(op string) error {
	return fmt.Errorf("%w: %s gave up after %v", ErrTimeout, op, w.cfg.syncTimeout)
}

// Stats returns the Writer's counters. It is cheap and safe to call at any
// time. Records and Bytes count a record when the writer goroutine takes
// its buffer, so records still in a buffer are counted at the next flush;
// once Sync or Close has returned, Records == WrittenRecords + LostRecords.
func (w *Writer) Stats() Stats {
	s := w.stats.snapshot()
	s.BufferSize = int(w.size)
	return s
}

var _ io.Writer = (*Writer)(nil)
