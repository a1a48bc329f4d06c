package core

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
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

// floorSize is the floors' ring: 1 MiB, the part of its two buffers a
// Writer with default settings writes into (it swaps at its 512 KiB
// high-water mark), so that both keep the same bytes in cache.
const floorSize = 1 << 20

// sharedFloor is the least a writer of this design can do per record: one
// atomic add on a word every caller shares to reserve a frame, a copy,
// and a release store of the frame's header to commit it.
type sharedFloor struct {
	_     cacheLinePad
	state atomic.Uint64
	_     cacheLinePad
	data  []byte
}

func newSharedFloor() *sharedFloor {
	return &sharedFloor{data: make([]byte, floorSize+4096)}
}

func (f *sharedFloor) write(p []byte) {
	l := frameLen(len(p))
	off := (f.state.Add(l) - l) & (floorSize - 1)
	copy(f.data[off+headerLen:], p)
	storeRelease((*uint64)(unsafe.Pointer(&f.data[off])), commitBit|uint64(len(p)))
}

// unsharedFloor is the same with no shared word at all: each goroutine
// has its ring and its offset to itself.
type unsharedFloor struct {
	off  uint64
	data []byte
}

func (f *unsharedFloor) write(p []byte) {
	l := frameLen(len(p))
	off := f.off & (floorSize - 1)
	f.off += l
	copy(f.data[off+headerLen:], p)
	storeRelease((*uint64)(unsafe.Pointer(&f.data[off])), commitBit|uint64(len(p)))
}

// shardedFloor is the least a sharded design could do per record while
// keeping the order of records that do not overlap in time: a lane per
// processor, chosen through a sync.Pool (whose Get and Put stay on the
// current P), an atomic add on the lane's own word, a read of the
// monotonic clock, which the writer goroutine would merge the lanes by,
// a copy, and a release store of a header that holds the time. Callers on
// different processors share no cache line; each pays the clock instead.
type shardedFloor struct {
	lanes []floorLane
	hints sync.Pool // of *floorLane
	start time.Time
}

type floorLane struct {
	_     cacheLinePad
	state atomic.Uint64
	_     cacheLinePad
	data  []byte
}

func newShardedFloor(n int) *shardedFloor {
	f := &shardedFloor{lanes: make([]floorLane, n), start: time.Now()}
	for i := range f.lanes {
		f.lanes[i].data = make([]byte, floorSize+4096)
		f.hints.Put(&f.lanes[i])
	}
	return f
}

func (f *shardedFloor) write(p []byte) {
	lane, _ := f.hints.Get().(*floorLane)
	if lane == nil {
		lane = &f.lanes[0] // the pool was emptied by a GC: any lane keeps the order
	}
	t := uint64(time.Since(f.start)) // monotonic: one vDSO clock read
	l := 2*headerLen + (uint64(len(p))+7)&^7
	off := (lane.state.Add(l) - l) & (floorSize - 1)
	copy(lane.data[off+2*headerLen:], p)
	(*atomic.Uint64)(unsafe.Pointer(&lane.data[off+headerLen])).Store(t)
	storeRelease((*uint64)(unsafe.Pointer(&lane.data[off])), commitBit|uint64(len(p)))
	f.hints.Put(lane)
}

// BenchmarkFloor measures the floors Write is compared with: shared (one
// atomic add, a copy, a header store), unshared (no shared word), and
// sharded (a lane per processor and a clock read: see shardedFloor).
func BenchmarkFloor(b *testing.B) {
	b.Run("shared/serial", func(b *testing.B) {
		f := newSharedFloor()
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		for i := 0; i < b.N; i++ {
			f.write(record256)
		}
	})
	b.Run("shared/parallel", func(b *testing.B) {
		f := newSharedFloor()
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f.write(record256)
			}
		})
	})
	b.Run("sharded/serial", func(b *testing.B) {
		f := newShardedFloor(runtime.GOMAXPROCS(0))
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		for i := 0; i < b.N; i++ {
			f.write(record256)
		}
	})
	b.Run("sharded/parallel", func(b *testing.B) {
		f := newShardedFloor(runtime.GOMAXPROCS(0))
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f.write(record256)
			}
		})
	})
	b.Run("unshared/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(record256)))
		b.RunParallel(func(pb *testing.PB) {
			f := &unsharedFloor{data: make([]byte, floorSize+4096)}
			for pb.Next() {
				f.write(record256)
			}
		})
	})
}

