//go:build linux || darwin || freebsd

package syslogsink

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2RsyslogLimitBoundary: messages of the limit's length, and
// one byte either side, against rsyslogd configured with that limit. A
// message the Sink sends must arrive whole (rsyslog truncates a longer
// RELP message and still acknowledges it, so the Sink's check must not be
// off by one), and one byte over is rejected by the Sink.
func TestReview2RsyslogLimitBoundary(t *testing.T) {
	const limit = 8192
	for _, proto := range []Protocol{RELP, TCP} {
		t.Run(proto.String(), func(t *testing.T) {
			r := startRsyslogd(t, rsyslogdOptions{maxMessageSize: "8k"})
			s := New(r.addr(proto), WithProtocol(proto), WithFormat(Raw), WithMaxMessageSize(limit))
			var recs [][]byte
			for i, size := range []int{limit - 1, limit, limit + 1} {
				recs = append(recs, testRecord(0, i, size+1)) // +1: the newline, which is not sent
			}
			n, err := s.WriteRecords(recs)
			require.ErrorIs(t, err, ErrTooLong)
			assert.Equal(t, 3, n)
			assert.EqualValues(t, 1, s.Stats().Rejected)
			require.NoError(t, s.Close())
			r.waitLines(2)
			time.Sleep(100 * time.Millisecond) // and no third
			lines := r.lines()
			require.Len(t, lines, 2)
			for i, l := range lines {
				assert.Equal(t, len(recs[i])-1, len(l), "message %d arrived with another length", i)
				assert.True(t, bytes.Equal(bytes.TrimSuffix(recs[i], []byte("\n")), l), "message %d changed", i)
			}
		})
	}
}
