//go:build linux || darwin || freebsd

package core

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f, without waiting: the kernel drops
// it when the process ends, however it ends.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errors.New("in use by another process")
	}
	if err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	return nil
}

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
