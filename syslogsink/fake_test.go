package syslogsink

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// serveRaw listens on loopback and gives each connection's bytes, once it
// is closed, to got; it stops when the test ends.
func serveRaw(t *testing.T, got func([]byte)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				got(b)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}

// A fakeRELP is a RELP server for tests of the protocol's corners: what a
// connection does is up to its answer function, given the connection's
// number (from 0) and the syslog command's index on it (from 0) and data.
type fakeRELP struct {
	addr string

	mu       sync.Mutex
	received [][]string // per connection, the syslog data, in order
	acked    []string   // acknowledged (200) data, in order
	closes   int        // close commands
}

// An answer says what the server does with a syslog command: "ok"
// acknowledges it, "nak" refuses it, "drop" reads it and closes the
// connection without an answer, "skip" answers it with the next
// transaction's number.
type answerFunc func(conn, i int, data string) string

func startFakeRELP(t *testing.T, answer answerFunc) *fakeRELP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeRELP{addr: l.Addr().String()}
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.received = append(f.received, nil)
			f.mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				f.serve(c, n, answer)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return f
}

func (f *fakeRELP) serve(c net.Conn, conn int, answer answerFunc) {
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	defer w.Flush()
	i := 0
	for {
		txnr, cmd, data, err := readTestFrame(r)
		if err != nil {
			return
		}
		switch cmd {
		case "open":
			fmt.Fprintf(w, "%d rsp %d 200 OK\n%s\n", txnr, len("200 OK\n")+len(relpOffer), relpOffer)
		case "close":
			f.mu.Lock()
			f.closes++
			f.mu.Unlock()
			fmt.Fprintf(w, "%d rsp 0\n0 serverclose 0\n", txnr)
			w.Flush()
			return
		case "syslog":
			f.mu.Lock()
			f.received[conn] = append(f.received[conn], data)
			f.mu.Unlock()
			w.Flush() // the answers before this one, whatever this one does
			switch answer(conn, i, data) {
			case "ok":
				f.mu.Lock()
				f.acked = append(f.acked, data)
				f.mu.Unlock()
				fmt.Fprintf(w, "%d rsp 6 200 OK\n", txnr)
			case "nak":
				fmt.Fprintf(w, "%d rsp 13 500 not today\n", txnr)
			case "skip":
				fmt.Fprintf(w, "%d rsp 6 200 OK\n", txnr+1)
			case "drop":
				return
			}
			i++
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

func readTestFrame(r *bufio.Reader) (txnr int, cmd, data string, err error) {
	head, err := r.ReadString(' ')
	if err != nil {
		return 0, "", "", err
	}
	txnr, _ = strconv.Atoi(strings.TrimSpace(head))
	cmd, err = r.ReadString(' ')
	if err != nil {
		return 0, "", "", err
	}
	cmd = strings.TrimSpace(cmd)
	var n int
	var sep byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, "", "", err
		}
		if c < '0' || c > '9' {
			sep = c
			break
		}
		n = n*10 + int(c-'0')
	}
	if n > 0 && sep == ' ' {
		b := make([]byte, n+1)
		if _, err := io.ReadFull(r, b); err != nil {
			return 0, "", "", err
		}
		data = string(b[:n])
	}
	return txnr, cmd, data, nil
}

func (f *fakeRELP) snapshot() (received [][]string, acked []string, closes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.received {
		received = append(received, append([]string(nil), r...))
	}
	return received, append([]string(nil), f.acked...), f.closes
}
