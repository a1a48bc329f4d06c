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
