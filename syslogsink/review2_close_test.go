//go:build linux || darwin || freebsd

package syslogsink

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2CloseDuringTLSHandshakeUnbounded: Close promises to let a
// call under way finish for up to closeGrace, then to break its
// connection. When Close comes while the call is in dial (a TLS handshake
// the collector is slow to answer), the interrupt finds no connection to
// break, the dial is not cancelled by Close, and deliverRELP never looks at
// s.done again once it is connected: the call then delivers every one of
// its records at the collector's pace, and Close waits for all of them.
// A collector that answers each record just within the timeout holds
// Close for up to records x timeout.
func TestReview2CloseDuringTLSHandshakeUnbounded(t *testing.T) {
	pki := newTestPKI(t)
	cert, err := tls.X509KeyPair(pki.certPEM, pki.keyPEM)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	const handshakeDelay = 1500 * time.Millisecond
	const ackDelay = 300 * time.Millisecond
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				time.Sleep(handshakeDelay) // a collector slow to handshake
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
				if tc.Handshake() != nil {
					return
				}
				r := bufio.NewReader(tc)
				for {
					txnr, cmd, _, err := readTestFrame(r)
					if err != nil {
						return
					}
					switch cmd {
					case "open":
						fmt.Fprintf(tc, "%d rsp %d 200 OK\n%s\n", txnr, len("200 OK\n")+len(relpOffer), relpOffer)
					case "syslog":
						time.Sleep(ackDelay) // slow, but within the timeout
						fmt.Fprintf(tc, "%d rsp 6 200 OK\n", txnr)
					case "close":
						fmt.Fprintf(tc, "%d rsp 0\n", txnr)
						return
					}
				}
			})
		}
	})

	s := New(l.Addr().String(), WithFormat(Raw), WithWindow(1), WithTimeout(3*time.Second),
		WithTLS(&tls.Config{RootCAs: pki.pool}))
	recs, _ := numbered(20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WriteRecords(recs)
	}()
	time.Sleep(100 * time.Millisecond) // the call is in the TLS handshake
	start := time.Now()
	s.Close()
	took := time.Since(start)
	<-done
	assert.Less(t, took, closeGrace+time.Second,
		"Close took %v; %d of 20 records were acknowledged after Close was called", took, s.Stats().Acknowledged)
}
