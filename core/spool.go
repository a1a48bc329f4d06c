package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"sync/atomic"
	"time"
	"unsafe"
)

// ErrSpool is matched by the errors about a spool: one that cannot be
// created, opened or locked, a file that is not a spool or was made with
// another buffer size, a file refused because another user could have
// read or forged it (see WithSpool), or a platform without memory-mapped
// files. The
// Writer then runs on memory buffers; the error goes to the error handler
// and is returned by the first Sync.
var ErrSpool = errors.New("asynclog: spool")

// WithSpool keeps the two buffers in a memory-mapped file at path instead
// of the process's memory, so that a record is in the kernel's page cache
// as soon as Write returns. It survives whatever ends the process: return
// from main without Close, os.Exit, a panic in any goroutine, SIGTERM,
// SIGKILL, the OOM killer. It does not survive a crash of the kernel or a
// power loss, which take the page cache with them.
//
// The next New with the same path, before it returns, writes to the sink
// whatever the dead process had not written, whole and in order, after a
// notice that says how many records it recovers (see WithNotices), and
// counts them in Stats. A record the process died copying is skipped and
// counted (TornRecords). Records of the sink write the process died in may
// reach the sink twice: at most one sink write, counted
// (RepeatedRecords), even if the process that recovers dies too. If the
// sink is a file that ends mid-line, as that write may leave it, recovery
// ends the line first. Records too long for a buffer go straight to the
// sink and are not in the spool. The command asynclog recover does the
// same for a process that will not be restarted.
//
// The file holds a header page and the two buffers, at their full size
// (WithBufferSize), with every block allocated when it is created, so that
// a full disk fails New rather than a Write. One process at a time holds a
// spool (a lock on the file). If the spool cannot be used, because the file
// cannot be created, locked or allocated, is not a spool, or was made with
// another buffer size (it is then left as it is, for asynclog recover),
// the Writer runs on memory buffers and the error, matching ErrSpool, goes
// to the error handler and to the first Sync. Spools work on Linux, macOS
// and FreeBSD; elsewhere that error says so.
//
// A spool holds the log's records, and what it holds is replayed into the
// sink as this process's own: New creates it with mode 0600, never
// follows a symbolic link at path (not even a dangling one, whose target
// it would create), and refuses, without reading it, a file that is not a
// regular file, is not owned by the process's effective user, or that
// group or others may read or write. Recover refuses the same files. The
// error, matching ErrSpool, says which check failed.
//
// Keep the spool on a local file system, and do not truncate it while it
// is in use: a mapped page that disappears kills the process with SIGBUS.
// On copy-on-write file systems (btrfs, ZFS) a full disk can still do so.
func WithSpool(path string) Option {
	return func(c *config) { c.spoolPath = path }
}

// The spool file: a header page, then buffer 0, then buffer 1, each the
// configured buffer size. Numbers are in the machine's byte order; the
// order field tells another order apart.
const (
	spoolMagic   = "asynclog spool\n\x00"
	spoolVersion = 1
	spoolOrder   = 0x01020304
	spoolHeadLen = 4096
)

// spoolHeader is the start of the header page.
type spoolHeader struct {
	magic   [16]byte
	order   uint32
	version uint32
	size    uint64        // bytes in each buffer
	pid     atomic.Uint64 // the process that last held the spool
	salt    uint32        // random, drawn at creation (see buffer.tagOf)
	_       [20]byte
	meta    [2]spoolMeta
}

// spoolMeta is where a buffer of the spool keeps its progress. The writer
// goroutine stores writing before each sink write and written after it,
// as frame offsets, so that recovery knows which records reached the sink
// and which may have. reopen stores epoch first: a crash between its
// stores leaves a newer epoch with no frames of its own yet.
type spoolMeta struct {
	epoch   atomic.Uint64 // the buffer's epoch; its frames carry the spool's tag of it
	since   atomic.Int64  // when the epoch began, in Unix nanoseconds
	written atomic.Uint64 // frames before this offset are in the sink
	writing atomic.Uint64 // frames before this offset may be
	_       [32]byte
}

func (m *spoolMeta) reopen(epoch uint64, now time.Time) {
	m.epoch.Store(epoch)
	m.since.Store(now.UnixNano())
	m.written.Store(0)
	m.writing.Store(0)
}

