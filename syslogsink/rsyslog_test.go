//go:build linux || darwin || freebsd

package syslogsink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deliveryCheck compares the messages rsyslogd wrote with the records
// sent: byte for byte, each goroutine's in order.
type deliveryCheck struct {
	want       map[[2]int][]byte // by goroutine and seq: the record, without its newline
	notices    [][]byte          // the core.Writer's notices (drops, say)
	noticed    int               // records the drop notices say were dropped
	missing    int
	duplicates int
	outOfOrder int
}

// check reads the messages (the MSG of RFC 5424 lines when rfc is set)
// and counts the missing records, the duplicates and the records out of
// their goroutine's order. A message that is not exactly one record
// fails the test.
func check(t *testing.T, lines [][]byte, rfc bool, records map[[2]int][]byte) deliveryCheck {
	t.Helper()
	c := deliveryCheck{want: records}
	seen := make(map[[2]int]int, len(records))
	last := map[int]int{}
	for _, line := range lines {
		msg := line
		if rfc {
			msg = msgOf(t, line)
		}
		if bytes.Contains(msg, []byte(`"asynclog":"`)) {
			c.notices = append(c.notices, msg)
			var n struct{ Records int }
			require.NoError(t, json.Unmarshal(msg, &n), "a notice: %q", msg)
			if bytes.Contains(msg, []byte(`"asynclog":"dropped"`)) {
				c.noticed += n.Records
			}
			continue
		}
		g, seq, ok := recordKey(msg)
		if !ok {
			t.Fatalf("a message that is no record: %.200q", msg)
		}
		want, ok := records[[2]int{g, seq}]
		if !ok {
			t.Fatalf("a record never sent: %.200q", msg)
		}
		if !bytes.Equal(want, msg) {
			t.Fatalf("a record not byte for byte:\nsent %q\ngot  %q", want, msg)
		}
		if seen[[2]int{g, seq}]++; seen[[2]int{g, seq}] > 1 {
			c.duplicates++
			continue
		}
		if l, ok := last[g]; ok && seq < l {
			c.outOfOrder++
		}
		last[g] = seq
	}
	c.missing = len(records) - len(seen)
	return c
}

// protocolCases are the four connections a collector is reached by.
var protocolCases = []struct {
	name  string
	proto Protocol
	tls   bool
}{
	{"RELP", RELP, false},
	{"TCP", TCP, false},
	{"RELP+TLS", RELP, true},
	{"TCP+TLS", TCP, true},
}

func (r *rsyslogd) addr(p Protocol) string {
	if p == RELP {
		return r.relpAddr
	}
	return r.tcpAddr
}

// TestRsyslogWriters: 4 goroutines write to one Sink at once, over each
// protocol, with and without TLS, in both formats; every record reaches
// rsyslogd's file byte for byte, once, in each goroutine's order.
func TestRsyslogWriters(t *testing.T) {
	const goroutines, perG = 4, 500
	for _, pc := range protocolCases {
		for _, format := range []Format{RFC5424, Raw} {
			t.Run(pc.name+"/"+format.String(), func(t *testing.T) {
				o := rsyslogdOptions{}
				opts := []Option{WithProtocol(pc.proto), WithFormat(format), WithAppName("test app"), WithHostname("host")}
				if pc.tls {
					o.pki = newTestPKI(t)
					opts = append(opts, WithTLS(o.pki.clientConfig()))
				}
				r := startRsyslogd(t, o)
				s := New(r.addr(pc.proto), opts...)
				records := map[[2]int][]byte{}
				for g := range goroutines {
					for i := range perG {
						records[[2]int{g, i}] = bytes.TrimSuffix(testRecord(g, i, 200), []byte("\n"))
					}
				}
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						for i := range perG {
							rec := testRecord(g, i, 200)
							n, err := s.Write(rec)
							assert.NoError(t, err)
							assert.Equal(t, len(rec), n)
						}
					})
				}
				wg.Wait()
				require.NoError(t, s.Close())
				lines := r.waitLines(len(records))
				c := check(t, lines, format == RFC5424, records)
				assert.Zero(t, c.missing, "missing")
				assert.Zero(t, c.duplicates, "duplicates")
				assert.Zero(t, c.outOfOrder, "out of order")
				if format == RFC5424 {
					require.NotEmpty(t, lines)
					assert.True(t, bytes.HasPrefix(lines[0], []byte("<14>1 ")), "PRI of user.info: %.60q", lines[0])
					assert.Contains(t, string(lines[0]), " host test_app ")
				}
				st := s.Stats()
				assert.EqualValues(t, goroutines*perG, st.Sent)
				if pc.proto == RELP {
					assert.EqualValues(t, goroutines*perG, st.Acknowledged)
				}
				assert.Zero(t, st.Resent+st.Unconfirmed+st.Rejected+st.DialErrors+st.Reconnects, "%v", st)
			})
		}
	}
}

