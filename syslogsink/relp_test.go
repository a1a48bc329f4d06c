package syslogsink

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func numbered(n int) ([][]byte, []string) {
	recs := make([][]byte, n)
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("record %04d", i)
		recs[i] = []byte(want[i] + "\n")
	}
	return recs, want
}

// firstOf returns the first index of each string in got, and fails on one
// that is not in want.
func requireAtLeastOnce(t *testing.T, want, acked []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, a := range acked {
		seen[a] = true
	}
	for _, w := range want {
		require.True(t, seen[w], "never acknowledged: %q", w)
	}
}

// TestRELPBrokenConnection: the collector reads some records and drops
// the connection without answering them, twice: the unanswered records
// (written, so marked in flight before) are sent again on the next
// connection, and counted as resent, at most a window each time.
func TestRELPBrokenConnection(t *testing.T) {
	const window = 16
	f := startFakeRELP(t, func(conn, i int, _ string) string {
		if conn < 2 && i == 40 {
			return "drop"
		}
		return "ok"
	})
	s := New(f.addr, WithFormat(Raw), WithWindow(window), WithBackoff(time.Millisecond, 5*time.Millisecond))
	recs, want := numbered(200)
	n, err := s.WriteRecords(recs)
	require.NoError(t, err)
	assert.Equal(t, len(recs), n)
	require.NoError(t, s.Close())
	received, acked, closes := f.snapshot()
	requireAtLeastOnce(t, want, acked)
	require.Len(t, received, 3)
	st := s.Stats()
	// Each drop: record 40 of the connection and what followed it in the
	// window were unanswered, and are resent first on the next one.
	assert.Equal(t, received[0][40], received[1][0], "the first unanswered record is not the first resent")
	assert.Equal(t, received[1][40], received[2][0], "the first unanswered record is not the first resent")
	assert.GreaterOrEqual(t, st.Resent, uint64(2))
	assert.LessOrEqual(t, st.Resent, uint64(2*window))
	assert.EqualValues(t, 2, st.Reconnects)
	assert.EqualValues(t, 200, st.Acknowledged)
	assert.EqualValues(t, 200+st.Resent, st.Sent)
	assert.Equal(t, 1, closes, "no close command on Close")
}

// TestRELPNak: a record the collector refuses is sent again on a new
// connection, and counted.
func TestRELPNak(t *testing.T) {
	f := startFakeRELP(t, func(conn, i int, _ string) string {
		if conn == 0 && i == 5 {
			return "nak"
		}
		return "ok"
	})
	var errs []error
	s := New(f.addr, WithFormat(Raw), WithBackoff(time.Millisecond, 5*time.Millisecond),
		WithErrorHandler(func(err error) { errs = append(errs, err) }))
	recs, want := numbered(20)
	_, err := s.WriteRecords(recs)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, acked, _ := f.snapshot()
	requireAtLeastOnce(t, want, acked)
	assert.EqualValues(t, 1, s.Stats().Naks)
	require.NotEmpty(t, errs)
	assert.ErrorContains(t, errs[0], "500 not today")
}

// TestRELPOutOfOrder: an answer to another transaction than the oldest in
// flight breaks the connection; the records are sent again.
func TestRELPOutOfOrder(t *testing.T) {
	f := startFakeRELP(t, func(conn, i int, _ string) string {
		if conn == 0 && i == 3 {
			return "skip"
		}
		return "ok"
	})
	var errs []error
	s := New(f.addr, WithFormat(Raw), WithBackoff(time.Millisecond, 5*time.Millisecond),
		WithErrorHandler(func(err error) { errs = append(errs, err) }))
	recs, want := numbered(20)
	_, err := s.WriteRecords(recs)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, acked, _ := f.snapshot()
	requireAtLeastOnce(t, want, acked)
	require.NotEmpty(t, errs)
	assert.ErrorContains(t, errs[0], "an answer to transaction 6 while the oldest in flight is 5")
}

// TestWriteFailsMarkedInFlight: the connection is broken under a write
// (the server has gone before the records are written): the records of
// that write are in flight already, and are delivered on the next
// connection.
func TestWriteFailsMarkedInFlight(t *testing.T) {
	f := startFakeRELP(t, func(conn, i int, _ string) string { return "ok" })
	s := New(f.addr, WithFormat(Raw), WithBackoff(time.Millisecond, 5*time.Millisecond))
	recs, want := numbered(10)
	_, err := s.WriteRecords(recs[:1])
	require.NoError(t, err)
	// Break the connection the Sink holds: its next write fails.
	require.True(t, s.take())
	s.conn.(*net.TCPConn).CloseWrite()
	s.conn.SetWriteDeadline(time.Unix(1, 0))
	s.give()
	_, err = s.WriteRecords(recs[1:])
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, acked, _ := f.snapshot()
	requireAtLeastOnce(t, want, acked)
	assert.EqualValues(t, 9, s.Stats().Resent)
}

// TestCloseStopsRetries: with nothing listening, WriteRecords retries
// until Close, then returns what it did not deliver, with the last
// error; later calls fail at once.
func TestCloseStopsRetries(t *testing.T) {
	for _, proto := range []Protocol{RELP, TCP} {
		t.Run(proto.String(), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := l.Addr().String()
			require.NoError(t, l.Close())
			s := New(addr, WithProtocol(proto), WithBackoff(time.Millisecond, 10*time.Millisecond))
			done := make(chan error, 1)
			go func() {
				n, err := s.WriteRecords([][]byte{[]byte("a"), []byte("b")})
				assert.Zero(t, n)
				done <- err
			}()
			for s.Stats().DialErrors < 3 {
				time.Sleep(time.Millisecond)
			}
			require.NoError(t, s.Close())
			err = <-done
			require.ErrorIs(t, err, ErrClosed)
			assert.ErrorContains(t, err, "2 of 2 records not delivered")
			assert.ErrorContains(t, err, "connection refused")
			_, err = s.Write([]byte("c"))
			require.ErrorIs(t, err, ErrClosed)
			require.NoError(t, s.Close())
		})
	}
}

// TestCloseInterruptsStalledCall: a collector that reads and never
// answers: Close breaks the call off within its grace, and the call
// returns the records not acknowledged.
func TestCloseInterruptsStalledCall(t *testing.T) {
	stall := make(chan struct{})
	f := startFakeRELP(t, func(conn, i int, _ string) string {
		if conn == 0 && i == 2 {
			<-stall
			return "drop"
		}
		return "ok"
	})
	defer close(stall)
	s := New(f.addr, WithFormat(Raw))
	recs, _ := numbered(5)
	done := make(chan struct{})
	var n int
	var err error
	go func() {
		defer close(done)
		n, err = s.WriteRecords(recs)
	}()
	for s.Stats().Acknowledged < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	require.NoError(t, s.Close())
	<-done
	assert.Less(t, time.Since(start), closeGrace+time.Second)
	assert.Equal(t, 2, n)
	require.True(t, errors.Is(err, ErrClosed), "%v", err)
}
