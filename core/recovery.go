package core

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// A recovery writes to the sink what the process that last held a spool
// left unwritten in it, as New finds it: first a newline, if that process
// died inside a sink call and may have left the sink mid-line; then a
// notice; then the records, in order; then it syncs the sink and marks the
// spool written. A sink that is a RecordWriter gets the notice and the
// records with WriteRecords, and never a newline: it frames its own
// records, so a call cut short leaves no line for the next one to end.
//
// It runs on a goroutine of its own, which New waits for up to the sync
// timeout. If it finishes in time, the Writer takes over the spool. If not
// (the sink stalls), New gives up waiting and the Writer runs on memory
// buffers: the recovery keeps the spool, so that nothing overwrites what
// it has not written, and the writer goroutine makes no sink call before
// the recovery has ended, so that the sink is still called from one
// goroutine at a time and the recovered records come before the new ones.
// If the sink ever returns, the recovery finishes, marks the spool written
// and lets it go; if the process ends first, what the sink had not taken
// is still in the spool, with its progress, for the next start or
// asynclog recover.
//
// The sink, the error handler and the notice format run on the recovery's
// goroutine as they run on the writer goroutine: a panic is recovered and
// reported; a runtime.Goexit is reported by a new goroutine, which goes on
// after the call that ended the old one (whose records are lost, as on the
// writer goroutine).
type recovery struct {
	w    *Writer
	s    *spool
	r    recovered
	pid  int
	play replayer

	// The recovery's goroutine only (one at a time).
	stage   int  // the next step: one of the recovery stage constants
	calling bool // a sink call is under way
	goexit  bool // a Goexit ended the previous goroutine: report it

	mu        sync.Mutex
	finished  bool          // every step is done
	abandoned bool          // New stopped waiting: the recovery lets the spool go when finished
	done      chan struct{} // closed when the recovery has ended
}

// The steps of a recovery, in order. Each is made at most once: a Goexit
// in one goes on with the next.
const (
	stageNewline = iota
	stageNotice
	stageRecords
	stageSync
	stageEnd
)

// recoverSpool recovers what s holds (see recovery) and, if that finishes
// within the sync timeout, gives the Writer the spool. New calls it before
// any record can be written.
func (w *Writer) recoverSpool(s *spool) {
	rc := &recovery{w: w, s: s, r: s.unwritten(), done: make(chan struct{})}
	rc.pid = int(s.head.pid.Swap(uint64(os.Getpid())))
	w.stats.tornRecords.Store(rc.r.torn)
	if len(rc.r.records) == 0 && (w.records != nil || !s.diedInCall() && !rc.r.midWrite) {
		// Nothing to write, and nothing cut short in the sink: the
		// last process closed its Writer, or died between calls (or
		// its sink frames its own records: see RecordWriter). The
		// header says no call is under way, should this process die
		// between calls with a sink of another kind.
		s.markWritten()
		s.head.calling.Store(notCalling)
		s.head.unended.Store(0)
		clearSpool(s)
		s.renumber()
		w.spool = s
		return
	}
	w.stats.repeatedRecords.Store(rc.r.repeated)
	rc.play = replayer{s: s, records: rc.r.records, limit: w.cfg.maxWriteSize}
	if w.records != nil {
		rc.play.recs = make([][]byte, 0, min(len(rc.r.records), maxRecordsPerCall))
	} else {
		rc.play.stage = make([]byte, min(w.cfg.maxWriteSize, w.cfg.bufferSize, spoolStep))
	}
	go rc.run()
	t := time.NewTimer(w.cfg.syncTimeout)
	defer t.Stop()
	select {
	case <-rc.done:
	case <-t.C:
	}
	rc.mu.Lock()
	finished := rc.finished
	rc.abandoned = !finished
	rc.mu.Unlock()
	if finished {
		s.renumber() // end cleared the spool
		w.spool, w.stage = s, rc.play.stage
		return
	}
	w.recovering = rc.done
	w.report(fmt.Errorf("%w %s: %w: recovering %d records took longer than %v; the Writer runs on memory buffers, and its records follow the recovered ones once the sink takes them; whatever the sink has not taken stays in the spool for the next start or asynclog recover",
		ErrSpool, s.path, ErrTimeout, len(rc.r.records), w.cfg.syncTimeout))
}

// clearSpool zeroes the buffers of s, as writeOut leaves a buffer it has
// written, unless they are zero already (as Close leaves them).
func clearSpool(s *spool) {
	for _, b := range s.buffers {
		if !allZero(b.data) {
			clear(b.data)
		}
	}
}

// run is the recovery's goroutine. A Goexit in the sink, the error
// handler or the notice format ends it; a new one then reports it and
// goes on.
func (rc *recovery) run() {
	id := goid()
	ended := false
	defer func() {
		stopRunning(id)
		if !ended {
			rc.interrupted()
			go rc.run()
		}
	}()
	// The sink calling back must not wait for itself, directly or through
	// other Writers (see SyncAll).
	rc.w.runner.Store(id)
	startRunning(id, rc.w)
	if rc.goexit {
		rc.goexit = false
		rc.w.report(fmt.Errorf("%w, recovering the spool", errGoexit))
	}
	rc.work()
	ended = true
	rc.end()
}