// chaos sends n records in calls of batch records while rsyslogd is
// SIGKILLed and restarted kills times, and returns what arrived.
func chaos(t *testing.T, proto Protocol, n, batch, kills int) (deliveryCheck, Stats) {
	r := startRsyslogd(t, rsyslogdOptions{})
	s := New(r.addr(proto), WithProtocol(proto), WithFormat(Raw), WithBackoff(5*time.Millisecond, 100*time.Millisecond))
	defer s.Close()
	records := make(map[[2]int][]byte, n)
	all := make([][]byte, n)
	for i := range n {
		all[i] = testRecord(0, i, 200)
		records[[2]int{0, i}] = bytes.TrimSuffix(all[i], []byte("\n"))
	}
	var progress atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i += batch {
			got, err := s.WriteRecords(all[i:min(i+batch, n)])
			if !assert.NoError(t, err) || !assert.Equal(t, min(batch, n-i), got) {
				return
			}
			progress.Store(int64(i + batch))
		}
	}()
	for k := range kills {
		// Kill at evenly spread points of the stream.
		at := int64(n * (k + 1) / (kills + 1))
		for progress.Load() < at {
			time.Sleep(time.Millisecond)
		}
		r.kill()
		time.Sleep(300 * time.Millisecond) // connections refused meanwhile
		r.start()
	}
	<-done
	st := s.Stats()
	require.NoError(t, s.Close())
	lines := r.waitLines(n)
	return check(t, lines, false, records), st
}

// TestRsyslogRELPKills: 200,000 records over RELP while rsyslogd is
// SIGKILLed and restarted 3 times: none missing; the duplicates are
// counted (at most Stats.Resent) and at most a window per broken
// connection.
func TestRsyslogRELPKills(t *testing.T) {
	c, st := chaos(t, RELP, 200_000, 1000, 3)
	t.Logf("missing %d, duplicates %d; %v", c.missing, c.duplicates, st)
	assert.Zero(t, c.missing, "missing")
	assert.LessOrEqual(t, uint64(c.duplicates), st.Resent, "duplicates not counted")
	assert.GreaterOrEqual(t, st.Reconnects, uint64(3))
	assert.LessOrEqual(t, st.Resent, uint64(DefaultWindow)*st.Reconnects, "more resent than a window per break")
	assert.Zero(t, c.outOfOrder-c.duplicates*0, "out of order")
}

// TestRsyslogTCPKills: the same over TCP: records may be lost, but every
// loss is counted as unconfirmed.
func TestRsyslogTCPKills(t *testing.T) {
	c, st := chaos(t, TCP, 200_000, 1000, 3)
	t.Logf("missing %d, duplicates %d; %v", c.missing, c.duplicates, st)
	assert.LessOrEqual(t, uint64(c.missing), st.Unconfirmed, "a loss not counted")
	assert.Zero(t, c.duplicates, "duplicates")
	assert.GreaterOrEqual(t, st.Reconnects, uint64(3))
}

