//go:build unix

package core

import (
	"os"
	"syscall"
	"time"
)

var terminating = []os.Signal{syscall.SIGTERM, syscall.SIGINT}

// raise sends s to the process again, now that its default action is
// back, and waits for it to take effect.
func raise(s os.Signal) {
	if sig, ok := s.(syscall.Signal); ok {
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Second) // the default action ends the process before this does
		os.Exit(128 + int(sig))
	}
	os.Exit(2)
}