// A spool is an open, locked, mapped spool file.
type spool struct {
	path      string
	file      *os.File
	mem       []byte // the mapping: header page and both buffers
	head      *spoolHeader
	buffers   [2]*buffer
	nextEpoch uint64
}

// spoolSize returns the length of a spool file with buffers of size bytes.
func spoolSize(size int) int64 { return spoolHeadLen + 2*int64(size) }

// openSpool opens or creates the spool at path, maps it and locks it. For
// a file that is not a spool it returns an error matching ErrSpool and
// leaves the file alone.
func openSpool(path string, size int) (*spool, error) {
	f, err := openSpoolFile(path, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpool, err)
	}
	s, err := mapSpool(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w %s: %w", ErrSpool, path, err)
	}
	s.path = path
	return s, nil
}

// mapSpool locks f, creates the spool in it if it is empty (or holds only
// zeros, as a creation cut short leaves it), checks it, and maps it.
func mapSpool(f *os.File, size int) (*spool, error) {
	if err := lockFile(f); err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	want := spoolSize(size)
	fresh, err := blank(f, info.Size())
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := createSpool(f, size); err != nil {
			return nil, err
		}
	} else if err := checkSpool(f, info.Size(), size); err != nil {
		return nil, err
	}
	mem, err := mapFile(f, int(want))
	if err != nil {
		return nil, err
	}
	s := &spool{file: f, mem: mem, head: (*spoolHeader)(unsafe.Pointer(&mem[0]))}
	for i := range s.buffers {
		start := spoolHeadLen + i*size
		b := newBuffer(mem[start : start+size : start+size])
		b.meta = &s.head.meta[i]
		b.salt = s.head.salt
		b.epoch = b.meta.epoch.Load()
		b.tag.Store(b.tagOf(b.epoch))
		s.buffers[i] = b
		s.nextEpoch = max(s.nextEpoch, b.epoch+1)
	}
	return s, nil
}

// blank reports whether the file of n bytes is empty or all zeros.
func blank(f *os.File, n int64) (bool, error) {
	buf := make([]byte, 64<<10)
	for off := int64(0); off < n; {
		k, err := f.ReadAt(buf, off)
		if !allZero(buf[:k]) {
			return false, nil
		}
		off += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

func allZero(p []byte) bool {
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// createSpool writes a new spool with buffers of size bytes into f, which
// is blank. Tests replace it to fail as a full disk does.
var createSpool = func(f *os.File, size int) error { return writeSpool(f, size) }

// A spoolFile is what writeSpool needs of a file.
type spoolFile interface {
	io.WriterAt
	Truncate(size int64) error
}

// writeSpool writes a new spool into f, which is blank: zeros over its
// whole length, so that the file system allocates every block now and a
// full disk fails here rather than in a Write (and then it gives the
// blocks back, for the sink may be on the same disk); then the header, in
// one write inside the first page, which a process makes whole or dies
// before making, so that a creation cut short leaves a blank file, in
// which the next New creates the spool again.
func writeSpool(f spoolFile, size int) error {
	total := spoolSize(size)
	zeros := make([]byte, 64<<10)
	for off := int64(0); off < total; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), total-off)], off); err != nil {
			_ = f.Truncate(0)
			return fmt.Errorf("allocating the spool: %w", err)
		}
	}
	if err := f.Truncate(total); err != nil { // a blank file may have been longer
		return err
	}
	h := make([]byte, 44)
	copy(h, spoolMagic)
	binary.NativeEndian.PutUint32(h[16:], spoolOrder)
	binary.NativeEndian.PutUint32(h[20:], spoolVersion)
	binary.NativeEndian.PutUint64(h[24:], uint64(size))
	binary.NativeEndian.PutUint32(h[40:], rand.Uint32()) // the salt
	_, err := f.WriteAt(h, 0)
	return err
}

