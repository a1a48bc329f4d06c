package syslogsink

import (
	"net"
	"syscall"
)

// quickAck asks Linux to acknowledge at once the segments that arrive on
// conn, rather than delay the ACK up to 40 ms waiting for data to carry
// it. A RELP server that sends its answers with Nagle's algorithm (librelp
// does) holds each answer until the previous one is acknowledged: with
// delayed ACKs, a window of answers would trickle in one per 40 ms.
// Linux leaves quick-ACK mode by itself, so it is asked again before each
// wait for answers.
func quickAck(rc syscall.RawConn) {
	if rc != nil {
		rc.Control(setQuickAck)
	}
}

func setQuickAck(fd uintptr) {
	syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}

// rawConn returns the raw connection of conn, if it is a TCP connection.
func rawConn(conn net.Conn) syscall.RawConn {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
