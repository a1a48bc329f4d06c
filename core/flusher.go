package core

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"
)

// run is the writer goroutine. It sleeps until a caller nudges it, the
// flush timer fires, Sync asks for a barrier or Close for the end. The timer
// runs only while records wait in cur, so an idle Writer costs nothing.
func (w *Writer) run() {
	defer close(w.done)
	t := w.cfg.clock.newTimer()
	var replies []chan error
	for {
		select {
		case <-w.wake:
			w.flush(false)
		case <-t.C():
			w.timing.Store(false)
			w.flush(true)
		case reply := <-w.syncs:
			// Answer every Sync already waiting with one flush: each
			// of them was called before this point.
			replies = append(replies[:0], reply)
			for more := true; more; {
				select {
				case r := <-w.syncs:
					replies = append(replies, r)
				default:
					more = false
				}
			}
			w.flush(true)
			if w.closed.Load() {
				// Close came first and sealed cur, which flush left to
				// shutdown: finish the job before answering.
				t.Stop()
				w.shutdown()
				for _, r := range replies {
					r <- w.closeErr
				}
				return
			}
			w.syncSink()
			err := w.takeErr()
			for _, r := range replies {
				r <- err
			}
		case <-w.closing:
			t.Stop()
			w.shutdown()
			return
		}
		w.setTimer(t)
	}
}

// setTimer runs the flush timer while records wait in cur and stops it
// otherwise. A caller whose record lands in an empty buffer reads timing
// after its reservation; setTimer clears timing before it reads the
// offset. One of the two sees the other's write, so a record never waits
// with no timer running and nobody woken to start one.
func (w *Writer) setTimer(t timer) {
	waiting := w.cur.Load().offset() > 0
	switch {
	case waiting && !w.timing.Load():
		w.timing.Store(true)
		t.Reset(w.cfg.flushInterval)
	case !waiting && w.timing.Load():
		w.timing.Store(false)
		t.Stop()
		if w.cur.Load().offset() > 0 {
			w.timing.Store(true)
			t.Reset(w.cfg.flushInterval)
		}
	}
}

// flush writes every buffer swapped out so far and then, if force is set
// or cur has passed the high-water mark, swaps cur out and writes it too.
// Buffers that callers swap out meanwhile are left for later, so that a
// Sync ends under any load.
func (w *Writer) flush(force bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	need := w.sealed
	if off := w.cur.Load().offset(); off > 0 && (force || off >= w.high) && !w.closed.Load() {
		need++ // cur, which this flush swaps out
	}
	for w.written < need {
		switch w.spareState() {
		case spareBusy:
			// A caller is writing the spare buffer; wait for it.
			w.room.Wait()
		case spareFull:
			full := w.claimLocked()
			w.mu.Unlock()
			w.writeOut(full, nil)
			w.mu.Lock()
		default: // every buffer swapped out has been written
			if w.closed.Load() {
				return // shutdown writes cur
			}
			w.swapLocked()
		}
	}
}

// shutdown writes what is left after Close sealed cur, syncs the sink and
// records what Close returns.
func (w *Writer) shutdown() {
	w.flush(true) // writes every buffer swapped out; swaps no more once closed
	w.writeOut(w.cur.Load(), nil)
	w.syncSink()
	w.closeErr = w.takeErr()
}

// writeOut hands buffer b, if not nil, and then record p, if not nil, to
// the sink, then frees the spare buffer. The caller must hold the spare
// buffer (see claimLocked and acquireSinkLocked), or be shutdown, alone
// with the sink once the Writer is closed.
func (w *Writer) writeOut(b *buffer, p []byte) {
	if b != nil {
		data, records := b.drain()
		w.stats.accepted(records, len(data))
		w.sinkWrite(data, records)
	}
	if p != nil {
		w.stats.accepted(1, len(p))
		w.sinkWrite(p, 1)
	}
	w.mu.Lock()
	if b != nil && b.seq > w.written {
		w.written = b.seq
	}
	w.setSpare(spareFree)
	w.room.Broadcast()
	w.mu.Unlock()
}

// sinkWrite makes one sink Write call and accounts for it.
func (w *Writer) sinkWrite(p []byte, records uint64) {
	if len(p) == 0 {
		return
	}
	w.stats.flushes.Add(1)
	w.sinkMu.Lock()
	n, err := safeWrite(w.cfg.sink, p)
	w.sinkMu.Unlock()
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.stats.lost(records, len(p))
		w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) to the sink: %w", records, len(p), err))
		return
	}
	w.stats.written(records, len(p))
}

// syncSink calls the sink's Sync method, if it has one. It holds sinkMu
// but not the spare buffer, so callers can swap buffers meanwhile.
func (w *Writer) syncSink() {
	s, ok := w.cfg.sink.(interface{ Sync() error })
	if !ok {
		return
	}
	w.sinkMu.Lock()
	err := safeSync(s)
	w.sinkMu.Unlock()
	if err != nil && !ignorableSyncError(err) {
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
	func() {
		defer func() { _ = recover() }() // a panicking handler must not stop the writer
		w.cfg.onError(err)
	}()
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
// one line per interval, with a count of the lines it left out.
type stderrReporter struct {
	out      io.Writer
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
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
		return
	}
	r.last = now
	if r.suppressed > 0 {
		fmt.Fprintf(r.out, "%v (and %d more errors)\n", err, r.suppressed)
		r.suppressed = 0
		return
	}
	fmt.Fprintln(r.out, err)
}
