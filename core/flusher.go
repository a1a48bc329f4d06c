package core

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"
)

// lingerLooks is how many times the writer goroutine looks at an empty
// buffer, one flush interval apart, before it sleeps until a caller wakes
// it. While it lingers, callers need not wake it: at any rate above one
// record per lingerLooks intervals, no caller pays for a wake-up.
const lingerLooks = 10

// run is the writer goroutine. It writes whenever there is something to
// write (see cycle), looks again every flush interval while records keep
// coming, and sleeps when they stop, until a caller nudges it, Sync asks
// for a barrier or Close for the end. An idle Writer runs no timer.
//
// The sink, the error handler and a notice format run on it. If one of
// them ends it with runtime.Goexit (a test's t.FailNow in a sink, say),
// which no recover stops, run starts a new writer goroutine that reports
// it, answers the Syncs it left waiting, and goes on where it stopped.
func (w *Writer) run() {
	id := goid()
	ended := false
	defer func() {
		stopRunning(id)
		if !ended {
			go w.run()
			return
		}
		close(w.done)
	}()
	if w.recovering != nil {
		// New gave up waiting for the recovery of the spool: the sink
		// is the recovery's until it ends.
		<-w.recovering
	}
	// From here on this goroutine calls the sink: Sync, Close and SyncAll
	// called from it must know it (see startRunning) until it ends.
	w.runner.Store(id)
	startRunning(id, w)
	if w.exited.interrupted() {
		w.exited.resume(w)
	}
	w.loop()
	ended = true
}

// loop is the writer goroutine's work, until shutdown.
func (w *Writer) loop() {
	t := w.cfg.clock.newTimer()
	defer t.Stop()
	looks := lingerLooks // nothing written yet: sleep until there is
	for {
		d := w.cycle()
		switch {
		case d == 0: // it wrote: before looking again, answer Sync and Close
			looks = 0
			select {
			case <-w.wake: // the next cycle sees what the nudge was for
			case r := <-w.syncs:
				if w.answerSyncs(r) {
					return
				}
			case <-w.closing:
				w.shutdown()
				return
			default:
			}
			continue
		case d > 0: // records wait in cur for the flush interval to pass
			looks = 0
		case looks < lingerLooks:
			looks++
			d = w.cfg.flushInterval
		default:
			w.awake.Store(false)
			if w.hasWork() { // a record came in before awake was cleared
				w.awake.Store(true)
				continue
			}
		}
		if d > 0 {
			t.Reset(d)
		}
		select {
		case <-w.wake:
		case <-t.C():
		case r := <-w.syncs:
			if w.answerSyncs(r) {
				return
			}
		case <-w.closing:
			w.shutdown()
			return
		}
		t.Stop()
		w.awake.Store(true)
	}
}

// errGoexit is reported when the sink, the error handler or a notice
// format ends the writer goroutine with runtime.Goexit.
var errGoexit = fmt.Errorf("%w: runtime.Goexit called on the writer goroutine", ErrSinkPanic)

// interruption is what a writer goroutine ended by runtime.Goexit leaves
// for the next one: the buffer it was writing and where to go on in it,
// and the Syncs it had not answered. Only the writer goroutine uses it.
type interruption struct {
	call           bool         // a sink write was under way
	records, bytes uint64       // in it: lost
	buffer         *buffer      // being written by writeOut, or nil
	from           uint64       // where to go on in it: the frame after that write
	large          *waiter      // whose record that write was, or nil
	largeCalled    bool         // the sink was called for it: never again
	replies        []chan error // Syncs being answered
	reporting      bool         // resume was reporting a Goexit
	closing        bool         // shutdown had begun
	synced         bool         // shutdown had called the sink's Sync: not again
}

func (x *interruption) interrupted() bool {
	return x.call || x.buffer != nil || x.large != nil || x.replies != nil || x.closing
}

