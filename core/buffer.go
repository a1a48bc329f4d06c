package core

import "sync/atomic"

// A buffer is one of the Writer's two fixed-size buffers. It lives through
// epochs: reopened (empty, accepting), sealed (accepting nothing), drained
// (every accepted record copied in), written to the sink, reopened again.
//
// Two atomic words carry the whole protocol between the callers that copy
// records in and the goroutine that takes the buffer out:
//
//	state   bit 63: sealed; bits 0-62: bytes reserved so far (the offset)
//	commit  bits 32-63: records copied in; bits 0-31: bytes copied in
//
// A caller reserves len(p) bytes with one atomic add to state. The value it
// gets back says everything: if the sealed bit is set, the buffer no longer
// accepts records and the caller tries the other one; otherwise its record
// owns [offset-len(p), offset). If that range ends inside the buffer the
// caller copies the record there and commits it with one atomic add of
// (1 record, len(p) bytes) to commit. That is the whole fast path: two
// atomic adds and a copy, no lock, no allocation.
//
// A reservation that runs past the end fails. Exactly one failing caller
// straddles the end (its range starts at or before the end and finishes
// after it); it is the "crosser". It stores where the valid data stops in
// limit and commits the rest of the buffer plus one as padding (0 records,
// size-start+1 bytes). The extra unit matters when the records end exactly
// at the end: the crosser then starts at size and would otherwise commit
// nothing, and the owner could read limit before the crosser stored it.
// So once every reservation made before the seal has been settled, the
// bytes committed add up to the offset if it is within the buffer, and to
// size+1 if a crosser exists. Reservations that start past the end commit
// nothing. The offset may run past the size by the total of such failed
// attempts; 63 bits leave room for centuries of them.
//
// To take the buffer out, the owner seals it (an atomic OR of the sealed
// bit, ordered with every reservation by being on the same word), which
// fixes the set of successful reservations, and publishes the bytes to
// wait for in target. Each committing caller reads target after its
// commit and, if its commit completed the target, wakes the owner through
// drained. The owner reads commit after publishing target, so one
// of the two always sees the other (both are sequentially consistent
// atomics): the owner never sleeps through the last commit.
type buffer struct {
	_      cacheLinePad
	state  atomic.Uint64
	commit atomic.Uint64
	target atomic.Int64 // bytes to wait for once sealed; noTarget while open
	data   []byte       // fixed; len(data) is the buffer size
	_      cacheLinePad

	// Written by the crosser before it commits; read by the owner after
	// the drain, so the commit word orders it.
	limit atomic.Uint64

	// seq numbers the buffer's swaps out (see Writer.sealed); guarded by
	// the Writer's mutex.
	seq uint64

	// sealedAt is the offset when the buffer was sealed. It is written
	// and read only by the Writer under its mutex or by the owner of the
	// sealed buffer.
	sealedAt uint64

	// drained holds a wake-up for the owner waiting in drain. It may hold
	// a stale token from an earlier epoch; drain re-checks after waking.
	drained chan struct{}
}

// cacheLinePad keeps the words callers fight over off the cache lines of
// other data: 128 bytes covers the 64-byte lines of amd64 and the 128-byte
// lines of some arm64 parts.
type cacheLinePad [128]byte

const (
	sealedBit  = 1 << 63
	offsetMask = sealedBit - 1
	noTarget   = -1
	recordUnit = 1 << 32
)

func newBuffer(size int) *buffer {
	b := &buffer{data: make([]byte, size), drained: make(chan struct{}, 1)}
	b.target.Store(noTarget)
	return b
}

// reserve claims n bytes and reports the range [start, end) it got and
// whether the buffer was already sealed. The range may run past the size.
func (b *buffer) reserve(n int) (start, end uint64, sealed bool) {
	s := b.state.Add(uint64(n))
	end = s & offsetMask
	return end - uint64(n), end, s&sealedBit != 0
}

// commitRecord settles a reservation whose record has been copied in.
func (b *buffer) commitRecord(n int) {
	b.settle(recordUnit + uint64(n))
}

// commitPadding settles the crosser's reservation: the buffer ends at
// start, and the bytes after it, plus one, count as padding.
func (b *buffer) commitPadding(start uint64) {
	b.limit.Store(start)
	b.settle(uint64(len(b.data)) - start + 1)
}

func (b *buffer) settle(delta uint64) {
	c := b.commit.Add(delta)
	if int64(uint32(c)) == b.target.Load() {
		select {
		case b.drained <- struct{}{}:
		default:
		}
	}
}

// offset returns the bytes reserved so far, which may exceed the size.
func (b *buffer) offset() uint64 {
	return b.state.Load() & offsetMask
}

// seal stops the buffer from accepting records and publishes how many
// committed bytes drain must wait for. Sealing twice has no further
// effect.
func (b *buffer) seal() {
	s := b.state.Or(sealedBit)
	if s&sealedBit != 0 {
		return
	}
	b.sealedAt = s & offsetMask
	target := b.sealedAt
	if size := uint64(len(b.data)); target > size {
		target = size + 1 // the records, the crosser's padding and its extra unit
	}
	b.target.Store(int64(target))
}

// drain waits until every reservation made before the seal is settled and
// returns the records in the buffer and their count. The buffer must be
// sealed.
func (b *buffer) drain() (data []byte, records uint64) {
	target := uint64(b.target.Load())
	c := b.commit.Load()
	for uint64(uint32(c)) != target {
		<-b.drained
		c = b.commit.Load()
	}
	end := b.sealedAt
	if end > uint64(len(b.data)) {
		end = b.limit.Load()
	}
	return b.data[:end], c >> 32
}

// reopen empties a drained buffer and lets it accept records again. A
// caller that reserved in the previous epoch and saw the sealed bit has
// already given up; one that arrives after this is a caller of the new
// epoch.
func (b *buffer) reopen() {
	b.commit.Store(0)
	b.target.Store(noTarget)
	b.state.Store(0)
}