// BenchmarkSlowSink measures how evenly callers are served when the sink
// is slow but healthy: 16 goroutines write 200-byte records through 4 KiB
// buffers into a sink that takes 1 ms per Write, b.N records in all, each
// goroutine taking the next record as soon as its last Write returns. It
// reports the worst single Write in milliseconds, and how many records the
// goroutine that wrote fewest wrote, as a fraction of the median.
func BenchmarkSlowSink(b *testing.B) {
	sink := writerFunc(func(p []byte) (int, error) {
		time.Sleep(time.Millisecond)
		return len(p), nil
	})
	w := New(WithSink(sink), WithBufferSize(4096))
	defer w.Close()
	p := bytes.Repeat([]byte("s"), 200)
	const goroutines = 16
	var left atomic.Int64
	left.Store(int64(b.N))
	counts := make([]int, goroutines)
	worst := make([]time.Duration, goroutines)
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range goroutines {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				start := time.Now()
				w.Write(p)
				worst[g] = max(worst[g], time.Since(start))
				counts[g]++
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(counts)
	b.ReportMetric(float64(slices.Max(worst))/float64(time.Millisecond), "max-ms")
	if median := counts[goroutines/2]; median > 0 {
		b.ReportMetric(float64(counts[0])/float64(median), "min/median")
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// BenchmarkIdleWriters measures the heap that idle Writers hold: New, then
// nothing. It reports bytes per Writer.
func BenchmarkIdleWriters(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(map[int]string{1: "1", 100: "100"}[n], func(b *testing.B) {
			var held uint64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				ws := make([]*Writer, n)
				for i := range ws {
					ws[i] = New(WithSink(io.Discard))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				held += after.HeapAlloc - before.HeapAlloc
				for _, w := range ws {
					w.Close()
				}
			}
			b.ReportMetric(float64(held)/float64(b.N*n), "B/writer")
		})
	}
}

// BenchmarkWriteOut measures the writer goroutine's part of handing one
// buffer of 200-byte records, filled to the high-water mark of a default
// Writer (512 KiB), to a sink that discards: compacted into Write calls
// ("write"), or as slices through WriteRecords ("records"), in one call per
// 1024 records or per 64 KiB (WithMaxWriteSize). Each op fills the buffer
// as callers would, then walks and writes it. It reports the sink calls
// per op; a RecordWriter's path allocates nothing.
func BenchmarkWriteOut(b *testing.B) {
	for _, maxWrite := range []int{0, 64 << 10} {
		for _, mode := range []string{"write", "records"} {
			b.Run(fmt.Sprintf("max=%d/%s", maxWrite, mode), func(b *testing.B) {
				var w *Writer
				if mode == "write" {
					w = newBareWriter(WithSink(io.Discard), WithMaxWriteSize(maxWrite))
				} else {
					w = newBareWriter(WithSink(&discardRecords{}), WithMaxWriteSize(maxWrite))
				}
				buf := newBuffer(make([]byte, 1<<20))
				recs := benchRecords(200, len(buf.data))
				fillSealed(w, buf, recs) // the first buffer grows the slice of records
				w.writeOut(buf)
				calls := w.stats.flushes.Load()
				b.SetBytes(int64(total(recs)))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					fillSealed(w, buf, recs)
					w.writeOut(buf)
				}
				b.ReportMetric(float64(w.stats.flushes.Load()-calls)/float64(b.N), "calls/op")
			})
		}
	}
}
