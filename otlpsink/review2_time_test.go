//go:build review

package otlpsink

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2TimeOverflow: a record's time far in the future must become
// its timeUnixNano only if it can be represented; otherwise it must be
// left as it is (an attribute, as a time the scanner does not take is),
// never wrapped around into another, plausible time. epochNanos multiplies
// a whole number of seconds below 1e11 by 1e9 (and of milliseconds below
// 1e14 by 1e6, of microseconds below 1e17 by 1e3) in uint64, which holds
// only up to 1.8e19; and time.Time.UnixNano is undefined after the year
// 2262, which timeValue does not check (its result wraps as well). The
// collector then files the record under a time decades or centuries off.
func TestReview2TimeOverflow(t *testing.T) {
	for _, in := range []string{
		`{"time":20000000000,"msg":"seconds"}`,
		`{"time":50000000000000,"msg":"milliseconds"}`,
		`{"time":50000000000000000,"msg":"microseconds"}`,
		`{"time":"9999-12-31T23:59:59Z","msg":"a date"}`,
		`{"time":"3000-01-01T00:00:00Z","msg":"a date"}`,
		`{"time":"2600-01-01T00:00:00Z","msg":"a date"}`,
	} {
		b := appendRecord(nil, []byte(in), 1)
		var recs []decodedRecord
		require.NoError(t, fields(b, func(f, w int, v uint64, d []byte) error {
			r, err := decodeRecord(d)
			recs = append(recs, r)
			return err
		}))
		require.Len(t, recs, 1)
		r := recs[0]
		// Each of these times is past 2554, the last that a uint64 of
		// nanoseconds since 1970 holds: no timeUnixNano can say it.
		assert.Zero(t, r.Time, "%s: timeUnixNano %d, which is %v: a time the record does not say",
			in, r.Time, time.Unix(int64(r.Time/1e9), int64(r.Time%1e9)).UTC())
	}
}