// parseSpoolHeader checks the first 32 bytes of a spool file and returns
// the size of its buffers.
func parseSpoolHeader(h []byte) (size int, err error) {
	if len(h) < 32 || string(h[:16]) != spoolMagic {
		return 0, errors.New("not a spool")
	}
	order := binary.NativeEndian.Uint32(h[16:])
	version := binary.NativeEndian.Uint32(h[20:])
	n := binary.NativeEndian.Uint64(h[24:])
	switch {
	case order != spoolOrder:
		return 0, errors.New("a spool of a machine with another byte order")
	case version != spoolVersion:
		return 0, fmt.Errorf("a spool of format %d, not %d", version, spoolVersion)
	case n < MinBufferSize || n > MaxBufferSize || n%8 != 0:
		return 0, fmt.Errorf("not a spool: buffers of %d bytes", n)
	}
	return int(n), nil
}

// readSpoolHeader reads the header of f and returns the size of its
// buffers.
func readSpoolHeader(f *os.File) (size int, err error) {
	var h [32]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return 0, errors.New("not a spool")
	}
	return parseSpoolHeader(h[:])
}

// checkSpool checks that f, of n bytes, is a spool of this machine with
// buffers of size bytes.
func checkSpool(f *os.File, n int64, size int) error {
	got, err := readSpoolHeader(f)
	switch {
	case err != nil:
		return err
	case got != size:
		return fmt.Errorf("a spool with %d-byte buffers, not %d: recover it with asynclog recover, or remove it", got, size)
	case n != spoolSize(size):
		return fmt.Errorf("a spool of %d bytes, not %d: truncated", n, spoolSize(size))
	}
	return nil
}

// close unmaps and unlocks the spool.
func (s *spool) close() {
	_ = unmapFile(s.mem)
	_ = s.file.Close()
}

// openSpool sets up w's spool, or reports why it cannot.
func (w *Writer) openSpool() {
	s, err := openSpool(w.cfg.spoolPath, w.cfg.bufferSize)
	if err != nil {
		w.report(err)
		return
	}
	w.spool = s
	w.recoverSpool()
}

// A spooled is a record found in a spool.
type spooled struct {
	record []byte
	meta   *spoolMeta // where its buffer keeps its progress
	end    uint64     // where its frame ends: the progress once it is written
}

// recovered is what a spool holds that its last process did not write.
type recovered struct {
	records  []spooled // in the order they were logged
	bytes    uint64
	torn     uint64
	repeated uint64    // records in the sink write the process died in
	midWrite bool      // it died inside a sink write of records from the spool
	since    time.Time // when the oldest buffer with records began
}

// unwritten walks both buffers of s and returns what was not written,
// oldest buffer first.
func (s *spool) unwritten() recovered {
	var r recovered
	bufs := []*buffer{s.buffers[0], s.buffers[1]}
	sort.Slice(bufs, func(i, j int) bool { return bufs[i].meta.epoch.Load() < bufs[j].meta.epoch.Load() })
	for _, b := range bufs {
		m := b.meta
		if m.epoch.Load() == 0 {
			continue
		}
		written, writing := m.written.Load(), m.writing.Load()
		if writing > written {
			r.midWrite = true
		}
		walkFrames(b.data, b.tagOf(m.epoch.Load()), written, func(off uint64, rec []byte) {
			if len(r.records) == 0 {
				r.since = time.Unix(0, m.since.Load())
			}
			r.records = append(r.records, spooled{record: rec, meta: m, end: off + frameLen(len(rec))})
			r.bytes += uint64(len(rec))
			if off < writing {
				r.repeated++
			}
		}, func() { r.torn++ })
	}
	return r
}

// replay hands records to write in runs of whole records of one buffer,
// each as long as limit allows and gathered in stage (a record longer than
// either goes alone), and keeps the progress in the spool as the writer
// goroutine does: writing before each write, written after it succeeded,
// so that the next recovery after a process that died replaying repeats
// at most the write it died in. It stops at the first error write
// returns.
func replay(records []spooled, stage []byte, limit int, write func(p []byte, records uint64) error) error {
	limit = min(limit, len(stage))
	for first := 0; first < len(records); {
		i, n := first, 0 // the run is records[first:i], n bytes
		for i < len(records) && records[i].meta == records[first].meta && n+len(records[i].record) <= limit {
			n += len(records[i].record)
			i++
		}
		p := records[first].record
		if i == first {
			i++ // too long for a run: alone
		} else {
			n = 0
			for _, r := range records[first:i] {
				n += copy(stage[n:], r.record)
			}
			p = stage[:n]
		}
		last := records[i-1]
		last.meta.writing.Store(last.end)
		if err := write(p, uint64(i-first)); err != nil {
			return err
		}
		last.meta.written.Store(last.end)
		first = i
	}
	return nil
}

