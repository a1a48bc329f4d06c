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
// files; and the error, matching ErrTimeout too, about a recovery that New
// gave up waiting for (see WithSpool). The Writer then runs on memory
// buffers; the error goes to the error handler and is returned by the
// first Sync.
var ErrSpool = errors.New("asynclog: spool")

// WithSpool keeps the two buffers in a memory-mapped file at path instead
// of the process's memory, so that a record is in the kernel's page cache
// as soon as Write returns. It survives whatever ends the process: return
// from main without Close, os.Exit, a panic in any goroutine, SIGTERM,
// SIGKILL, the OOM killer. It does not survive a crash of the kernel or a
// power loss, which take the page cache with them.
//
// The next New with the same path writes to the sink whatever the dead
// process had not written, whole and in order, after a notice that says
// how many records it recovers (see WithNotices), and counts them in
// Stats. A record the process died copying is skipped and counted
// (TornRecords). New waits for that at most the sync timeout
// (WithSyncTimeout): if the sink has not taken everything by then, New
// returns a Writer on memory buffers and reports an error matching both
// ErrSpool and ErrTimeout; the recovery goes on, and the Writer's own
// records reach the sink after it, once the sink returns; what the sink
// never takes stays in the spool, for the next start or asynclog recover.
// A panic or a runtime.Goexit in the sink during recovery is reported, and
// the records of that call are lost, as on the writer goroutine.
//
// The writer goroutine hands the records of the spool to the sink in calls
// of at most 1 MiB (a step; a record longer than that goes alone) and
// stores its progress in the spool around each call, so a crash repeats
// at most the records of the one call the process died in: at most a
// step of them, counted (RepeatedRecords, Notice.Repeated). Recovery
// writes those records one per call, and keeps them marked until each is
// written, and the records no process had written in runs of up to a
// step, as the writer goroutine does; so a recovering process that dies
// in turn adds no repeats but the records of the call it died in: the one
// record, if it may have been in the sink already, or else up to a step of
// records, each death adding at most a step. Either way a record reaches
// the sink whole at most twice, however many recoveries die in a row.
// (The one exception: a
// kill that lands after the kernel has taken the whole of such a
// record's call, but before the call returns, can make that record appear
// a third time.)
//
// Every sink call is marked in the spool, before and after, so that
// recovery knows whether the process died inside one, which may leave the
// sink mid-line; if so, recovery ends the line first, before it writes
// anything else, whether or not there are records to recover. A regular
// file (a bare *os.File) is read back and gets a newline only if its last
// byte is not one. Any other sink gets one whenever the process died inside
// a call: an empty line if the call had written all of its bytes or none.
// A RecordWriter never gets a newline: it frames its own records, so a
// message cut short is not a torn line; recovery hands it the notice and
// the records with WriteRecords, with the same steps, progress and
// one-record calls of repeats (see RecordWriter). Records too long for a
// buffer go straight to the sink and are not in the spool. The command asynclog recover does the same for a process that
// will not be restarted.
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
// A header damaged or forged by someone who may write the file (its owner)
// cannot make recovery read outside the spool: a progress offset that no
// process can have stored is taken as telling nothing, and every record
// of that buffer is replayed, counted as a possible repeat; epochs that
// cannot advance are renumbered once the spool is recovered.
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
	calling atomic.Uint32 // a sink call is under way (see spool.enter)
	unended atomic.Uint32 // a dead process's call may have left a torn line, not yet ended (see Recover)
	_       [12]byte
	meta    [2]spoolMeta
}

// What spoolHeader.calling holds. A spool written before the field
// existed holds notCalling there.
const (
	notCalling  = 0 // no sink call is under way
	callingSink = 1 // a call of a notice, a newline or a record the spool does not hold
	callingRun  = 2 // callingRun+i: a call of records of buffer i
)

// spoolStep is the most bytes of records of the spool that one sink call
// takes (a record longer than that goes alone). The progress of a buffer
// is stored around every call, so a process that dies in a call leaves at
// most one step of records that may have reached the sink to be written
// again. Steps of 256 KiB cost the comparison suite's spool output a
// sixth of its throughput and its p99.9 latency (every sink call is a
// syscall that can give the writer goroutine's processor away); 1 MiB
// kept both within the noise of calls of a whole buffer.
const spoolStep = 1 << 20

// spoolMeta is where a buffer of the spool keeps its progress. The writer
// goroutine (and a recovery) stores writing before each sink call of the
// buffer's records and written after it, as frame offsets, so that
// recovery knows which records reached the sink and which may have.
// reopen stores epoch first: a crash between its stores leaves a newer
// epoch with no frames of its own yet.
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
	nextEpoch uint64 // the first epoch a Writer may take
	exhausted bool   // an epoch is at or past maxSpoolEpoch: see renumber
}

// enter records that a sink call is about to be made: of records of the
// buffer whose progress is m (its writing already stored), or, for m nil,
// of anything else. leave records that it returned. A process that dies
// in between may have left the sink mid-line (see spool.diedInCall).
func (s *spool) enter(m *spoolMeta) {
	c := uint32(callingSink)
	for i := range s.head.meta {
		if m == &s.head.meta[i] {
			c = callingRun + uint32(i)
		}
	}
	s.head.calling.Store(c)
}

// leave records that the sink call entered with m returned: first that
// the frames of m's buffer before upto are written, then that no call is
// under way. A process that dies between the two stores leaves both
// marks, and the progress says the call returned.
func (s *spool) leave(m *spoolMeta, upto uint64) {
	if m != nil {
		m.written.Store(upto)
	}
	s.head.calling.Store(notCalling)
}