// resume reports the Goexit, counts the records of the sink write it
// ended as lost, finishes the buffer and answers the callers left waiting.
// An error handler that ends its goroutine on every error must not make
// every new writer goroutine end in this report: it is made once.
func (x *interruption) resume(w *Writer) {
	if !x.reporting {
		x.reporting = true
		w.report(errGoexit)
	}
	x.reporting = false
	if x.call {
		x.call = false
		w.stats.lost(x.records, int(x.bytes))
		if w.spool != nil {
			w.spool.head.calling.Store(notCalling) // the call is over
		}
	}
	if wt := x.large; wt != nil {
		if !x.largeCalled {
			// Ended before its write, in the drop report: write it now.
			w.writeLarge(wt)
		} // else written, or lost with the write and counted
		x.large, x.largeCalled = nil, false
		wt.done <- nil
	}
	if b := x.buffer; b != nil {
		x.buffer = nil
		w.writeOutFrom(b, x.from)
	}
	if replies := x.replies; replies != nil {
		x.replies = nil
		err := w.takeErr() // errGoexit, or an earlier error of this Sync
		for _, r := range replies {
			r <- err
		}
	}
}

// hasWork reports whether records wait anywhere, for cycle. The writer
// goroutine calls it after clearing awake; a caller whose record lands in
// an empty buffer reads awake after its reservation. One of the two sees
// the other's write, so a record never waits with the writer goroutine
// asleep. Once the Writer is closed, what waits is for shutdown.
func (w *Writer) hasWork() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return w.spareState() == spareFull
	}
	return w.cur.Load().offset() > 0 || w.spareState() == spareFull || len(w.queue) > 0
}

// cycle does the writer goroutine's next piece of work and says when to
// look again: 0 after it wrote something, d > 0 if records wait in cur
// for d more, < 0 if there is nothing to do.
//
// The order is the sink's order: the full spare buffer first; then, if the
// caller at the head of the line has a record too long for any buffer,
// cur, until a swap opens it with nothing ahead of that record, then the
// record; then cur, swapped
// out at once if it has passed its high-water mark or callers wait in
// line, and otherwise once the flush interval has passed since the last
// swap, so that records reach the sink about one sink write after they
// were logged, and a fast sink does not make the writer goroutine swap
// for every record.
func (w *Writer) cycle() time.Duration {
	w.mu.Lock()
	for w.spareState() == spareFull && w.spare.end() == 0 {
		// Nothing in it (as the first swap of a Writer leaves it):
		// free it, grown if it must be, and look on without counting
		// it as work, which would keep the writer goroutine lingering,
		// awake, while the first record of cur waits for a nudge that
		// its caller, seeing it awake, does not send.
		if !w.outgrownLocked(w.spare) {
			w.freedLocked(w.spare)
			break
		}
		b := w.claimLocked()
		w.mu.Unlock()
		w.release(b)
		w.mu.Lock()
		// Callers may have swapped while mu was free: the spare may
		// be full again, and every swap below needs it free.
	}
	if w.spareState() == spareFull {
		b := w.claimLocked()
		w.mu.Unlock()
		w.writeOut(b)
		return 0
	}
	if w.closed.Load() {
		w.mu.Unlock()
		return -1 // shutdown writes cur
	}
	if len(w.queue) > 0 && w.queue[0].large {
		wt := w.queue[0]
		if wt.ready == 0 || w.swaps.Load() != wt.ready {
			// Records are ahead of it in cur: swap them out first. The
			// new cur is filled, so that nobody overtakes wt.
			w.swapLocked(0)
			b := w.claimLocked()
			w.mu.Unlock()
			w.writeOut(b)
			return 0
		}
		w.popLocked()
		w.mu.Unlock()
		w.exited.large = wt // before any call out of the package
		w.notes.writeDue(w)
		w.writeLarge(wt)
		w.exited.large, w.exited.largeCalled = nil, false
		wt.done <- nil
		return 0
	}
	cur := w.cur.Load()
	off := cur.offset()
	if off == 0 && len(w.queue) == 0 {
		w.mu.Unlock()
		return -1
	}
	if wait := w.cfg.flushInterval - w.cfg.clock.now().Sub(w.lastSwap); wait > 0 && off < cur.high && len(w.queue) == 0 {
		w.mu.Unlock()
		return wait
	}
	w.swapLocked(0)
	b := w.claimLocked()
	w.mu.Unlock()
	w.writeOut(b)
	return 0
}

