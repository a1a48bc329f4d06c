//go:build !linux

package syslogsink

import (
	"net"
	"syscall"
)

// quickAck does nothing where TCP_QUICKACK does not exist.
func quickAck(syscall.RawConn) {}

func rawConn(net.Conn) syscall.RawConn { return nil }
