//go:build !(linux || darwin || freebsd)

package core

import (
	"fmt"
	"os"
)

// openSpoolFile fails: spools need memory-mapped files and file locks,
// which this platform's build does not have (see spool_none.go).
func openSpoolFile(path string, create bool) (*os.File, error) {
	return nil, fmt.Errorf("%s: %w", path, errNoSpool)
}
