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
	// inside Write, WriteRecords or Sync, when a notice format (WithNotices) panics, and
	// when any of them, or the error handler, ends the writer goroutine
	// with runtime.Goexit. The panic is recovered and the writer goroutine
	// goes on (a new one, after a Goexit).
	ErrSinkPanic = errors.New("asynclog: sink panicked")

	// ErrDropped is matched by the errors the error handler receives about
	// records discarded under Drop: at most one a second, with how many
	// records and bytes, and since when.
	ErrDropped = errors.New("asynclog: records dropped")

	// ErrReentrant is matched by the error Sync and Close return when they
	// are called from the sink, the error handler or a notice format, on
	// the writer goroutine, which cannot wait for itself, directly or
	// through other Writers whose writer goroutines wait for it (see
	// SyncAll).
	ErrReentrant = errors.New("asynclog: called from the writer goroutine")
)

// A Writer is an io.Writer that copies each record into one of two buffers
// and leaves the sink to a background goroutine. See the package
// documentation for the design and its guarantees.
//
// A Writer is safe for concurrent use. New starts its goroutine; you must
// call Close to flush what is left and stop it. Close does not close the
// sink.
type Writer struct {
	// Read by every Write; changed once per swap.
	cur  atomic.Pointer[buffer] // the buffer accepting records
	drop bool                   // Overflow is Drop
	_    cacheLinePad

	// awake is set while the writer goroutine runs or will look at cur
	// again soon, so that a record landing in an empty buffer need not
	// wake it. Read by Write only for the first record of a buffer.
	awake atomic.Bool
	_     cacheLinePad

	cfg      config
	wake     chan struct{}   // non-blocking nudges for the writer goroutine
	syncs    chan chan error // Sync requests
	closing  chan struct{}   // closed by Close to stop the writer goroutine
	done     chan struct{}   // closed when the writer goroutine has exited
	closeErr error           // what Close returns; written before done is closed
	runner   atomic.Uint64   // the writer goroutine's id (see goid)
	spool    *spool          // nil without WithSpool, or when it could not be opened
	stage    []byte          // with a spool, where the writer goroutine gathers records
	records  *recordCalls    // set by New if the sink is a RecordWriter, or nil
	// recovering, if not nil, is closed when the recovery of the spool,
	// which New gave up waiting for, has ended (see recovery): the writer
	// goroutine calls the sink only after that.
	recovering <-chan struct{}
	handling   sync.Mutex // held while the error handler runs

	// swaps counts the swaps; a buffer keeps the number of the swap that
	// sealed it (buffer.seq). A dropping caller reads it to tell, without
	// the mutex, that the buffer it found full is still cur; flush, to know
	// when the buffer that was cur has been written; the line, to know when
	// a record too long for a buffer has nothing ahead of it.
	swaps   atomic.Uint64
	spareAt atomic.Int32 // a spareState; written under mu
	closed  atomic.Bool  // written under mu

	// wanted is the longest record dropped under Drop because the buffers
	// had not yet grown to hold it: the next swap grows them for it.
	wanted atomic.Int64

	// mu guards the fields below. It is taken on the slow paths only and
	// never held while calling the sink or waiting for a frame.
	mu       sync.Mutex
	spare    *buffer   // the buffer that is not cur
	queue    []*waiter // callers waiting for room, in arrival order
	err      error     // first sink error since the last Sync
	epoch    uint64    // the number of the latest epoch of either buffer
	size     int       // the size of buffers allocated from now on; grows up to cfg.bufferSize
	lastSwap time.Time // when cur was last swapped out
	written  uint64    // the seq of the last buffer written (see buffer.seq)

	// longestWait is the most swaps a caller in line has seen go by,
	// counting the one that served it. The line bounds it (see
	// writeInLine); tests check that bound.
	longestWait uint64

	stats  counters
	notes  noticer      // writer goroutine only
	exited interruption // writer goroutine only
}

// maxRecord returns the longest record a buffer of the configured size
// holds: longer ones never fit, and the writer goroutine writes them
// alone. (Computed, not kept: a Writer of 888 bytes or less, with the
// heap's 8-byte header, fits the 896-byte size class.)
func (w *Writer) maxRecord() int { return maxRecordIn(w.cfg.bufferSize) }

// spareState says where the spare buffer is in its cycle.
type spareState int32

const (
	spareFree spareState = iota // written, ready to become cur
	spareFull                   // sealed, waiting for the writer goroutine
	spareBusy                   // being written by the writer goroutine
)

