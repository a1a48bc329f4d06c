package syslogsink

import "time"

// A backoff says how long to wait before the next connection attempt:
// exponential from min to max, with random jitter. The n-th consecutive
// failure waits a random time between half and all of min*2^(n-1),
// capped at max, so that senders that lost the same collector spread
// their attempts instead of reconnecting in step, and the attempts of one
// sender are never closer than min/2. reset starts again from min, once
// the collector takes records again.
type backoff struct {
	min, max time.Duration
	next     time.Duration  // the ceiling of the next wait; 0: min
	rand     func() float64 // in [0, 1)
}

// wait returns the time to wait before the next attempt, and doubles the
// one after it.
func (b *backoff) wait() time.Duration {
	ceil := b.next
	if ceil == 0 {
		ceil = b.min
	}
	if ceil >= b.max/2 {
		b.next = b.max
	} else {
		b.next = ceil * 2
	}
	half := ceil / 2
	return half + time.Duration(b.rand()*float64(ceil-half))
}

// reset makes the next wait start again from min.
func (b *backoff) reset() { b.next = 0 }
