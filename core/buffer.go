package core

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// A buffer is one of the Writer's two buffers: a run of frames, each a
// record with an 8-byte header in front of it. It lives through epochs:
// reopened (empty, accepting), sealed (accepting nothing), walked by the
// writer goroutine (every record handed to the sink), reopened again.
//
// # The reservation protocol
//
// One atomic word, state, is all that callers share:
//
//	state   bit 63: sealed; bits 0-62: bytes reserved so far (the offset)
//
// A caller reserves a frame, header and record rounded up to 8 bytes, with
// one atomic add to state. The value it gets back says everything: if the
// sealed bit is set, the buffer accepts nothing more and the caller tries
// elsewhere; otherwise the frame is [offset-len, offset). If it ends inside
// the buffer, the caller copies its record in after the header and then
// commits it by storing the header, last, with a release store (one that
// no other core sees before the stores ahead of it; see storeRelease):
//
//	header  bits 0-29: record length; bit 30: padding; bit 31: committed;
//	        bits 32-63: the buffer's epoch tag
//
// That is the whole fast path: one atomic add, a copy, one release store
// into the caller's own reserved bytes. No other word is written, and the
// only fence is the add's: the caller goes on while the record's cache
// lines, last written on another core, are still on their way.
//
// A reservation that runs past the end fails. Exactly one failing caller
// straddles the end (its frame starts before the end and finishes after
// it): the crosser. It commits a padding frame at its start, which says
// "the records stop here". A reservation that starts at or past the end
// does nothing. The offset may run past the size by the total of such
// failed attempts; 63 bits leave room for centuries of them.
//
// To take the buffer out, the owner seals it: an atomic OR of the sealed
// bit, ordered with every reservation by being on the same word. The offset
// it returns, sealedAt, fixes the frames to walk: every reservation below
// min(sealedAt, size) was made before the seal, so its caller saw the
// buffer open and will commit it, as a record or as the crosser's padding.
// The owner walks the frames from the start and waits at each one whose
// header is not yet committed: its caller is still copying (or was
// preempted while copying). Once the records are written the owner clears
// what the epoch used, so that every header slot of the next epoch holds
// zero until its caller commits it. The epoch tag in each header is one
// more check, and what tells a spool's frames of the current epoch from
// older ones after a crash.
//
// The same frames are the spool's recovery format: after a crash a header
// of the buffer's epoch that is committed is a whole record; anything else
// is a record whose copy never finished, or stale bytes.
type buffer struct {
	_     cacheLinePad
	state atomic.Uint64
	_     cacheLinePad

	data   []byte // fixed; len(data) is the buffer size, a multiple of 8
	high   uint64 // fixed: the high-water mark, where the writer goroutine is woken
	urgent uint64 // fixed: halfway from high to the end, where the caller yields to it

	// The epoch tag of this epoch's frames, never 0. Set by reopen before
	// the state store that opens the buffer, and read by callers only
	// between their reservation and their commit, before which the buffer
	// cannot be reopened. Atomic, although that order protects it, so that
	// the race detector sees the order also when the headers that carry it
	// are in a spool's mapping, whose atomics it does not follow.
	tag atomic.Uint32

	// Fixed: mixed into the tags of a spool's buffers (see tagOf).
	salt uint32

	// Written and read by the Writer under its mutex or by the owner of
	// the sealed buffer.
	epoch    uint64 // the global number of this epoch (see Writer.epoch)
	seq      uint64 // the number of the swap that sealed it (see Writer.swaps)
	sealedAt uint64 // the offset when the buffer was sealed
	filledAt uint64 // where fill padded it from; noFill if it did not
	since    time.Time
	meta     *spoolMeta // where the spool keeps this buffer's progress; nil in memory
}

// cacheLinePad keeps the words callers fight over off the cache lines of
// other data: 128 bytes covers the 64-byte lines of amd64 and the 128-byte
// lines of some arm64 parts.
type cacheLinePad [128]byte

const (
	sealedBit  = 1 << 63
	offsetMask = sealedBit - 1

	headerLen  = 8
	lengthMask = 1<<30 - 1
	paddingBit = 1 << 30
	commitBit  = 1 << 31
)

// frameLen returns the bytes a record of n bytes takes in a buffer: the
// header, then the record rounded up to 8 bytes, so that every header is
// aligned for atomic access.
func frameLen(n int) uint64 {
	return headerLen + (uint64(n)+7)&^7
}

// maxRecordIn returns the longest record a buffer of size bytes can hold.
func maxRecordIn(size int) int {
	return size - headerLen
}

// newBuffer returns a sealed buffer over data, which must be 8-byte
// aligned and a multiple of 8 long. It accepts nothing until reopen.
func newBuffer(data []byte) *buffer {
	if len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%8 != 0 {
		panic("asynclog: buffer not aligned") // make and mmap both align
	}
	size := uint64(len(data))
	high := min(size/2, maxHighWater)
	b := &buffer{data: data, high: high, urgent: high + (size-high)/2, filledAt: noFill}
	b.state.Store(sealedBit)
	return b
}

// size returns the buffer's size in bytes.
func (b *buffer) size() uint64 { return uint64(len(b.data)) }

func (b *buffer) header(off uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&b.data[off]))
}