func (w *Writer) spareState() spareState { return spareState(w.spareAt.Load()) }
func (w *Writer) setSpare(s spareState)  { w.spareAt.Store(int32(s)) }

// A waiter is a caller waiting in line for room (or, for a record that no
// buffer can hold, for the writer goroutine to write it).
type waiter struct {
	p     []byte
	large bool       // too long for any buffer: written alone by the writer goroutine
	after uint64     // the swap count when it joined the line
	ready uint64     // for a large record: the swap that opened cur with nothing ahead of it, or 0
	done  chan error // receives nil once the record is in a buffer or the sink, or ErrClosed
}

// initialBufferSize is the size of the first buffers of a Writer in
// memory: a Writer that logs little holds little. Buffers grow four times,
// up to the configured size, when one of the present size fills to its
// high-water mark between two swaps, or for a record that does not fit
// (see swapLocked and release).
const initialBufferSize = 64 << 10

// New returns a Writer configured by opts and starts its writer goroutine.
// It never fails: options out of range are replaced by their defaults or
// bounds (see each Option), and a spool that cannot be used leaves the
// Writer on memory buffers, with an error for the error handler and the
// first Sync.
func New(opts ...Option) *Writer {
	cfg := newConfig(opts)
	w := &Writer{
		drop:    cfg.overflow == Drop,
		cfg:     cfg,
		wake:    make(chan struct{}, 1),
		syncs:   make(chan chan error),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		size:    min(initialBufferSize, cfg.bufferSize),
	}
	w.records = newRecordCalls(cfg.sink)
	w.notes.init()
	w.awake.Store(true) // until the writer goroutine has looked
	if cfg.spoolPath != "" {
		w.openSpool() // sets w.spool, or reports why not
	}
	if w.spool != nil {
		w.size = cfg.bufferSize
		w.spare = w.spool.buffers[1]
		w.epoch = w.spool.nextEpoch - 1
		first := w.spool.buffers[0]
		w.reopen(first)
		w.cur.Store(first)
	} else {
		// No memory until the first record: cur and the spare are empty
		// and sealed, so the first Write swaps, and the swap allocates.
		w.spare = newBuffer(nil)
		w.cur.Store(newBuffer(nil))
	}
	register(w)
	go w.run()
	return w
}

// Write copies p into the active buffer and returns len(p), nil once the
// record is accepted; the sink receives it later, whole, in one Write call
// of its own or together with other whole records. Write does not retain p.
//
// Under Drop, a record that finds no room is discarded, counted in Stats,
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
	if len(p) == 0 {
		return 0, nil
	}
	if b := w.cur.Load(); len(p) <= maxRecordIn(len(b.data)) {
		if off, ok := b.reserve(len(p)); ok {
			b.put(off, p)
			w.committed(b, off, len(p))
			return len(p), nil
		}
	}
	if wait {
		return w.writeInLine(p)
	}
	return w.writeOrDrop(p)
}

// committed wakes the writer goroutine, rarely: for the record that
// crosses the high-water mark; for the first record of a buffer while the
// writer goroutine sleeps; and for the record that crosses the urgent mark,
// further on, which means that the writer goroutine has not come since it
// was woken at the high-water mark: every processor is busy. Then the
// caller also yields its processor, so that the swap happens now rather
// than after the caller's time slice, while the buffer still has room. (A
// yield at the high-water mark would do harm when a processor is free: the
// caller would move to it, away from its cache, and leave its own to the
// writer goroutine.)
func (w *Writer) committed(b *buffer, off uint64, n int) {
	end := off + frameLen(n)
	switch {
	case off < b.high && end >= b.high:
		w.nudge()
	case off < b.urgent && end >= b.urgent:
		w.nudge()
		runtime.Gosched()
	case off == 0 && !w.awake.Load():
		w.nudge()
	}
}

// nudge wakes the writer goroutine, or leaves it a token if it is busy.
func (w *Writer) nudge() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// maxAttempts bounds how often a record under Drop goes back to the
// buffers after a swap before it is dropped, so that a dropping caller
// never loops for long.
const maxAttempts = 4

