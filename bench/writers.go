package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/asynclog/asynclog/core"
)

// The "core" group: the bare io.Writers, compared on case Record without a
// logger in front.
func init() {
	register("core", []Case{Record},
		&Output{Name: "floor", Title: "floor (atomic add, copy, header store)", Discard: true, Open: func(io.Writer, Case) Logger {
			return newFloor()
		}},
		&Output{Name: "core-discard", Title: "core.Writer → io.Discard", Discard: true, Open: func(io.Writer, Case) Logger {
			return newCoreLogger(io.Discard, core.Block)
		}},
		&Output{Name: "file", Title: "*os.File", Open: func(w io.Writer, _ Case) Logger {
			return writerLogger(w, syncOf(w), nop)
		}},
		&Output{Name: "mutex-bufio", Title: "mutex + bufio.Writer", Open: func(w io.Writer, _ Case) Logger {
			m := newMutexWriter(w)
			return writerLogger(m, m.Sync, m.Flush)
		}},
		&Output{Name: "channel", Title: "channel writer", Open: func(w io.Writer, _ Case) Logger {
			c := newChanWriter(w)
			return writerLogger(c, c.Sync, c.Close)
		}},
		&Output{Name: "core", Title: "core.Writer (Block)", Open: func(w io.Writer, _ Case) Logger {
			return newCoreLogger(w, core.Block)
		}},
		&Output{Name: "core-drop", Title: "core.Writer (Drop)", Lossy: true, Open: func(w io.Writer, _ Case) Logger {
			return newCoreLogger(w, core.Drop)
		}},
	)
}

// floor is the least any buffered writer of asynclog's design can do per
// record: one atomic add to reserve a frame (an 8-byte header and the
// record), a copy, and an atomic store of the header to commit it. It
// writes into a ring that nothing reads.
type floor struct {
	_       [64]byte
	reserve atomic.Uint64
	_       [56]byte
	data    []byte
}

// floorSize is the ring's size, a power of two: 1 MiB, the part of its two
// buffers a core.Writer with default settings writes into (it swaps at a
// 512 KiB high-water mark), so that both keep the same bytes in cache.
const floorSize = 1 << 20

func newFloor() *floor { return &floor{data: make([]byte, floorSize+8+len(record))} }

func (f *floor) Log() {
	n := uint64(8 + (len(record)+7)&^7)
	start := (f.reserve.Add(n) - n) & (floorSize - 1)
	copy(f.data[start+8:], record)
	(*atomic.Uint64)(unsafe.Pointer(&f.data[start])).Store(1<<31 | uint64(len(record)))
}

func (f *floor) Sync() error  { return nil }
func (f *floor) Close() error { return nil }

// coreLogger writes case Record to a core.Writer with a direct call, so
// that it pays no more indirection than the floor.
type coreLogger struct{ w *core.Writer }

func newCoreLogger(sink io.Writer, o core.Overflow) *coreLogger {
	opts := []core.Option{core.WithSink(sink), core.WithOverflow(o)}
	if o == core.Drop {
		// Its drops are counted from Stats: no notice lines among the
		// records, which would pass for kept records, and no reports on
		// stderr. Sync and Close still return sink errors.
		opts = append(opts, core.WithNotices(nil), core.WithErrorHandler(func(error) {}))
	}
	return &coreLogger{core.New(opts...)}
}

func (l *coreLogger) Log()         { l.w.Write(record) }
func (l *coreLogger) Sync() error  { return l.w.Sync() }
func (l *coreLogger) Close() error { return l.w.Close() }

// Stats returns the core.Writer's counters.
func (l *coreLogger) Stats() core.Stats { return l.w.Stats() }

// writerLogger writes case Record to w.
func writerLogger(w io.Writer, sync, close func() error) Logger {
	return &funcLogger{func() { w.Write(record) }, sync, close}
}

// chanWriter is the asynchronous writer teams write by hand: Write copies
// the record and sends the copy on a channel of 1024 slots, and one
// goroutine writes each copy to the sink. Write blocks while the channel is
// full, so nothing is lost. It must not be used after Close.
type chanWriter struct {
	ch   chan []byte
	sink io.Writer
	done chan struct{}
	once sync.Once
}

func newChanWriter(sink io.Writer) *chanWriter {
	w := &chanWriter{ch: make(chan []byte, 1024), sink: sink, done: make(chan struct{})}
	go w.run()
	return w
}

func (w *chanWriter) run() {
	defer close(w.done)
	for p := range w.ch {
		w.sink.Write(p)
	}
}

// Write queues a copy of p.
func (w *chanWriter) Write(p []byte) (int, error) {
	w.ch <- bytes.Clone(p)
	return len(p), nil
}

// Sync syncs the sink. Like most hand-written writers it is no barrier:
// records still in the channel are not waited for.
func (w *chanWriter) Sync() error { return syncOf(w.sink)() }

// Close writes every queued record and stops the goroutine.
func (w *chanWriter) Close() error {
	w.once.Do(func() { close(w.ch) })
	<-w.done
	return nil
}

// mutexWriter is the synchronous buffered writer: a bufio.Writer of
// core.DefaultBufferSize behind a mutex, so callers take turns and the one
// that fills the buffer writes it to the sink.
type mutexWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	sink io.Writer
}

func newMutexWriter(sink io.Writer) *mutexWriter {
	return &mutexWriter{buf: bufio.NewWriterSize(sink, core.DefaultBufferSize), sink: sink}
}

// Write copies p into the buffer, writing the buffer out first if p does
// not fit.
func (w *mutexWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Flush writes the buffer to the sink.
func (w *mutexWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

// Sync flushes the buffer and syncs the sink, holding the lock throughout.
func (w *mutexWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return errors.Join(w.buf.Flush(), syncOf(w.sink)())
}
