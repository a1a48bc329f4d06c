package core

import (
	"encoding/binary"
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// FuzzReviewSpool2Offsets fills a spool as an attacker (or a damaged disk)
// may leave it: any bytes in both buffers, any epochs, written and writing
// offsets and calling mark in the header, not only the offsets a process
// can store (FuzzRecover builds only those). unwritten, diedInCall and a
// replay must not panic or loop, and every record they hand on must be the
// payload of a committed frame of its buffer's epoch, within the buffer.
//
// Its seeds include written = 2^64-8, which once made walkFrames add
// headerLen to it, wrap round to 0, pass its bound check and slice the
// buffer at 2^64-8 (see TestReviewSpool2WrittenNearMaxPanicsNew); the
// offsets are now checked first (see spoolMeta.progress).
func FuzzReviewSpool2Offsets(f *testing.F) {
	f.Add(uint64(1), uint64(2), uint64(0), uint64(0), uint64(0), uint64(0), uint32(0), []byte("\x05\x00\x00\x80\x01\x00\x00\x00hello\n"))
	f.Add(uint64(7), uint64(7), uint64(math.MaxUint64-7), uint64(math.MaxUint64-7), uint64(0), uint64(0), uint32(2), []byte{})
	f.Add(uint64(3), uint64(3), uint64(9), uint64(1<<40), uint64(63), uint64(1), uint32(3), []byte{1, 2, 3})
	f.Add(uint64(math.MaxUint64), uint64(1), uint64(math.MaxUint64), uint64(0), uint64(5), uint64(math.MaxUint64), uint32(99), []byte{0xff})
	f.Fuzz(func(t *testing.T, e0, e1, w0, g0, w1, g1 uint64, calling uint32, fill []byte) {
		const size = 256
		s := &spool{head: &spoolHeader{salt: 0}}
		s.head.calling.Store(calling)
		meta := [2][3]uint64{{e0, w0, g0}, {e1, w1, g1}}
		for i := range s.buffers {
			data := alignedBytes(size)
			for k := range data {
				if len(fill) > 0 {
					data[k] = fill[(k+i*size)%len(fill)]
				}
			}
			// Commit some headers of the buffer's epoch, so that frames
			// are found among the noise.
			tag := uint32(meta[i][0])
			for off := 0; off+8 <= size && len(fill) > 0; off += 8 * (1 + int(fill[off%len(fill)])%5) {
				if fill[(off/8)%len(fill)]%3 == 0 {
					n := uint64(fill[(off+1)%len(fill)]) % 64
					binary.NativeEndian.PutUint64(data[off:], uint64(tag)<<32|commitBit|n)
				}
			}
			b := newBuffer(data)
			m := &s.head.meta[i]
			m.epoch.Store(meta[i][0])
			m.written.Store(meta[i][1])
			m.writing.Store(meta[i][2])
			b.meta = m
			s.buffers[i] = b
		}
		inFrame := func(rec []byte) bool {
			if len(rec) == 0 {
				return true
			}
			p := uintptr(unsafe.Pointer(unsafe.SliceData(rec)))
			for _, b := range s.buffers {
				lo := uintptr(unsafe.Pointer(unsafe.SliceData(b.data)))
				if p >= lo+headerLen && p+uintptr(len(rec)) <= lo+uintptr(len(b.data)) {
					h := binary.NativeEndian.Uint64(b.data[p-lo-headerLen:])
					return uint32(h>>32) == b.tagOf(b.meta.epoch.Load()) && h&commitBit != 0 && h&lengthMask == uint64(len(rec))
				}
			}
			return false
		}
		var r recovered
		require.NotPanics(t, func() { r = s.unwritten() })
		require.NotPanics(t, func() { _ = s.diedInCall() })
		for i, rec := range r.records {
			require.True(t, inFrame(rec.record), "record %d is not the payload of a committed frame", i)
		}
		play := replayer{s: s, records: r.records, stage: make([]byte, size), limit: size}
		calls := 0
		require.NotPanics(t, func() {
			_ = play.run(func(p []byte, run []spooled) error {
				calls++
				require.LessOrEqual(t, calls, len(r.records), "more calls than records")
				return nil
			})
		})
	})
}