// interrupted is what a goroutine of the recovery ended by Goexit leaves
// for the next one: the call it was in is over, lost.
func (rc *recovery) interrupted() {
	rc.goexit = true
	if rc.calling {
		rc.calling = false
		if rc.stage == stageRecords {
			rc.play.skip()
		}
		rc.s.head.calling.Store(notCalling)
	}
}

// work makes the steps of the recovery not made yet.
func (rc *recovery) work() {
	w, s, r := rc.w, rc.s, &rc.r
	if rc.stage == stageNewline {
		rc.stage++
		if w.records == nil && endsMidLine(w.cfg.sink, s.diedInCall()) {
			// Finish the line that the dead process's last sink call
			// left unfinished, so that what follows starts a line.
			if err := rc.call([]byte("\n")); err != nil {
				w.report(fmt.Errorf("asynclog: writing a newline to the sink: %w", err))
			}
		}
		s.head.unended.Store(0) // ended, or nothing to end (see Recover)
	}
	if rc.stage == stageNotice {
		rc.stage++
		if len(r.records) > 0 && w.cfg.notice != nil {
			note := Notice{Kind: NoticeRecovered, Time: time.Now(), Records: uint64(len(r.records)), Bytes: r.bytes,
				Since: r.since, Spool: s.path, PID: rc.pid, Torn: r.torn, Repeated: r.repeated}
			p, err := safeFormat(w.cfg.notice, note)
			if err == nil && len(p) > 0 {
				err = rc.call(p)
			}
			if err != nil {
				w.report(fmt.Errorf("asynclog: writing a notice to the sink: %w", err))
			}
		}
	}
	if rc.stage == stageRecords && w.records != nil {
		rc.play.runRecords(func(recs [][]byte, size int) {
			rc.calling = true
			n, err := w.sinkRecords(recs)
			rc.calling = false
			delivered := size
			if n < len(recs) {
				delivered = 0
				for _, rec := range recs[:n] {
					delivered += len(rec)
				}
			}
			w.stats.recoveredRecords.Add(uint64(n))
			w.stats.recoveredBytes.Add(uint64(delivered))
			if err != nil {
				// Counted lost, reported, and not handed to the sink
				// again, as the writer goroutine does with the records a
				// call did not deliver: the progress is stored before the
				// report, so that a Goexit in the error handler does not
				// make the next goroutine hand them over again.
				rc.play.leave()
				lost := len(recs) - n
				w.stats.lost(uint64(lost), size-delivered)
				w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) recovered from the spool to the sink: %d delivered, %d (%d bytes) lost: %w",
					len(recs), size, n, lost, size-delivered, err))
			}
		})
		rc.stage++
	}
	if rc.stage == stageRecords {
		_ = rc.play.run(func(p []byte, run []spooled) error {
			rc.calling = true
			err := w.callSink(p)
			rc.calling = false
			if err != nil {
				// Reported, and not written again, as the writer goroutine
				// does with the records of a failed write: the progress is
				// stored before the report, so that a Goexit in the error
				// handler does not make the next goroutine write them
				// again.
				rc.play.leave()
				w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) recovered from the spool to the sink: %w", len(run), len(p), err))
				return nil
			}
			w.stats.recoveredRecords.Add(uint64(len(run)))
			w.stats.recoveredBytes.Add(uint64(len(p)))
			return nil
		})
		rc.stage++
	}
	if rc.stage == stageSync {
		rc.stage++
		w.syncSink()
	}
}

// call makes one sink call of p, which holds no records of the spool,
// marked in the spool's header: a Write, or, for a RecordWriter, a
// WriteRecords call of p as one record.
func (rc *recovery) call(p []byte) error {
	rc.calling = true
	var err error
	if rc.w.records == nil {
		err = rc.w.sinkCallIn(rc.s, p, nil, 0)
	} else {
		one := [1][]byte{p}
		_, err = rc.w.sinkRecordsIn(rc.s, one[:], nil, 0)
	}
	rc.calling = false // not deferred: after a Goexit, interrupted reads it
	return err
}

// end marks the spool written and says the recovery is over. If New gave
// up waiting for it, it lets the spool go.
func (rc *recovery) end() {
	rc.s.markWritten()
	rc.s.head.unended.Store(0)
	clearSpool(rc.s)
	rc.mu.Lock()
	rc.finished = true
	abandoned := rc.abandoned
	rc.mu.Unlock()
	if abandoned {
		rc.s.close()
	}
	close(rc.done)
}

