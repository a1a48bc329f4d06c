//go:build ((linux || freebsd) && !race) || darwin

package core

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps the first n bytes of f, shared, so that what is stored in
// the mapping is in the page cache at once and outlives the process.
func mapFile(f *os.File, n int) ([]byte, error) {
	mem, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|mapPopulate)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return mem, nil
}

func unmapFile(mem []byte) error { return syscall.Munmap(mem) }
