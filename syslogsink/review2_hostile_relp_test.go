package syslogsink

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2HostileRELPServer: a collector whose first connection answers
// the first syslog command with garbage, an impossible frame, or nothing
// at all. Each time the Sink must break that connection within its
// timeout, never panic, and deliver every record on the next connection,
// acknowledged there after it was read (but for a duplicate rsp, whose
// first copy is a true answer).
func TestReview2HostileRELPServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	cases := map[string]func(c net.Conn, txnr int){
		"garbage":          func(c net.Conn, _ int) { c.Write([]byte("\x00\xff junk \n\n")) },
		"huge datalen":     func(c net.Conn, n int) { fmt.Fprintf(c, "%d rsp 99999999999999 200 OK\n", n) },
		"datalen over max": func(c net.Conn, n int) { fmt.Fprintf(c, "%d rsp 65537 200 OK\n", n) },
		"negative txnr":    func(c net.Conn, n int) { fmt.Fprintf(c, "-%d rsp 6 200 OK\n", n) },
		"non-numeric txnr": func(c net.Conn, _ int) { c.Write([]byte("abc rsp 6 200 OK\n")) },
		"txnr too large":   func(c net.Conn, _ int) { c.Write([]byte("1000000000 rsp 6 200 OK\n")) },
		"unknown txnr":     func(c net.Conn, n int) { fmt.Fprintf(c, "%d rsp 6 200 OK\n", n+77) },
		"duplicate rsp":    func(c net.Conn, n int) { fmt.Fprintf(c, "%d rsp 6 200 OK\n%d rsp 6 200 OK\n", n, n) },
		"serverclose":      func(c net.Conn, _ int) { c.Write([]byte("0 serverclose 0\n")) },
		"closed mid-frame": func(c net.Conn, n int) { fmt.Fprintf(c, "%d rsp 6 20", n) },
		"no status code":   func(c net.Conn, n int) { fmt.Fprintf(c, "%d rsp 2 OK\n", n) },
		"long command":     func(c net.Conn, n int) { fmt.Fprintf(c, "%d rspppppppppppppppppppp 6 200 OK\n", n) },
		"upper case":       func(c net.Conn, n int) { fmt.Fprintf(c, "%d RSP 6 200 OK\n", n) },
		"no data after len": func(c net.Conn, n int) {
			fmt.Fprintf(c, "%d rsp 6X200 OK\n", n)
		},
		"never answers": func(c net.Conn, _ int) { time.Sleep(3 * timeout) },
		"trickle": func(c net.Conn, n int) {
			fmt.Fprintf(c, "%d rsp 65536 ", n)
			for range 30 {
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		},
	}
	for name, misbehave := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			var wg sync.WaitGroup
			t.Cleanup(func() { l.Close(); wg.Wait() })
			var conns atomic.Int32
			var mu sync.Mutex
			var acked []string
			wg.Go(func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					k := conns.Add(1)
					wg.Go(func() {
						defer c.Close()
						c.SetDeadline(time.Now().Add(5 * time.Second))
						r := bufio.NewReader(c)
						for {
							txnr, cmd, data, err := readTestFrame(r)
							if err != nil {
								return
							}
							switch cmd {
							case "open":
								fmt.Fprintf(c, "%d rsp %d 200 OK\n%s\n", txnr, len("200 OK\n")+len(relpOffer), relpOffer)
							case "syslog":
								if k == 1 {
									if name == "duplicate rsp" {
										mu.Lock()
										acked = append(acked, data) // the first rsp is a true answer
										mu.Unlock()
									}
									misbehave(c, txnr)
									return
								}
								mu.Lock()
								acked = append(acked, data)
								mu.Unlock()
								fmt.Fprintf(c, "%d rsp 6 200 OK\n", txnr)
							case "close":
								fmt.Fprintf(c, "%d rsp 0\n", txnr)
								return
							}
						}
					})
				}
			})
			s := New(l.Addr().String(), WithFormat(Raw), WithTimeout(timeout), WithBackoff(5*time.Millisecond, 20*time.Millisecond))
			recs, want := numbered(3)
			start := time.Now()
			n, err := s.WriteRecords(recs)
			took := time.Since(start)
			require.NoError(t, err)
			assert.Equal(t, 3, n)
			assert.Less(t, took, 2*time.Second)
			require.NoError(t, s.Close())
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, strings.Join(want, ","), strings.Join(acked, ","))
			assert.GreaterOrEqual(t, conns.Load(), int32(2))
		})
	}
}