// diedInCall reports whether the process that last held the spool died
// inside a sink call, which may have left the sink mid-line.
func (s *spool) diedInCall() bool {
	if s.head.unended.Load() != 0 {
		return true // kept by a Recover that could not end the line
	}
	c := s.head.calling.Load()
	switch {
	case c == notCalling:
		return false
	case c >= callingRun && int(c-callingRun) < len(s.head.meta):
		m := &s.head.meta[c-callingRun]
		return m.written.Load() != m.writing.Load() // equal: leave had stored written
	}
	return true
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
		if b.epoch >= maxSpoolEpoch {
			s.exhausted = true
		} else {
			s.nextEpoch = max(s.nextEpoch, b.epoch+1)
		}
	}
	return s, nil
}

// maxSpoolEpoch bounds the epochs a spool may hold for a Writer to go on
// from them. A process takes a new epoch at every swap of buffers and
// cannot make 2^63 swaps, so only a damaged or forged header holds one at
// or past it; its epochs could wrap round to 0, the epoch of an unused
// buffer, which recovery skips, and a wrapped epoch would sort before
// older ones. Such a spool is renumbered (see spool.renumber).
const maxSpoolEpoch = 1 << 63

// renumber starts the epochs of s afresh, at 1, if they cannot advance
// (see maxSpoolEpoch). It is called when a Writer takes the spool over,
// once every record in it is written and its buffers are cleared, so that
// no frame carries the tag of an old epoch: both buffers are marked
// unused (epoch 0), and a process that dies in between leaves a buffer
// that is unused or holds nothing unwritten.
func (s *spool) renumber() {
	if !s.exhausted {
		return
	}
	for _, b := range s.buffers {
		b.meta.reopen(0, time.Unix(0, 0))
		b.epoch = 0
		b.tag.Store(b.tagOf(0))
	}
	s.nextEpoch, s.exhausted = 1, false
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
	w.recoverSpool(s)
}

// A spooled is a record found in a spool.
type spooled struct {
	record []byte
	meta   *spoolMeta // where its buffer keeps its progress
	end    uint64     // where its frame ends: the progress once it is written
	repeat bool       // in the sink call the process died in: it may be in the sink already
}

// recovered is what a spool holds that its last process did not write.
type recovered struct {
	records  []spooled // in the order they were logged
	bytes    uint64
	torn     uint64
	repeated uint64    // records of the sink call the process died in (repeat)
	midWrite bool      // a buffer's writing is ahead of its written
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
		written, writing := m.progress(uint64(len(b.data)))
		if writing > written {
			r.midWrite = true
		}
		walkFrames(b.data, b.tagOf(m.epoch.Load()), written, func(off uint64, rec []byte) {
			if len(r.records) == 0 {
				r.since = time.Unix(0, m.since.Load())
			}
			repeat := off < writing
			r.records = append(r.records, spooled{record: rec, meta: m, end: off + frameLen(len(rec)), repeat: repeat})
			r.bytes += uint64(len(rec))
			if repeat {
				r.repeated++
			}
		}, func() { r.torn++ })
	}
	return r
}

// progress returns the buffer's written and writing offsets, for a buffer
// of size bytes, checked: this is the one place where recovery takes them
// from the file. An offset that no process can have stored (past the end
// of the buffer, or not on a frame's 8-byte boundary), as a damaged or
// forged spool may hold, tells nothing: written is then taken as 0, so
// that every committed frame of the buffer's epoch is replayed, and
// writing as size, so that those records are counted as possibly in the
// sink already (Notice.Repeated) and replayed one per call. A spool is
// never refused for it, and no offset outside the buffer is ever used.
func (m *spoolMeta) progress(size uint64) (written, writing uint64) {
	possible := func(off uint64) bool { return off <= size && off%8 == 0 }
	written, writing = m.written.Load(), m.writing.Load()
	if !possible(written) {
		return 0, size
	}
	if !possible(writing) {
		writing = size
	}
	return written, writing
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
	if off > size {
		return // not an offset of data (see spoolMeta.progress)
	}
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
// If the process died inside a sink call (see WithSpool) and dst is a
// regular file that ends mid-line (a log the process died writing,
// appended to), Recover ends the line first; it writes no newline into
// anything else, and leaves the spool saying that a call was cut short,
// so that the next New with the spool ends the line in the program's
// log, as WithSpool says, even though Recover has written every record. Of opts, Recover uses WithNotices only:
// given a format, it then writes the notice that the next New would write
// (see WithSpool), if there are records, as asynclog recover does; without
// it, it writes the records alone. It writes the records in calls of at
// most a step (1 MiB), and keeps its progress in the spool as New does, so
// that a Recover or a New after a Recover that died in turn repeats no
// record a second time (see WithSpool).
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
	// dst is the program's log only if it is a file that it appends to:
	// anything else gets no newline, a regular file one if the process
	// died inside a sink call and the file ends mid-line. Recover's own
	// calls clear the calling mark and markWritten the progress, so a
	// torn line that Recover does not end is kept in the header for the
	// next New, which ends it in the program's log.
	if s.diedInCall() {
		s.head.unended.Store(1)
		if mid, ok := fileEndsMidLine(dst); ok && mid {
			s.enter(nil)
			err := writeAll(dst, []byte("\n"))
			s.leave(nil, 0)
			if err != nil {
				return note, err
			}
			s.head.unended.Store(0)
		}
	}
	s.enter(nil)
	err = writeRecoverNotice(dst, note, opts)
	s.leave(nil, 0)
	if err != nil {
		return note, err
	}
	play := replayer{s: s, records: r.records, stage: make([]byte, min(size, spoolStep)), limit: size}
	err = play.run(func(p []byte, _ []spooled) error { return writeAll(dst, p) })
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

// writeAll makes one Write call of p to dst; a short write is an error.
func writeAll(dst io.Writer, p []byte) error {
	n, err := dst.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	return err
}