// TestRsyslogRefused: while nothing accepts connections, for 5 s, the
// Sink dials no more often than its backoff allows, and once rsyslogd
// listens it delivers by itself.
func TestRsyslogRefused(t *testing.T) {
	for _, proto := range []Protocol{RELP, TCP} {
		t.Run(proto.String(), func(t *testing.T) {
			r := startRsyslogd(t, rsyslogdOptions{})
			r.kill()
			const minB, maxB = 20 * time.Millisecond, 500 * time.Millisecond
			var refused atomic.Int64
			s := New(r.addr(proto), WithProtocol(proto), WithFormat(Raw), WithBackoff(minB, maxB),
				WithErrorHandler(func(err error) {
					if errors.Is(err, syscall.ECONNREFUSED) {
						refused.Add(1)
					}
				}))
			defer s.Close()
			records := map[[2]int][]byte{}
			batch := make([][]byte, 100)
			for i := range batch {
				batch[i] = testRecord(0, i, 200)
				records[[2]int{0, i}] = bytes.TrimSuffix(batch[i], []byte("\n"))
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.WriteRecords(batch)
				done <- err
			}()
			time.Sleep(5 * time.Second)
			dials := s.Stats().Dials
			// The waits are at least half their ceilings: min/2, min, 2min
			// ... up to max/2. The most dials 5 s can hold:
			bound, spent, ceil := 1, time.Duration(0), minB
			for {
				spent += ceil / 2
				if spent > 5*time.Second {
					break
				}
				bound++
				ceil = min(2*ceil, maxB)
			}
			t.Logf("%d dials in 5 s (bound %d), %d refused", dials, bound, refused.Load())
			assert.LessOrEqual(t, dials, uint64(bound)+1, "dialled faster than the backoff allows")
			assert.GreaterOrEqual(t, refused.Load(), int64(5), "refusals not reported")
			r.start()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery 10 s after the collector came back")
			}
			require.NoError(t, s.Close())
			c := check(t, r.waitLines(len(batch)), false, records)
			assert.Zero(t, c.missing)
			assert.Zero(t, c.duplicates)
		})
	}
}

// TestRsyslogTooLong: a record whose message is over WithMaxMessageSize
// is not sent, in part or whole, over either protocol: it is counted,
// and the error gives its length and the limit. The records around it
// arrive. rsyslogd runs with its default limit of 8 KiB, under which it
// would split (TCP) or truncate (RELP) the record.
func TestRsyslogTooLong(t *testing.T) {
	for _, proto := range []Protocol{RELP, TCP} {
		t.Run(proto.String(), func(t *testing.T) {
			r := startRsyslogd(t, rsyslogdOptions{maxMessageSize: "8k"})
			s := New(r.addr(proto), WithProtocol(proto))
			big := testRecord(0, 1, 20_000)
			recs := [][]byte{testRecord(0, 0, 200), big, testRecord(0, 2, 200)}
			n, err := s.WriteRecords(recs)
			require.ErrorIs(t, err, ErrTooLong)
			assert.Equal(t, 3, n)
			assert.Contains(t, err.Error(), fmt.Sprintf("a record of %d bytes", len(big)-1))
			assert.Contains(t, err.Error(), "limit of 8192 bytes")
			n, err = s.Write(big)
			require.ErrorIs(t, err, ErrTooLong)
			assert.Zero(t, n)
			assert.EqualValues(t, 2, s.Stats().Rejected)
			require.NoError(t, s.Close())
			r.waitLines(2)
			time.Sleep(100 * time.Millisecond)
			lines := r.lines()
			require.Len(t, lines, 2)
			for _, l := range lines {
				assert.NotContains(t, string(l), `"seq":1,`)
				assert.Less(t, len(l), 1000)
			}
			c := check(t, lines, true, map[[2]int][]byte{
				{0, 0}: bytes.TrimSuffix(recs[0], []byte("\n")),
				{0, 2}: bytes.TrimSuffix(recs[2], []byte("\n")),
			})
			assert.Zero(t, c.missing)
		})
	}
}