// reserve claims a frame for a record of n bytes, which must be at most
// maxRecordIn(size). It returns the frame's offset and true if the record
// is to be copied there, or false if the buffer is sealed or has no room.
func (b *buffer) reserve(n int) (off uint64, ok bool) {
	l := frameLen(n)
	s := b.state.Add(l)
	if s&sealedBit != 0 {
		return 0, false
	}
	end := s & offsetMask
	start := end - l
	if end <= b.size() {
		return start, true
	}
	if start < b.size() {
		b.pad(start) // the crosser marks the end
	}
	return 0, false
}

// put copies p into the frame reserved at off and commits it, with a
// release store of the header (see storeRelease): the walker's atomic load
// of the header then sees the record, and the caller does not wait for
// the record's cache lines.
func (b *buffer) put(off uint64, p []byte) {
	copy(b.data[off+headerLen:], p)
	storeRelease((*uint64)(unsafe.Pointer(&b.data[off])), uint64(b.tag.Load())<<32|commitBit|uint64(len(p)))
}

// pad commits a padding frame at off, which runs to the end of the buffer.
func (b *buffer) pad(off uint64) {
	rest := b.size() - off - headerLen
	b.header(off).Store(uint64(b.tag.Load())<<32 | commitBit | paddingBit | rest)
}

// fill reserves what is left of an open buffer as padding, so that no
// caller finds room in it until the next swap. The Writer's mutex must be
// held.
func (b *buffer) fill() {
	off := b.offset()
	if off >= b.size() {
		return
	}
	rest := b.size() - off
	s := b.state.Add(rest)
	if start := s&offsetMask - rest; s&sealedBit == 0 && start < b.size() {
		b.pad(start) // as a crosser does, or exactly to the end
		b.filledAt = min(b.filledAt, start)
	}
}

// noFill is filledAt of a buffer that fill has not padded in this epoch.
const noFill = ^uint64(0)

// used returns how far records reached in a sealed buffer: up to where it
// was sealed or, if fill padded it to keep callers out, where that began.
func (b *buffer) used() uint64 {
	return min(b.sealedAt, b.filledAt)
}

// offset returns the bytes reserved so far, which may exceed the size.
func (b *buffer) offset() uint64 {
	return b.state.Load() & offsetMask
}

// seal stops the buffer from accepting records and fixes the frames that
// walk will return. Sealing twice has no further effect.
func (b *buffer) seal() {
	s := b.state.Or(sealedBit)
	if s&sealedBit == 0 {
		b.sealedAt = s & offsetMask
	}
}

// reopen starts epoch (a number that grows with every reopen of either
// buffer, whose tag must not be 0) and lets the buffer accept records
// again. The buffer must be sealed, walked and cleared (see clear). A
// caller that reserved in the previous epoch saw the sealed bit and has
// given up; one that reserves after this is a caller of the new epoch,
// even if it loaded the buffer long ago.
func (b *buffer) reopen(epoch uint64, now time.Time) {
	b.epoch, b.since, b.sealedAt, b.filledAt = epoch, now, 0, noFill
	b.tag.Store(b.tagOf(epoch))
	if b.meta != nil {
		b.meta.reopen(epoch, now)
	}
	b.state.Store(0)
}

// tagOf returns the tag of epoch's frames: its low 32 bits, mixed in a
// spool with a salt drawn when the spool was made, so that the bytes of a
// record cannot be made on purpose to read as a committed header of a
// later epoch, which recovery, looking past a record torn by a crash,
// would take for one. 0 is never a tag (see Writer.reopen).
func (b *buffer) tagOf(epoch uint64) uint32 { return uint32(epoch) ^ b.salt }

// clear zeroes what the epoch wrote, once it is written: a header slot of
// the next epoch then holds zero until its caller commits, never the bytes
// of an earlier record, which could read as a committed header of the new
// tag. Tags are a count of swaps, so a record could carry one on purpose.
func (b *buffer) clear() {
	clear(b.data[:b.end()])
	b.sealedAt = 0 // and nothing is left to walk
}

// end returns the offset where the frames of a sealed buffer stop at the
// latest: a padding frame may end them earlier.
func (b *buffer) end() uint64 {
	return min(b.sealedAt, b.size())
}

// next returns the record of the frame at off in a sealed buffer and the
// offset of the frame after it, waiting until its caller has committed it,
// and false when the records end there: at end, which must be b.end(), or
// at a padding frame.
func (b *buffer) next(off, end uint64) (record []byte, after uint64, ok bool) {
	if off >= end {
		return nil, off, false
	}
	h := b.header(off).Load()
	if uint32(h>>32) != b.tag.Load() || h&commitBit == 0 {
		h = b.waitCommitted(off)
	}
	n := h & lengthMask
	after = off + headerLen + (n+7)&^7
	if h&paddingBit != 0 || after > uint64(len(b.data)) {
		return nil, off, false // a frame past the end cannot be: refuse it rather than slice past the buffer
	}
	return b.data[off+headerLen : off+headerLen+n], after, true
}

// waitCommitted returns the header at off once it is committed in this
// epoch. The caller that reserved the frame is copying its record, or was
// preempted while copying: spin briefly, then yield, then sleep, so that a
// descheduled caller gets a processor and the wait burns no core.
func (b *buffer) waitCommitted(off uint64) uint64 {
	hp := b.header(off)
	for i := 0; ; i++ {
		if h := hp.Load(); uint32(h>>32) == b.tag.Load() && h&commitBit != 0 {
			return h
		}
		switch {
		case i < 64:
		case i < 128:
			runtime.Gosched()
		default:
			time.Sleep(min(time.Duration(i-127)*10*time.Microsecond, time.Millisecond))
		}
	}
}
