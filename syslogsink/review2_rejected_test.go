package syslogsink

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2RejectedCountedOnce: a record too long for
// WithMaxMessageSize between records in flight when the connection
// breaks. deliverRELP goes back to the oldest record in flight and formats
// every record after it again, the rejected one included, which counts it
// in Stats.Rejected a second time: one record rejected, Rejected 2.
func TestReview2RejectedCountedOnce(t *testing.T) {
	f := startFakeRELP(t, func(conn, i int, _ string) string {
		if conn == 0 && i == 1 {
			return "drop" // reads the record after the long one and breaks
		}
		if conn == 0 {
			return "none"
		}
		return "ok"
	})
	s := New(f.addr, WithFormat(Raw), WithMaxMessageSize(100), WithTimeout(time.Second),
		WithBackoff(5*time.Millisecond, 10*time.Millisecond))
	defer s.Close()
	recs := [][]byte{[]byte("first\n"), []byte(strings.Repeat("x", 200) + "\n"), []byte("third\n")}
	n, err := s.WriteRecords(recs)
	require.ErrorIs(t, err, ErrTooLong)
	assert.Equal(t, 3, n)
	st := s.Stats()
	assert.Equal(t, uint64(1), st.Rejected, "one record was rejected; stats %+v", st)
	_, acked, _ := f.snapshot()
	assert.Equal(t, []string{"first", "third"}, acked)
}
