package core

import (
	"fmt"
	"io/fs"
)

// A spool is refused, never read, when another user could have read or
// forged its records: openSpoolFile opens it without following a symbolic
// link and checks what it opened with checkSpoolFile. The checks run on
// the open file, so the file checked is the file used.

// checkSpoolFile says why the file described by info, owned by uid, may
// not be used as a spool by a process whose effective user is euid: it
// must be a regular file, owned by euid, that neither group nor others
// may read or write. It returns nil if it may.
func checkSpoolFile(info fs.FileInfo, uid, euid int) error {
	mode := info.Mode()
	if !mode.IsRegular() {
		return fmt.Errorf("refused: %s, not a regular file", fileKind(mode))
	}
	if uid != euid {
		return fmt.Errorf("refused: owned by uid %d, not by uid %d that this process runs as: another user could have written its records", uid, euid)
	}
	if perm := mode.Perm(); perm&0o066 != 0 {
		return fmt.Errorf("refused: mode %#o lets group or others read or write it (a spool is created with mode 0600)", perm)
	}
	return nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeDir != 0:
		return "a directory"
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "an irregular file"
}
