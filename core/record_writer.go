package core

import (
	"fmt"
	"io"
)

// A RecordWriter is a sink that takes records with their boundaries: a
// network sink that frames each record as a message of its protocol, or
// acknowledges records one by one. When the sink given to WithSink
// implements it, the writer goroutine calls WriteRecords instead of Write
// for everything it hands to the sink: the records of one sink write, as
// slices into the buffer that holds them, in order, each slice one record
// whole, never split and never joined to another. A call holds at most
// 1024 records and, with WithMaxWriteSize, at most that many bytes in all,
// except a call of a single record longer than the bound. A record too
// long for a buffer, and each of the Writer's own notices (see
// WithNotices), is a call of one record. The records are not copied on
// the way: no compaction, no staging buffer, no allocation per call.
//
// WriteRecords returns how many records, from the start of records, the
// sink has delivered: with a nil error that must be all of them, and with
// an error the rest are counted lost (Stats.LostRecords and LostBytes,
// exactly) and the error is reported, as the bytes of a failed Write are.
// A record after n is never handed to the sink again. A panic in
// WriteRecords, or a runtime.Goexit, is handled as one in Write: every
// record of the call is counted lost, the panic is reported (matching
// ErrSinkPanic) and the writer goroutine goes on.
//
// With a spool (WithSpool), the spool keeps the progress of the calls as
// it keeps that of Writes: a call of records of a spooled buffer holds at
// most a step (1 MiB) of them; before it, the spool marks its records as
// being written and the call as under way; once it returns, whatever it
// returned, the records as written and the call as over. What the spool
// protects is a process that dies while WriteRecords is in progress: the
// next New with that spool hands the records of that call to the sink
// again, with WriteRecords, one record a call (counted in
// Stats.RepeatedRecords), then the others it recovers, in calls bounded
// as above, after the recovery notice, a call of its own. It never
// writes a newline to end a line the dead call left torn, as it does for
// a Write: a RecordWriter frames its own records, and a message cut short
// is not a line that the next one would be glued to. Records a call
// returned as not delivered are counted lost and not retried, after a
// crash or not. So a sink that wants every record delivered at least once
// retries inside WriteRecords until its peer has acknowledged them, and
// returns an error only for the records it gives up on.
//
// The slices are valid only during the call: the sink must copy what it
// keeps, and must not modify them. WriteRecords is called from one
// goroutine at a time, and may block: a sink that retries until its peer
// answers makes the buffers fill, and the Writer's Overflow policy
// decide. Sync and Close wait for the call in progress (within the sync
// timeout). The sink's Write, which WithSink requires, is never called by
// a Writer whose sink is a RecordWriter, not even to recover a spool.
type RecordWriter interface {
	WriteRecords(records [][]byte) (n int, err error)
}

// maxRecordsPerCall bounds the records of one WriteRecords call, so that
// the slice of records the writer goroutine keeps for its calls stays
// small (24 KiB on 64-bit machines) however short the records: a buffer
// of 4 MiB holds up to 262,144 of them. It is also IOV_MAX, the most
// iovecs one writev(2) call takes on Linux, macOS and the BSDs.
const maxRecordsPerCall = 1024

// recordCalls is what the writer goroutine keeps to call a RecordWriter
// sink: the sink, and the slices it hands it, kept from call to call so
// that no call allocates. A Writer whose sink is not a RecordWriter has
// none, and is no larger for it.
type recordCalls struct {
	sink   RecordWriter
	recs   [][]byte
	single [1][]byte // a call of one record: a record too long for a buffer, a notice
}

// newRecordCalls returns the recordCalls of sink, or nil if it is not a
// RecordWriter.
func newRecordCalls(sink any) *recordCalls {
	if rw, ok := sink.(RecordWriter); ok {
		return &recordCalls{sink: rw}
	}
	return nil
}