// writeLarge writes the record of wt, too long for any buffer, alone. It
// marks the write made before the call: a write that failed is counted
// and reported, and one that ended the writer goroutine is counted lost,
// never made again.
func (w *Writer) writeLarge(wt *waiter) {
	w.stats.accepted(1, len(wt.p))
	w.exited.largeCalled = true
	if w.records != nil {
		w.writeRecord(wt.p)
		return
	}
	w.sinkWrite(nil, wt.p, 1, 0)
}

// answerSyncs answers reply and every other Sync already waiting with one
// flush: each of them was called before this point. It reports whether the
// Writer was closed meanwhile, in which case it has shut it down.
func (w *Writer) answerSyncs(reply chan error) (closed bool) {
	replies := []chan error{reply}
	for more := true; more; {
		select {
		case r := <-w.syncs:
			replies = append(replies, r)
		default:
			more = false
		}
	}
	w.exited.replies = replies
	w.flush()
	err := error(nil)
	if closed = w.closed.Load(); closed {
		// Close came first and sealed cur, which flush left to shutdown:
		// finish the job before answering.
		w.shutdown()
		err = w.closeErr
	} else {
		w.notes.writeDue(w)
		w.syncSink()
		err = w.takeErr()
	}
	w.exited.replies = nil
	for _, r := range replies {
		r <- err
	}
	return closed
}

// flush writes every record accepted so far: the full spare, then cur,
// swapped out, unless the Writer is closed (shutdown writes cur then). It
// stops once the buffer that held cur when it began is written, whoever
// swapped it out, so that a flush under load does not chase new records.
func (w *Writer) flush() {
	w.mu.Lock()
	target := w.swaps.Load() + 1 // the swap that takes the present cur out
	for {
		switch {
		case w.spareState() == spareFull:
			// Callers may swap again while it is written: look again.
			b := w.claimLocked()
			w.mu.Unlock()
			w.writeOut(b)
			w.mu.Lock()
		case w.written >= target, w.closed.Load(), w.swaps.Load() < target && w.cur.Load().offset() == 0:
			// Written; or left to shutdown; or cur holds nothing and
			// every buffer before it is written (the spare is free).
			w.mu.Unlock()
			return
		default:
			w.swapLocked(0)
		}
	}
}

// shutdown writes what is left after Close sealed cur, syncs the sink,
// records what Close returns and lets the spool go.
//
// A writer goroutine ended by runtime.Goexit during shutdown leaves the
// next one to resume and come back here. The writes before the sink's
// Sync can run again (a buffer already written holds nothing; a drop
// already noted is not noted again), but the sink's Sync is called once:
// a Sync that ends its goroutine would otherwise end every one after it.
func (w *Writer) shutdown() {
	x := &w.exited
	x.closing = true
	if !x.synced {
		w.flush() // the spare, if full; cur is sealed and not swapped
		w.writeOut(w.cur.Load())
		w.notes.writeDue(w)
		w.notes.final(w)
		x.synced = true
		w.syncSink()
	}
	x.closing = false
	w.closeErr = w.takeErr()
	if w.cfg.reporter != nil {
		w.cfg.reporter.flush() // the errors of the last second
	}
	unregister(w)
	if w.spool != nil {
		w.spool.close()
	}
}

// writeOut hands the records of sealed buffer b to the sink and frees the
// spare. It walks the frames in order, waiting for any whose copy is not
// finished, and gathers the records, without their headers, into runs as
// long as the max write size allows: in place, moving each record down
// over the headers before it, or, with a spool, whose frames must survive
// until written, into a staging buffer, in runs of at most spoolStep
// bytes, the progress stored around each (see sinkWrite), so that a crash
// repeats at most one step. A record longer than a run goes alone,
// straight from its frame.
func (w *Writer) writeOut(b *buffer) {
	w.writeOutFrom(b, 0)
}

