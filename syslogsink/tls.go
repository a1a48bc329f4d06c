package syslogsink

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// dial opens a connection to the collector: TCP, then, with WithTLS, a
// TLS handshake, all within the timeout. A handshake that fails closes
// the connection before anything else was written on it: a certificate
// the Sink does not trust is an error, never plaintext. Close cancels it
// when it interrupts the call.
func (s *Sink) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("syslogsink: %w", err)
	}
	if tc, ok := conn.(*net.TCPConn); ok && s.cfg.protocol == TCP {
		// A fixed send buffer bounds what a broken connection can hold
		// (see recentSpan).
		tc.SetWriteBuffer(tcpSendBuffer)
	}
	s.tcp = conn
	if s.cfg.tls == nil {
		return conn, nil
	}
	cfg := s.cfg.tls
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(s.addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("syslogsink: TLS handshake with %s (nothing was sent): %w", s.addr, err)
	}
	return tc, nil
}
