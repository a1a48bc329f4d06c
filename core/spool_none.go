//go:build !(linux || darwin || freebsd)

package core

import (
	"errors"
	"os"
)

var errNoSpool = errors.New("not supported on this platform")

func lockFile(*os.File) error               { return errNoSpool }
func mapFile(*os.File, int) ([]byte, error) { return nil, errNoSpool }
func unmapFile([]byte) error                { return nil }
