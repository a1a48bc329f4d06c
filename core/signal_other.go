//go:build !unix

package core

import "os"

var terminating = []os.Signal{os.Interrupt}

// raise ends the process: a signal cannot be raised again here.
func raise(os.Signal) { os.Exit(2) }