// TestRsyslogUntrustedTLS: a collector whose certificate the Sink does
// not trust: each attempt fails with a clear error, nothing reaches the
// collector, and Close ends the call with what was not delivered.
func TestRsyslogUntrustedTLS(t *testing.T) {
	for _, proto := range []Protocol{RELP, TCP} {
		t.Run(proto.String(), func(t *testing.T) {
			r := startRsyslogd(t, rsyslogdOptions{pki: newTestPKI(t)})
			other := newTestPKI(t) // a CA the collector's certificate is not from
			errs := make(chan error, 100)
			s := New(r.addr(proto), WithProtocol(proto), WithTLS(other.clientConfig()),
				WithBackoff(10*time.Millisecond, 50*time.Millisecond),
				WithErrorHandler(func(err error) {
					select {
					case errs <- err:
					default:
					}
				}))
			done := make(chan error, 1)
			go func() {
				_, err := s.WriteRecords([][]byte{testRecord(0, 0, 200)})
				done <- err
			}()
			first := <-errs
			assert.ErrorContains(t, first, "TLS handshake")
			assert.ErrorContains(t, first, "certificate signed by unknown authority")
			require.NoError(t, s.Close())
			err := <-done
			require.ErrorIs(t, err, ErrClosed)
			assert.ErrorContains(t, err, "1 of 1 records not delivered")
			assert.ErrorContains(t, err, "unknown authority")
			assert.Zero(t, s.Stats().Sent)
			time.Sleep(100 * time.Millisecond)
			assert.Empty(t, r.lines())
		})
	}
}

// TestUntrustedTLSNoPlaintext: a listener that records what it is sent
// sees a TLS ClientHello, never the record.
func TestUntrustedTLSNoPlaintext(t *testing.T) {
	for _, proto := range []Protocol{RELP, TCP} {
		t.Run(proto.String(), func(t *testing.T) {
			got := make(chan []byte, 100)
			addr := serveRaw(t, func(c []byte) { got <- c })
			s := New(addr, WithProtocol(proto), WithTLS(newTestPKI(t).clientConfig()),
				WithTimeout(200*time.Millisecond), WithBackoff(10*time.Millisecond, 20*time.Millisecond))
			done := make(chan error, 1)
			go func() {
				_, err := s.WriteRecords([][]byte{[]byte("secret record")})
				done <- err
			}()
			first := <-got
			require.NoError(t, s.Close())
			require.ErrorIs(t, <-done, ErrClosed)
			assert.Equal(t, byte(0x16), first[0], "not a TLS handshake record")
			close(got)
			for b := range got {
				first = append(first, b...)
			}
			assert.NotContains(t, string(first), "secret")
			assert.NotContains(t, string(first), "syslog")
			assert.NotContains(t, strings.ToLower(string(first)), "relp_version")
		})
	}
}

// TestWriteRecordsAllocs: the steady state, a connection up to rsyslogd,
// allocates nothing per call, over either protocol, with TLS or without
// (but for crypto/tls's own reads, over RELP).
// (The collector runs in a process of its own: a fake one in this process
// would count its own allocations.)
func TestWriteRecordsAllocs(t *testing.T) {
	for _, pc := range protocolCases {
		t.Run(pc.name, func(t *testing.T) {
			if pc.tls && raceEnabled {
				t.Skip("crypto/tls allocates under the race detector")
			}
			o := rsyslogdOptions{}
			opts := []Option{WithProtocol(pc.proto)}
			if pc.tls {
				o.pki = newTestPKI(t)
				opts = append(opts, WithTLS(o.pki.clientConfig()))
			}
			r := startRsyslogd(t, o)
			s := New(r.addr(pc.proto), opts...)
			defer s.Close()
			recs := make([][]byte, 256)
			for i := range recs {
				recs[i] = testRecord(0, i, 200)
			}
			_, err := s.WriteRecords(recs)
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(20, func() {
				if _, err := s.WriteRecords(recs); err != nil {
					t.Error(err)
				}
			})
			if pc.proto == RELP && pc.tls {
				// crypto/tls allocates a small reader at each read of the
				// socket (Conn.readFromUntil), and RELP reads answers:
				// fewer than one a record, none of them the Sink's.
				assert.Less(t, allocs, float64(len(recs))/2)
				return
			}
			assert.Zero(t, allocs)
		})
	}
}
