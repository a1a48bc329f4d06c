package core

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
)

var record256 = append(bytes.Repeat([]byte("x"), 255), '\n')

// BenchmarkWrite measures Write of a 256-byte record into a Writer whose
// sink discards, serially and from parallel goroutines.
func BenchmarkWrite(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		w := New(WithSink(io.Discard))
		defer w.Close()
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		for i := 0; i < b.N; i++ {
			w.Write(record256)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		w := New(WithSink(io.Discard))
		defer w.Close()
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w.Write(record256)
			}
		})
	})
}

// floor is the least any buffered writer of this design can do per
// record: one atomic add to reserve, a copy, one atomic add to release.
type floor struct {
	reserve atomic.Uint64
	_       [56]byte
	release atomic.Uint64
	_       [56]byte
	data    []byte
}

// floorSize is the floor's ring: 1 MiB, the part of its two buffers a
// Writer with default settings writes into (it swaps at its 512 KiB
// high-water mark), so that both keep the same bytes in cache.
const floorSize = 1 << 20

func newFloor() *floor { return &floor{data: make([]byte, floorSize+4096)} }

func (f *floor) write(p []byte) {
	start := (f.reserve.Add(uint64(len(p))) - uint64(len(p))) & (floorSize - 1)
	copy(f.data[start:], p)
	f.release.Add(1)
}

// BenchmarkFloor is the floor Write is compared with.
func BenchmarkFloor(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		f := newFloor()
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		for i := 0; i < b.N; i++ {
			f.write(record256)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		f := newFloor()
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f.write(record256)
			}
		})
	})
}