// writeRecordsFrom is writeOutFrom for a sink that is a RecordWriter: it
// walks the frames of sealed buffer b from the frame at off on, as
// writeOutFrom does, and hands the records to the sink as slices into b,
// in calls bounded by the max write size and maxRecordsPerCall and, for a
// spooled buffer, by spoolStep, the progress stored around each (see
// sinkRecordsWrite), so that a crash repeats at most one step. Nothing
// is moved or copied, with a spool or without: b's frames stay as they
// are until every call has returned and b is cleared.
//
// An *os.File sink could take the same slices with writev(2) instead of
// compaction and write(2); measured, that is slower for records shorter
// than about a kilobyte (see BenchmarkFileSink), so files keep compaction.
func (w *Writer) writeRecordsFrom(b *buffer, off uint64) {
	w.exited.buffer, w.exited.from = b, off // before any call out of the package
	w.notes.writeDue(w)
	limit := w.cfg.maxWriteSize
	if b.meta != nil {
		limit = min(limit, spoolStep)
	}
	recs, size := w.records.recs[:0], 0 // the call gathered so far: size bytes
	last := b.end()
	for {
		rec, next, ok := b.next(off, last)
		if !ok {
			break
		}
		if len(recs) > 0 && (size+len(rec) > limit || len(recs) == maxRecordsPerCall) {
			w.stats.accepted(uint64(len(recs)), size)
			w.sinkRecordsWrite(b, recs, size, off)
			recs, size = recs[:0], 0
		}
		recs = append(recs, rec) // alone if it is longer than limit: the next one flushes it
		size += len(rec)
		off = next
	}
	if len(recs) > 0 {
		w.stats.accepted(uint64(len(recs)), size)
		w.sinkRecordsWrite(b, recs, size, off)
	}
	w.records.recs = recs[:0] // the array is kept for the next buffer: no allocation per call
	b.clear()
	w.exited.buffer = nil
	w.release(b)
}

// writeRecord hands p, a record too long for a buffer, already counted
// as accepted by writeLarge, to the RecordWriter sink in a call of its
// own.
func (w *Writer) writeRecord(p []byte) {
	one := &w.records.single
	one[0] = p
	w.sinkRecordsWrite(nil, one[:], len(p), 0)
	one[0] = nil
}

// sinkRecordsWrite hands recs, size bytes of records of b (b nil for a
// record written alone), already counted as accepted, to the RecordWriter
// sink in one call, and counts them written or lost, record by record.
//
// With a spool the progress is kept as sinkWrite keeps it: the frames
// before upto (the end of the last record of the call) are marked being
// written before the call, and written after it returns, whatever it
// returned, and the call is marked in the spool's header (see
// sinkRecordsIn). The records after n of a call that failed are counted
// lost and not retried; those of a call the process died in are in
// [written, writing), which the next New replays.
func (w *Writer) sinkRecordsWrite(b *buffer, recs [][]byte, size int, upto uint64) {
	var meta *spoolMeta
	if b != nil {
		meta = b.meta
	}
	if meta != nil {
		meta.writing.Store(upto)
	}
	// What the next writer goroutine needs, should this one not return:
	// the whole call is then counted lost, as a Write's would be.
	w.exited.call, w.exited.records, w.exited.bytes, w.exited.from = true, uint64(len(recs)), uint64(size), upto
	n, err := w.sinkRecordsIn(w.spool, recs, meta, upto)
	w.exited.call = false
	delivered := size
	if n < len(recs) {
		delivered = 0
		for _, r := range recs[:n] {
			delivered += len(r)
		}
	}
	w.stats.written(uint64(n), delivered)
	if err != nil {
		lost := len(recs) - n
		w.stats.lost(uint64(lost), size-delivered)
		w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) to the sink: %d delivered, %d (%d bytes) lost: %w",
			len(recs), size, n, lost, size-delivered, err))
	}
	clear(recs) // keep no pointer into a buffer that may be let go
}

// sinkRecordsIn makes one WriteRecords call, marked in the header of
// spool s if it is not nil, as sinkCallIn marks a Write: before it, that
// a call is under way, of records of the buffer whose progress is m (nil
// for anything else); after it, that the frames of that buffer before
// upto are written, and that it returned.
func (w *Writer) sinkRecordsIn(s *spool, recs [][]byte, m *spoolMeta, upto uint64) (int, error) {
	if s == nil {
		return w.sinkRecords(recs)
	}
	s.enter(m)
	n, err := w.sinkRecords(recs)
	s.leave(m, upto)
	return n, err
}

// sinkRecords makes one WriteRecords call of the sink, which must be a
// RecordWriter, and returns how many records it delivered, in [0,
// len(recs)], and an error unless that is all of them. A panic in the
// call is recovered and returned as an error matching ErrSinkPanic, with
// n 0: what a panicking sink delivered is not known. It is the
// counterpart of sinkCall for records, and counts the call in Flushes.
func (w *Writer) sinkRecords(recs [][]byte) (n int, err error) {
	w.stats.flushes.Add(1)
	n, err = safeWriteRecords(w.records.sink, recs)
	switch {
	case n < 0 || n > len(recs):
		// Not a count the sink can mean: none is taken as delivered.
		if err == nil {
			err = fmt.Errorf("%w: WriteRecords returned %d for %d records", io.ErrShortWrite, n, len(recs))
		}
		n = 0
	case err == nil && n < len(recs):
		err = io.ErrShortWrite
	}
	return n, err
}

func safeWriteRecords(s RecordWriter, recs [][]byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w in WriteRecords: %v", ErrSinkPanic, r)
		}
	}()
	return s.WriteRecords(recs)
}