// replayRecords is recoverSpool's replay for a sink that is a
// RecordWriter: records stay records, handed to WriteRecords in calls
// within the max write size and maxRecordsPerCall, each within one
// buffer, the spool's progress kept as replay keeps it.
func (w *Writer) replayRecords(records []spooled) {
	recs := make([][]byte, 0, maxRecordsPerCall)
	for first := 0; first < len(records); {
		i, size := first, 0
		recs = recs[:0]
		for i < len(records) && records[i].meta == records[first].meta && len(recs) < maxRecordsPerCall &&
			(i == first || size+len(records[i].record) <= w.cfg.maxWriteSize) {
			size += len(records[i].record)
			recs = append(recs, records[i].record)
			i++
		}
		last := records[i-1]
		last.meta.writing.Store(last.end)
		n, err := w.sinkRecords(recs)
		last.meta.written.Store(last.end)
		delivered := 0
		for _, rec := range recs[:n] {
			delivered += len(rec)
		}
		w.stats.recoveredRecords += uint64(n)
		w.stats.recoveredBytes += uint64(delivered)
		if err != nil {
			// Reported, and not written again, as the writer goroutine
			// does with the records of a failed call.
			w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) recovered from the spool to the sink: %d delivered, %d (%d bytes) lost: %w",
				len(recs), size, n, len(recs)-n, size-delivered, err))
		}
		first = i
	}
}

// markWritten records that every frame of both buffers has been written.
func (s *spool) markWritten() {
	for _, b := range s.buffers {
		end := uint64(len(b.data))
		b.meta.writing.Store(end)
		b.meta.written.Store(end)
	}
}

// walkFrames calls record for every committed record of epoch tag in
// data, from the frame at off, in order, and torn for every stretch of
// frames that were reserved but never committed, as a process that died
// leaves them: a frame whose header does not carry tag, followed further
// on by frames that do. It stops at a padding frame, at the end, or where
// no frame of tag follows.
//
// A header is found in a stretch by its tag, its commit bit and a length
// that fits: 8 bytes that a record's own bytes would have to match
// exactly. Text logs cannot: the tag is a count of swaps, and the bytes of
// a header hold zeros and the commit bit.
func walkFrames(data []byte, tag uint32, off uint64, record func(off uint64, rec []byte), torn func()) {
	size := uint64(len(data))
	valid := func(off uint64) (h uint64, ok bool) {
		h = binary.NativeEndian.Uint64(data[off:])
		if uint32(h>>32) != tag || h&commitBit == 0 {
			return h, false
		}
		if h&paddingBit != 0 {
			return h, off+headerLen+h&lengthMask == size
		}
		return h, off+frameLen(int(h&lengthMask)) <= size
	}
	off &^= 7 // a frame starts on 8 bytes
	for off+headerLen <= size {
		h, ok := valid(off)
		if !ok {
			next := off + headerLen
			for ; next+headerLen <= size; next += headerLen {
				if _, ok := valid(next); ok {
					break
				}
			}
			if next+headerLen > size {
				return
			}
			torn()
			off = next
			continue
		}
		if h&paddingBit != 0 {
			return
		}
		n := h & lengthMask
		record(off, data[off+headerLen:off+headerLen+n])
		off += frameLen(int(n))
	}
}

