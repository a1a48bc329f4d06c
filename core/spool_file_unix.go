//go:build linux || darwin || freebsd

package core

import (
	"fmt"
	"os"
	"syscall"
)

// openSpoolFile opens the spool at path for reading and writing, and with
// create creates it, with mode 0600, if it does not exist. It never
// follows a symbolic link, even a dangling one (whose target it would
// otherwise create), and it refuses, with an error that says why, a file
// that checkSpoolFile refuses. It does not block on a named pipe.
func openSpoolFile(path string, create bool) (*os.File, error) {
	flags := syscall.O_RDWR | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if create {
		flags |= syscall.O_CREAT
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, flags, 0o600)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		if info, lerr := os.Lstat(path); lerr == nil && !info.Mode().IsRegular() {
			// O_NOFOLLOW fails on a link (ELOOP, or EMLINK on FreeBSD),
			// O_RDWR on a directory (EISDIR): say what the file is.
			return nil, fmt.Errorf("%s: %w", path, checkSpoolFile(info, os.Geteuid(), os.Geteuid()))
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	// O_NONBLOCK was for the open of a named pipe only.
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	uid := -1
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		uid = int(st.Uid)
	}
	if err := checkSpoolFile(info, uid, os.Geteuid()); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
