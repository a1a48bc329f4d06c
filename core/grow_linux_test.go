package core

import (
	"io"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGrownBuffersTouched checks that the buffers a Writer grows into have
// every page resident before callers get them: the writer goroutine
// touched them (see release), so no caller's Write takes a page fault of
// new memory. Records fill only the first half megabyte of each buffer
// between two swaps here, so a buffer that callers got untouched, grown at
// a swap as before, would show most of its 32 MiB not resident.
func TestGrownBuffersTouched(t *testing.T) {
	const size = 32 << 20 // larger than any other buffer of the tests: fresh memory
	// Swaps only at the high-water mark and at Sync: a flush interval
	// that passed while the records were written would swap the buffer
	// out before it reached the mark, and nothing would grow.
	w := newWriter(t, WithSink(io.Discard), WithBufferSize(size), WithFlushInterval(time.Hour))
	record := rec("grow", 1000)
	for round := 0; w.Stats().BufferBytes < 2*size; round++ {
		require.Less(t, round, 100, "the buffers stopped growing at %d bytes", w.Stats().BufferBytes)
		for range 600 { // past the high-water mark, so that the next swap grows
			_, err := w.Write(record)
			require.NoError(t, err)
		}
		require.NoError(t, w.Sync())
	}
	w.mu.Lock()
	bufs := []*buffer{w.cur.Load(), w.spare}
	w.mu.Unlock()
	for i, b := range bufs {
		require.Len(t, b.data, size)
		assert.Equal(t, len(b.data)/pageSize(), residentPages(t, b.data), "pages of buffer %d resident", i)
	}
}

func pageSize() int { return syscall.Getpagesize() }

// residentPages returns how many pages of p are in memory, by mincore(2).
func residentPages(t *testing.T, p []byte) int {
	t.Helper()
	ps := pageSize()
	addr := uintptr(unsafe.Pointer(&p[0]))
	require.Zero(t, addr%uintptr(ps), "a large allocation starts on a page")
	vec := make([]byte, (len(p)+ps-1)/ps)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, addr, uintptr(len(p)), uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, errno, "mincore")
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