// writeOrDrop is the slow path of Write under Drop: it swaps in the spare
// buffer if it is free and tries again; if both buffers are full it drops
// the record, without taking the mutex. So does a record longer than cur
// while the spare is taken, before the buffers have grown to the
// configured size: a Drop caller never waits, and the next swap grows the
// buffers to hold such a record.
//
// A drop rests on a snapshot: the swap count, then cur, a reservation that
// failed, the spare seen taken, the same count again. swapLocked stores
// the new cur, then the count, then marks the old buffer the full spare.
// So a caller whose reservation failed in an old, sealed cur loaded the
// count before it moved, and if it then sees the spare marked full it
// sees the count moved too, and tries again; a caller that sees the count
// unmoved saw a cur with no room and a spare not free at once.
func (w *Writer) writeOrDrop(p []byte) (int, error) {
	n := len(p)
	if n > w.maxRecord() {
		return w.dropped(n)
	}
	for attempt := 0; ; attempt++ {
		swaps := w.swaps.Load()
		b := w.cur.Load()
		fits := n <= maxRecordIn(len(b.data))
		if fits {
			if off, ok := b.reserve(n); ok {
				b.put(off, p)
				w.committed(b, off, n)
				return n, nil
			}
		}
		if attempt == maxAttempts {
			return w.dropped(n)
		}
		if w.spareState() != spareFree {
			if !fits {
				// The buffers have not grown to the configured size
				// yet. If the record is dropped, the next swap grows
				// them to hold it; they never shrink.
				w.want(n)
			}
			if w.swaps.Load() == swaps {
				// b was cur from before the reservation until after
				// the spare was seen taken: both buffers were full.
				return w.dropped(n)
			}
			continue
		}
		w.mu.Lock()
		if w.closed.Load() {
			w.mu.Unlock()
			return w.dropped(n)
		}
		if w.swaps.Load() == swaps && w.spareState() == spareFree {
			w.swapLocked(n)
		}
		w.mu.Unlock()
		w.nudge()
	}
}

