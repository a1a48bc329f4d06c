package syslogsink

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2RELPAnswerBeforeCommand: a collector that sends the "rsp" of
// a transaction before the client has sent that transaction (here, along
// with its answer to "open") and then drops the record it reads without an
// answer. The Sink takes the early rsp, still in its read buffer, as the
// acknowledgement of the record it writes next, and returns it as
// delivered: a record marked delivered though no answer followed it. A
// client can tell: any byte buffered from the server before a command is
// written cannot be that command's answer (after open, the buffer must be
// empty).
func TestReview2RELPAnswerBeforeCommand(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	var conns, ackedAfterRead atomic.Int32
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					txnr, cmd, _, err := readTestFrame(r)
					if err != nil {
						return
					}
					switch cmd {
					case "open":
						answer := fmt.Sprintf("%d rsp %d 200 OK\n%s\n", txnr, len("200 OK\n")+len(relpOffer), relpOffer)
						if n == 1 {
							answer += fmt.Sprintf("%d rsp 6 200 OK\n", txnr+1) // before the command
						}
						c.Write([]byte(answer))
					case "syslog":
						if n == 1 {
							return // dropped, never answered
						}
						ackedAfterRead.Add(1)
						fmt.Fprintf(c, "%d rsp 6 200 OK\n", txnr)
					case "close":
						fmt.Fprintf(c, "%d rsp 0\n", txnr)
						return
					}
				}
			})
		}
	})
	s := New(l.Addr().String(), WithFormat(Raw), WithTimeout(2*time.Second), WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	defer s.Close()
	recs, _ := numbered(1)
	n, err := s.WriteRecords(recs)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, int32(1), ackedAfterRead.Load(),
		"WriteRecords returned the record as delivered on an answer sent before it (connections: %d, stats: %+v)", conns.Load(), s.Stats())
}
