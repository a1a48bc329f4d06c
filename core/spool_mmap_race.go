//go:build race && (linux || freebsd)

package core

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// The race detector watches the memory of the Go heap only: it ignores
// the atomic operations on any other memory. In a spool mapped where the
// kernel chooses, it would see none of the ordering that the frames'
// headers give (a caller stores the header after its record; the writer
// goroutine loads it before reading the record), and would report the
// buffer's epoch tag, which a caller reads before its commit and reopen
// writes after the walk, as a race. Under the race detector the spool is
// therefore mapped over pages that the Go heap allocated, where every
// access is checked as it is in a buffer in memory. (On macOS, whose
// system calls go through its C library, it is mapped as usual.)

// mapFile maps the first n bytes of f, shared, over memory allocated from
// the Go heap.
func mapFile(f *os.File, n int) ([]byte, error) {
	page := os.Getpagesize()
	heap := make([]byte, (n+page-1)/page*page+page) // whole pages, from a page boundary
	skip := (page - int(uintptr(unsafe.Pointer(&heap[0]))%uintptr(page))) % page
	mem := heap[skip : skip+n : skip+n]
	if err := mmapFixed(mem, int(f.Fd()), syscall.MAP_SHARED|mapPopulate); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return mem, nil
}

// unmapFile gives the pages under mem back to the Go heap: private and
// zeroed, as they were allocated.
func unmapFile(mem []byte) error {
	return mmapFixed(mem, -1, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

// mmapFixed maps the file fd (or, for -1, anonymous memory) at exactly
// the pages under mem.
func mmapFixed(mem []byte, fd int, flags int) error {
	_, _, errno := syscall.Syscall6(syscall.SYS_MMAP, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)),
		syscall.PROT_READ|syscall.PROT_WRITE, uintptr(flags|syscall.MAP_FIXED), uintptr(fd), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