// A replayer hands the records of a spool to a sink, in order, in runs of
// whole records of one buffer, each at most limit and spoolStep bytes long
// (a record longer than that goes alone), and keeps the progress in the
// spool as the writer goroutine does: writing before each call, then the
// call marked in the header (see spool.enter), then written. For a Write,
// run gathers a run in stage; for a RecordWriter, runRecords hands it as
// slices of the records where they lie, at most maxRecordsPerCall of them,
// in recs, reused from call to call.
//
// A record the dead process may already have written (repeat: before
// writing) goes in a call of its own, and writing stays where it is, so
// that a recovery that dies in turn leaves the records it had not written
// again still marked as repeats, and those of the call it died in (the one
// repeat, or a run of up to a step of records no process had written,
// whose writing enter stored): no record reaches the sink whole more than
// twice, however many recoveries die in a row (see WithSpool for the one
// exception), though each death may add up to a step of repeats.
type replayer struct {
	s       *spool
	records []spooled
	next    int // the first record not yet handed to the sink
	end     int // while a call is under way: the record after its run
	stage   []byte
	recs    [][]byte
	limit   int
}

// span returns the end of the run that starts at records[first]: the
// records after it that are of its buffer and no repeats, as many as fit
// limit bytes and most records; the run of a repeat, or of a record
// longer than limit, is that record alone. It returns the run's length in
// bytes too.
func (p *replayer) span(first, limit, most int) (end, n int) {
	i := first
	if !p.records[first].repeat {
		for i < len(p.records) && i-first < most && !p.records[i].repeat &&
			p.records[i].meta == p.records[first].meta && n+len(p.records[i].record) <= limit {
			n += len(p.records[i].record)
			i++
		}
	}
	if i <= first+1 {
		return first + 1, len(p.records[first].record) // alone
	}
	return i, n
}

// enter stores the progress before the call of records[p.next:end] and
// marks the call in the spool's header.
func (p *replayer) enter(end int) {
	last := p.records[end-1]
	if !last.repeat {
		// A record that may be in the sink already is before writing:
		// the progress keeps saying so, should this process die too,
		// until it is written.
		last.meta.writing.Store(last.end)
	}
	p.end = end
	p.s.enter(last.meta)
}

// leave stores that the call entered with enter has returned. Once it
// has, another leave before the next enter changes nothing, so a write
// function may store the progress itself, before it reports a failed call.
func (p *replayer) leave() {
	last := p.records[p.end-1]
	p.s.leave(last.meta, last.end)
	p.next = p.end
}

// run hands the records from next on to write, which makes one sink call
// of p, the records of run, and stops at the first error write returns,
// leaving the records of that call unwritten in the spool.
func (p *replayer) run(write func(p []byte, run []spooled) error) error {
	limit := min(p.limit, len(p.stage), spoolStep)
	for p.next < len(p.records) {
		first := p.next
		i, _ := p.span(first, limit, len(p.records))
		b := p.records[first].record
		if i > first+1 {
			n := 0
			for _, r := range p.records[first:i] {
				n += copy(p.stage[n:], r.record)
			}
			b = p.stage[:n]
		}
		p.enter(i)
		if err := write(b, p.records[first:i]); err != nil {
			// Left in the spool, for another try.
			p.s.head.calling.Store(notCalling)
			return err
		}
		p.leave()
	}
	return nil
}

// runRecords hands the records from next on to write, which makes one
// WriteRecords call of recs, size bytes in all, and accounts for what it
// returned: the records it did not deliver are not handed to it again.
func (p *replayer) runRecords(write func(recs [][]byte, size int)) {
	limit := min(p.limit, spoolStep)
	for p.next < len(p.records) {
		first := p.next
		i, n := p.span(first, limit, maxRecordsPerCall)
		recs := p.recs[:0]
		for _, r := range p.records[first:i] {
			recs = append(recs, r.record)
		}
		p.enter(i)
		write(recs, n)
		p.leave()
		clear(recs)
		p.recs = recs[:0]
	}
}

// skip marks the run of the call under way written, for a call that
// never returned (a Goexit): it is not made again.
func (p *replayer) skip() {
	if p.end > p.next {
		last := p.records[p.end-1]
		last.meta.written.Store(last.end)
		p.next = p.end
	}
}

// endsMidLine reports whether the sink may end in the middle of a line,
// given whether the process that last held the spool died inside a sink
// call (died, from the spool's calling mark), the only way it can have
// left a line unfinished. A regular file is read back: it ends mid-line if
// the process died in a call and its last byte is not a newline. Any other
// sink, which cannot be read back, may end mid-line if the process died in
// a call.
func endsMidLine(sink io.Writer, died bool) bool {
	if !died {
		return false
	}
	if mid, ok := fileEndsMidLine(sink); ok {
		return mid
	}
	return true
}

// fileEndsMidLine reports, for a sink that is a regular file that can be
// read back (ok), whether its last byte is not a newline.
func fileEndsMidLine(sink io.Writer) (mid, ok bool) {
	f, isFile := sink.(*os.File)
	if !isFile {
		return false, false
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return false, false
	}
	if info.Size() == 0 {
		return false, true
	}
	// A log is opened for writing only: read it by its name, if that is
	// still the same file.
	r, err := os.Open(f.Name())
	if err != nil {
		return false, false
	}
	defer r.Close()
	if same, err := r.Stat(); err != nil || !os.SameFile(info, same) {
		return false, false
	}
	var last [1]byte
	if _, err := r.ReadAt(last[:], info.Size()-1); err != nil {
		return false, false
	}
	return last[0] != '\n', true
}