// recoverSpool writes what the dead process left in w's spool to the sink,
// after a notice, syncs the sink, and marks the spool written. New calls
// it before any record can be written.
func (w *Writer) recoverSpool() {
	s := w.spool
	r := s.unwritten()
	pid := int(s.head.pid.Swap(uint64(os.Getpid())))
	w.stats.tornRecords = r.torn
	if len(r.records) > 0 {
		if w.records == nil && endsMidLine(w.cfg.sink, r.midWrite) {
			// Finish the line that the dead process's last sink write
			// left unfinished, so that what follows starts a line.
			if err := w.sinkCall([]byte("\n")); err != nil {
				w.report(fmt.Errorf("asynclog: writing a newline to the sink: %w", err))
			}
		}
		w.writeNotice(Notice{Kind: NoticeRecovered, Time: time.Now(), Records: uint64(len(r.records)), Bytes: r.bytes,
			Since: r.since, Spool: s.path, PID: pid, Torn: r.torn, Repeated: r.repeated}, nil)
		if w.records != nil {
			w.replayRecords(r.records)
		} else {
			w.stage = make([]byte, min(w.cfg.maxWriteSize, w.cfg.bufferSize))
			_ = replay(r.records, w.stage, w.cfg.maxWriteSize, func(p []byte, records uint64) error {
				if err := w.sinkCall(p); err != nil {
					// Reported, and not written again, as the writer goroutine
					// does with the records of a failed write.
					w.report(fmt.Errorf("asynclog: writing %d records (%d bytes) recovered from the spool to the sink: %w", records, len(p), err))
					return nil
				}
				w.stats.recoveredRecords += records
				w.stats.recoveredBytes += uint64(len(p))
				return nil
			})
		}
		w.syncSink()
		w.stats.repeatedRecords = r.repeated
	}
	s.markWritten()
	for _, b := range s.buffers {
		if !allZero(b.data) { // after a Close, writeOut has cleared it
			clear(b.data) // as writeOut leaves a buffer it has written
		}
	}
}

// endsMidLine reports whether the sink may end in the middle of a line:
// for a regular file, whether its last byte is not a newline, as a process
// that died in a sink write (of records from the spool, of a record too
// long for it, or of a notice) may leave it; for any other sink, which
// cannot be read back, whether the process died in a sink write of records
// from the spool (midWrite).
func endsMidLine(sink io.Writer, midWrite bool) bool {
	f, ok := sink.(*os.File)
	if !ok {
		return midWrite
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return midWrite
	}
	if info.Size() == 0 {
		return false
	}
	// A log is opened for writing only: read it by its name, if that is
	// still the same file.
	r, err := os.Open(f.Name())
	if err != nil {
		return midWrite
	}
	defer r.Close()
	if same, err := r.Stat(); err != nil || !os.SameFile(info, same) {
		return midWrite
	}
	var last [1]byte
	if _, err := r.ReadAt(last[:], info.Size()-1); err != nil {
		return midWrite
	}
	return last[0] != '\n'
}

// Recover writes to dst the records that the process that last held the
// spool at path did not write to its sink, in order, whole, and marks them
// written as they go, so that neither the next New with that spool nor
// another Recover writes them again. It is what asynclog recover does, for
// a process that will not be restarted. It returns a Notice of what it
// found; records that the process may already have written are included,
// and counted in Notice.Repeated. It syncs dst if it has a Sync method.
// The spool must not be in use: an error matching ErrSpool says so, or
// that the file is not a spool.
//
// Of opts, Recover uses WithNotices only: given a format, it writes the
// notice that the next New would write (see WithSpool) to dst before the
// records, if there are any, as asynclog recover does; without it, it
// writes the records alone.
func Recover(path string, dst io.Writer, opts ...Option) (Notice, error) {
	f, err := openSpoolFile(path, false)
	if err != nil {
		return Notice{}, fmt.Errorf("%w: %w", ErrSpool, err)
	}
	var s *spool
	size, err := readSpoolHeader(f)
	if err == nil {
		s, err = mapSpool(f, size)
	}
	if err != nil {
		f.Close()
		return Notice{}, fmt.Errorf("%w %s: %w", ErrSpool, path, err)
	}
	s.path = path
	defer s.close()
	r := s.unwritten()
	note := Notice{Kind: NoticeRecovered, Time: time.Now(), Records: uint64(len(r.records)), Bytes: r.bytes,
		Since: r.since, Spool: path, PID: int(s.head.pid.Load()), Torn: r.torn, Repeated: r.repeated}
	if err := writeRecoverNotice(dst, note, opts); err != nil {
		return note, err
	}
	err = replay(r.records, make([]byte, size), size, func(p []byte, _ uint64) error {
		_, err := dst.Write(p)
		return err
	})
	if err != nil {
		return note, err
	}
	if sy, ok := dst.(interface{ Sync() error }); ok {
		if err := sy.Sync(); err != nil && !ignorableSyncError(err) {
			return note, err
		}
	}
	s.markWritten()
	return note, nil
}
