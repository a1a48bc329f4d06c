package otlpsink

import (
	"math/rand/v2"
	"time"
)

// A backoff draws the waits between tries of a request: exponential, from
// min to max, with jitter (each wait is drawn from the upper half of its
// step, so that senders that failed together do not retry together), and
// back to min after a success.
type backoff struct {
	min, max time.Duration
	step     time.Duration     // the present step; zero before the first failure
	int64n   func(int64) int64 // random in [0, n); rand.Int64N unless a test sets it
}

func newBackoff(min, max time.Duration) backoff {
	return backoff{min: min, max: max, int64n: rand.Int64N}
}

// next returns the wait before the next try, and moves to the next step.
func (b *backoff) next() time.Duration {
	switch {
	case b.step == 0:
		b.step = b.min
	case b.step < b.max/2:
		b.step *= 2
	default:
		b.step = b.max
	}
	half := b.step / 2
	return b.step - half + time.Duration(b.int64n(int64(half)+1))
}

// reset starts again from min, after a success.
func (b *backoff) reset() { b.step = 0 }
