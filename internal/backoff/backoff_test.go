package backoff

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSteps: the waits of failures in a row double from Min up to Max,
// each between half and all of its step, and start again from Min after
// Reset.
func TestSteps(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Rand: func(int64) int64 { return 0 }}
	var lows []time.Duration
	for range 6 {
		lows = append(lows, b.Next())
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms}, lows)
	b.Reset()
	b.Rand = func(n int64) int64 { return n - 1 } // the top of each step
	var highs []time.Duration
	for range 6 {
		highs = append(highs, b.Next())
	}
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, highs)
}

// TestJitter: with the real source, every wait lies in its step's upper
// half, and two senders that fail together spread apart.
func TestJitter(t *testing.T) {
	b1 := Backoff{Min: time.Second, Max: time.Second}
	b2 := Backoff{Min: time.Second, Max: time.Second}
	same := 0
	distinct := map[time.Duration]bool{}
	for range 50 {
		d1, d2 := b1.Next(), b2.Next()
		require.GreaterOrEqual(t, d1, 500*time.Millisecond)
		require.LessOrEqual(t, d1, time.Second)
		distinct[d1] = true
		if d1 == d2 {
			same++
		}
	}
	assert.Greater(t, len(distinct), 1)
	assert.Less(t, same, 2)
}

// TestTriesWhileRefused: on a fake clock advanced by the waits, the tries
// while a peer refuses for 5 s stay within the bound the steps give.
func TestTriesWhileRefused(t *testing.T) {
	var now time.Duration
	tries := 0
	b := Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond, Rand: func(int64) int64 { return 0 }}
	for now <= 5*time.Second {
		tries++
		now += b.Next()
	}
	// Tries at 0, 10, 30, 70, 150 and 310 ms, then every 250 ms up to
	// 4810 ms: 6 + 18.
	assert.Equal(t, 24, tries)
}