// writeOutFrom is writeOut from the frame at off on.
func (w *Writer) writeOutFrom(b *buffer, off uint64) {
	if w.records != nil {
		w.writeRecordsFrom(b, off) // the records as they lie: see RecordWriter
		return
	}
	w.exited.buffer, w.exited.from = b, off // before any call out of the package
	w.notes.writeDue(w)
	inPlace := b.meta == nil
	dst := b.data
	if !inPlace {
		if w.stage == nil {
			w.stage = make([]byte, min(w.cfg.maxWriteSize, len(b.data), spoolStep))
		}
		dst = w.stage
	}
	limit := min(w.cfg.maxWriteSize, len(dst)) // the longest run (a step, with a spool)
	start, end := 0, 0                         // the run gathered so far is dst[start:end]
	var runRecords uint64
	last := b.end()
	flushRun := func(upto uint64) {
		if runRecords > 0 {
			w.stats.accepted(runRecords, end-start)
			w.sinkWrite(b, dst[start:end], runRecords, upto)
		}
		runRecords = 0
		if !inPlace {
			end = 0
		}
		start = end
	}
	for {
		rec, next, ok := b.next(off, last)
		if !ok {
			break
		}
		n := len(rec)
		if end-start+n > limit && runRecords > 0 {
			flushRun(off)
		}
		if n > limit {
			w.stats.accepted(1, n)
			w.sinkWrite(b, rec, 1, next)
		} else {
			end += copy(dst[end:], rec)
			runRecords++
		}
		off = next
	}
	flushRun(off)
	b.clear()
	w.exited.buffer = nil
	w.release(b)
}

// release frees b, a buffer the writer goroutine has written and cleared.
// If b is the spare and smaller than the size the buffers have grown to,
// a new buffer of that size takes its place first, its pages touched by
// this goroutine (see touchedBuffer), so that the callers who fill it do
// not take the page faults. Growth decided at a swap (see swapLocked)
// happens here, a swap later, except where the swap cannot wait: the
// first buffer of a Writer, a record that does not fit, a line that only
// a grown buffer serves. The spare stays busy meanwhile, so under Drop a
// burst that fills cur before it is free is dropped.
func (w *Writer) release(b *buffer) {
	w.mu.Lock()
	if w.outgrownLocked(b) {
		size := w.size
		w.mu.Unlock()
		grown := touchedBuffer(size)
		w.mu.Lock()
		// The spare is still b: nobody else replaces a spare that is
		// neither free nor full.
		grown.seq = b.seq
		w.spare = grown
		b = grown
	}
	w.freedLocked(b)
	w.mu.Unlock()
}

// outgrownLocked reports whether b is the spare, in memory, smaller than
// the size buffers have grown to, and to be replaced before it is freed.
// Not after Close: shutdown only writes what is left. mu must be held.
func (w *Writer) outgrownLocked(b *buffer) bool {
	return b == w.spare && b.meta == nil && len(b.data) < w.size && !w.closed.Load()
}

// touchedBuffer returns a new buffer of size bytes whose pages have each
// been written once. The first write to a page of new memory costs a page
// fault: about a microsecond on bare metal, ten or more on a virtual
// machine whose host backs the page only then. Callers of a buffer grown
// at the swap took every such fault, one page in each of their Writes, for
// the first megabytes a Writer logged; callers of a touched buffer take
// none. The whole buffer is touched, not only up to its high-water mark:
// callers that outrun the writer goroutine, as on a machine whose
// processors are all busy, write far past it. So a grown Writer holds its
// two buffers in resident memory, where before the pages that no burst
// reached stayed unmapped: still within the bound of two buffers.
func touchedBuffer(size int) *buffer {
	data := make([]byte, size)
	for i := 0; i < len(data); i += touchStride {
		data[i] = 0
	}
	return newBuffer(data)
}

// touchStride is the distance between the bytes touchedBuffer writes: the
// smallest page size of the systems Go runs on.
const touchStride = 4 << 10

// freedLocked records that b has been written and, if it is the spare,
// frees it for the next swap. mu must be held.
func (w *Writer) freedLocked(b *buffer) {
	if b == w.spare {
		w.setSpare(spareFree)
	}
	w.written = max(w.written, b.seq)
}