// want asks the next swap to grow the buffers for a record of n bytes.
func (w *Writer) want(n int) {
	for {
		old := w.wanted.Load()
		if old >= int64(n) || w.wanted.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

// dropped counts a record discarded and says so as Write does: len(p), nil
// under Drop, 0, ErrClosed after Close.
func (w *Writer) dropped(n int) (int, error) {
	if w.closed.Load() {
		w.stats.dropped(n)
		return 0, ErrClosed
	}
	w.stats.discarded(n)
	return n, nil
}

// writeInLine is the slow path of Write under Block and of WriteWait: the
// caller joins the line of callers waiting for room, behind every caller
// already in it, and returns once its record is in a buffer (or, for a
// record too long for any buffer, in the sink).
//
// The line is served at every swap, in order, into the fresh buffer before
// it becomes cur, so that nobody arriving later can take the room first.
// If the spare is free the caller swaps itself; otherwise the writer
// goroutine swaps as soon as it has written the spare. A caller is served
// at the first swap after all callers ahead of it, unless their records
// and its own do not fit in one buffer together; so the longest wait is the
// sink writes of the buffers ahead of it.
func (w *Writer) writeInLine(p []byte) (int, error) {
	if w.onRunner() {
		// The sink, the error handler or a notice format, writing
		// back: the writer goroutine cannot wait for itself, so the
		// record takes the spare if it is free, or is dropped.
		return w.writeOrDrop(p)
	}
	if from := runningWriter(goid()); from != nil {
		// Another Writer's writer goroutine, writing from its sink or
		// error handler: while it waits here for this Writer, a Sync of
		// that Writer from this one's writer goroutine would wait for
		// itself (see waits.go), so the wait is recorded; and if this
		// Writer's writer goroutine waits for that Writer already, this
		// one cannot wait either.
		if !startWait(from, w) {
			return w.writeOrDrop(p)
		}
		defer endWait(from, w)
	}
	n := len(p)
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		return w.dropped(n)
	}
	large := n > w.maxRecord()
	if !large && len(w.queue) == 0 {
		// Nobody is waiting: the buffer that had no room may have been
		// swapped out since.
		if b := w.cur.Load(); n <= maxRecordIn(len(b.data)) {
			if off, ok := b.reserve(n); ok {
				w.mu.Unlock()
				b.put(off, p)
				w.committed(b, off, n)
				return n, nil
			}
		}
	}
	wt := &waiter{p: p, large: large, after: w.swaps.Load(), done: make(chan error, 1)}
	w.queue = append(w.queue, wt)
	if !large && w.spareState() == spareFree {
		w.swapLocked(0) // serves the line, this caller included if it fits
	}
	if len(wt.done) == 0 {
		// Nobody may reserve ahead of a caller in line. cur is full,
		// or filled by the swap that left the caller in line, unless
		// the record is too long for it (a buffer not yet grown, or a
		// record longer than any buffer): fill it then.
		w.cur.Load().fill()
		w.stats.waits.Add(1)
	}
	w.mu.Unlock()
	w.nudge()
	if err := <-wt.done; err != nil {
		return 0, err
	}
	return n, nil
}

// swapLocked seals cur and makes the spare, which must be free, cur: a
// full spare would lose its records, and its callers still copying would
// write into the next epoch. The
// old cur becomes the spare, full, for the writer goroutine. need, if not
// 0, is the length of a record the new buffer must be able to hold.
//
// Before the new buffer becomes cur, swapLocked copies in the records of
// the callers waiting in line, in order, while they fit; if some remain, it
// fills the rest of the buffer with padding, so that nobody overtakes them
// until the next swap.
//
// The order matters: the old buffer is sealed before the new one opens, so
// every reservation in the old buffer precedes, in the order of its state
// word and so in time, every reservation in the new one. A caller that
// loaded the new buffer long ago and reserves in it between reopen and the
// Store below is simply early in the new epoch.
func (w *Writer) swapLocked(need int) {
	n := w.swaps.Load() + 1 // this swap's number; only swaps, under mu, move the count
	old := w.cur.Load()
	old.seal()
	old.seq = n
	next := w.spare
	if w.spool == nil {
		if old.used() >= old.high && len(old.data) >= w.size {
			// Records filled it up between two swaps. Only a buffer
			// of the present size counts: one of a smaller size, not
			// yet replaced (see release), says nothing new.
			w.size = min(w.size*4, w.cfg.bufferSize)
		}
		if len(w.queue) > 0 && !w.queue[0].large {
			need = max(need, len(w.queue[0].p))
		}
		need = max(need, int(w.wanted.Swap(0)))
		for need > maxRecordIn(w.size) {
			w.size = min(w.size*4, w.cfg.bufferSize)
		}
		if need > maxRecordIn(len(next.data)) || len(next.data) < w.size && w.lineLen() > uint64(len(next.data)) {
			// A record that must go into next does not fit, or the
			// line does not, which a buffer of the grown size would
			// serve at once: grow next here. Otherwise next, if
			// smaller than w.size, serves as it is, and the writer
			// goroutine grows both buffers one at a time, after
			// writing each (see release), so that it touches the
			// pages of a new buffer before callers write into it.
			next = newBuffer(make([]byte, w.size))
		}
	}
	w.reopen(next)
	w.serveLocked(next, n)
	// The count moves after cur and before the spare is marked full, so
	// that a dropping caller (see writeOrDrop) that loaded the old cur
	// loaded the count before it moved, and one that sees the spare full
	// sees the count moved.
	w.cur.Store(next)
	w.swaps.Store(n)
	w.spare = old
	w.setSpare(spareFull)
	if old.sealedAt > 0 {
		w.lastSwap = w.cfg.clock.now()
	}
}

// reopen starts the next epoch in b. mu must be held, or New be running.
func (w *Writer) reopen(b *buffer) {
	w.epoch++
	// 0 is the tag of a header never written, and the epoch of an unused
	// buffer (see spool.renumber).
	for w.epoch == 0 || b.tagOf(w.epoch) == 0 {
		w.epoch++
	}
	b.reopen(w.epoch, time.Now())
}

// serveLocked copies the records of the waiting callers into b, which
// swap n is about to make cur, in order, while they fit, and fills b if
// any remain. A record too long for any buffer stops the serving: the
// writer goroutine writes it once a swap has opened cur with nothing ahead
// of it (swap n, if nobody was served here first).
func (w *Writer) serveLocked(b *buffer, n uint64) {
	served := false
	for len(w.queue) > 0 {
		wt := w.queue[0]
		if wt.large || len(wt.p) > maxRecordIn(len(b.data)) {
			if wt.large && !served {
				wt.ready = n
			}
			b.fill()
			return
		}
		off, ok := b.reserve(len(wt.p))
		if !ok {
			return // full, and the crosser (this reservation, or an earlier one) padded it
		}
		b.put(off, wt.p)
		w.popLocked()
		w.longestWait = max(w.longestWait, n-wt.after)
		wt.done <- nil
		served = true
	}
}

// lineLen returns the bytes the records waiting in line take in a buffer,
// up to the first record too long for any. mu must be held.
func (w *Writer) lineLen() uint64 {
	var n uint64
	for _, wt := range w.queue {
		if wt.large {
			break
		}
		n += frameLen(len(wt.p))
	}
	return n
}

func (w *Writer) popLocked() {
	w.queue[0] = nil
	w.queue = w.queue[1:]
	if len(w.queue) == 0 {
		w.queue = nil // let the array go
	}
}

// maxHighWater caps the high-water mark of large buffers. Sink writes of
// half a megabyte already cost little per byte, and swapping there keeps
// the part of the buffers that callers touch small enough to stay in
// cache; the rest of a large buffer is headroom for the time the writer
// goroutine waits for a processor while it writes the other one.
const maxHighWater = 512 << 10

// claimLocked takes the full spare buffer for writing: the writer
// goroutine holds it until writeOut frees it. mu must be held.
func (w *Writer) claimLocked() *buffer {
	w.setSpare(spareBusy)
	return w.spare
}

// Sync is a barrier: when it returns, every record whose Write returned
// before Sync was called has been handed to the sink, and the sink's own
// Sync method, if it has one, has been called (so an *os.File is
// fsynced). It returns the first sink error since the previous Sync,
// wrapped (match it with errors.Is), or an error matching ErrTimeout if the
// sink has not finished within the sync timeout. After Close it returns
// nil.
//
// Called from the sink, the error handler or a notice format, on the
// writer goroutine, it returns an error matching ErrReentrant at once; so
// it does when the caller is the writer goroutine of another Writer that
// this one's writer goroutine waits for, directly or through others, in a
// Sync or Close of its own (see SyncAll).
func (w *Writer) Sync() error {
	return w.syncFor(goid())
}

// syncFor is Sync called by the goroutine whose id is caller: SyncAll
// calls it from goroutines of its own for its caller.
func (w *Writer) syncFor(caller uint64) error {
	if caller == w.runner.Load() {
		return fmt.Errorf("%w: Sync", ErrReentrant)
	}
	if from := runningWriter(caller); from != nil {
		if !startWait(from, w) {
			return fmt.Errorf("%w: Sync from the writer goroutine of a Writer that this one's writer goroutine waits for", ErrReentrant)
		}
		defer endWait(from, w)
	}
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

// Close stops the Writer: later Writes fail with ErrClosed, callers still
// waiting for room are released with ErrClosed, every record already
// accepted is handed to the sink, the sink is synced, and the writer
// goroutine exits. It returns the first sink error since the last Sync, or
// an error matching ErrTimeout if the sink has not finished within the
// sync timeout; in that case the writer goroutine finishes the job if the
// sink ever returns. Close does not close the sink. It is safe to call more
// than once and concurrently; every call waits for the same shutdown and
// returns its result, or a timeout error if it gave up first. Called from
// the writer goroutine, its own or one that would wait for itself through
// this Writer (see Sync), it returns an error matching ErrReentrant
// without waiting.
func (w *Writer) Close() error {
	caller := goid()
	if caller == w.runner.Load() {
		return fmt.Errorf("%w: Close", ErrReentrant)
	}
	w.mu.Lock()
	if !w.closed.Load() {
		w.closed.Store(true)
		// No reservation succeeds after this seal. Those made before it
		// are walked and written by the writer goroutine.
		w.cur.Load().seal()
		for len(w.queue) > 0 {
			wt := w.queue[0]
			w.popLocked()
			w.stats.dropped(len(wt.p))
			wt.done <- ErrClosed
		}
		close(w.closing)
	}
	w.mu.Unlock()

	if from := runningWriter(caller); from != nil {
		if !startWait(from, w) {
			return fmt.Errorf("%w: Close from the writer goroutine of a Writer that this one's writer goroutine waits for: it closes without the wait", ErrReentrant)
		}
		defer endWait(from, w)
	}
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
// it from its buffer, so records still in a buffer are counted at the next
// flush; once Sync or Close has returned, Records == WrittenRecords +
// LostRecords.
func (w *Writer) Stats() Stats {
	s := w.stats.snapshot()
	s.BufferSize = w.cfg.bufferSize
	w.mu.Lock()
	s.BufferBytes = len(w.cur.Load().data) + len(w.spare.data)
	w.mu.Unlock()
	return s
}

var _ io.Writer = (*Writer)(nil)