// sinkWrite writes p, which holds records whole records of b (nil for a
// record written alone), to the sink, and accounts for it. With a spool,
// the frames of b before upto are marked written, whether the call
// succeeded or not: a failed write is counted and reported, not retried;
// and the call is marked in the spool's header (see spool.enter).
func (w *Writer) sinkWrite(b *buffer, p []byte, records uint64, upto uint64) {
	var meta *spoolMeta
	if b != nil {
		meta = b.meta
	}
	if meta != nil {
		meta.writing.Store(upto)
	}
	// What the next writer goroutine needs, should this one not return.
	w.exited.call, w.exited.records, w.exited.bytes, w.exited.from = true, records, uint64(len(p)), upto
	err := w.sinkCallIn(w.spool, p, meta, upto)
	w.exited.call = false
	if err != nil {
		w.stats.lost(records, len(p))
		w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) to the sink: %w", records, len(p), err))
		return
	}
	w.stats.written(records, len(p))
}

// sinkCall makes one sink Write call and returns its error.
func (w *Writer) sinkCall(p []byte) error {
	return w.sinkCallIn(w.spool, p, nil, 0)
}

// sinkCallIn makes one sink Write call, marked in the header of spool s
// if it is not nil: before it, that a call is under way, of records of the
// buffer whose progress is m (nil for anything else); after it, that the
// frames of that buffer before upto are written, and that it returned.
// Every sink Write call of a Writer with a spool is marked so, so that
// the next recovery knows whether the process died inside one.
func (w *Writer) sinkCallIn(s *spool, p []byte, m *spoolMeta, upto uint64) error {
	if s == nil {
		return w.callSink(p)
	}
	s.enter(m)
	err := w.callSink(p)
	s.leave(m, upto)
	return err
}

// callSink makes one sink Write call and returns its error.
func (w *Writer) callSink(p []byte) error {
	w.stats.flushes.Add(1)
	n, err := safeWrite(w.cfg.sink, p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// syncSink calls the sink's Sync method, if it has one.
func (w *Writer) syncSink() {
	s, ok := w.cfg.sink.(interface{ Sync() error })
	if !ok {
		return
	}
	if err := safeSync(s); err != nil && !ignorableSyncError(err) {
		w.report(fmt.Errorf("asynclog: syncing the sink: %w", err))
	}
}

// ignorableSyncError reports whether err only says that the sink cannot be
// synced, as fsync says of a terminal or a pipe.
func ignorableSyncError(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOTTY)
}

func safeWrite(w io.Writer, p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w in Write: %v", ErrSinkPanic, r)
		}
	}()
	return w.Write(p)
}

func safeSync(s interface{ Sync() error }) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w in Sync: %v", ErrSinkPanic, r)
		}
	}()
	return s.Sync()
}

// report counts a sink error, keeps it for the next Sync and passes it to
// the error handler.
func (w *Writer) report(err error) {
	w.stats.sinkErrors.Add(1)
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.handle(err)
}

// handle passes err to the error handler; a panicking handler must not
// stop the writer goroutine.
// Only during a recovery that outlived New (see recovery) can two
// goroutines report at once: handling keeps the handler's calls one at a
// time.
func (w *Writer) handle(err error) {
	w.handling.Lock()
	defer w.handling.Unlock()
	defer func() { _ = recover() }()
	w.cfg.onError(err)
}

// takeErr returns the first sink error since the last call and forgets it.
func (w *Writer) takeErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	w.err = nil
	return err
}

// stderrReporter is the default error handler: one line per error, at most
// one line per interval, with a count of the lines it left out. At Close,
// shutdown calls flush, so that the errors of the last interval are not
// left out for good.
type stderrReporter struct {
	out      io.Writer
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
	pending    error // the last error left out, while suppressed > 0
}

func newStderrReporter(out io.Writer, interval time.Duration) *stderrReporter {
	return &stderrReporter{out: out, interval: interval}
}

func (r *stderrReporter) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.suppressed++
		r.pending = err
		return
	}
	r.last = now
	r.print(err, r.suppressed)
}

// print prints err and says how many errors before it were left out.
// r.mu must be held.
func (r *stderrReporter) print(err error, leftOut int) {
	r.suppressed, r.pending = 0, nil
	if leftOut > 0 {
		fmt.Fprintf(r.out, "%v (and %d more errors)\n", err, leftOut)
		return
	}
	fmt.Fprintln(r.out, err)
}

// flush prints the last error left out, if any, with a count of the
// others left out since the last line.
func (r *stderrReporter) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.suppressed > 0 {
		r.last = time.Now()
		r.print(r.pending, r.suppressed-1)
	}
}
