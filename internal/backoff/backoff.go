// Package backoff says how long a network sink waits before it tries its
// peer again: exponential, from a minimum to a maximum, with jitter.
package backoff

import (
	"math/rand/v2"
	"time"
)

// A Backoff draws the waits between the tries of one sender. The n-th
// try in a row that failed waits a random time between half and all of
// Min*2^(n-1), capped at Max, so that senders that lost the same peer
// spread their tries out instead of trying again in step, and the tries of
// one sender are never closer than Min/2. Reset starts again from Min,
// after a success. A Backoff is used by one goroutine at a time.
type Backoff struct {
	Min, Max time.Duration

	// Rand returns a random number in [0, n); nil means rand.Int64N.
	Rand func(n int64) int64

	step time.Duration // the present step; zero before the first failure
}

// Next returns the wait before the next try, and moves to the next step.
func (b *Backoff) Next() time.Duration {
	switch {
	case b.step == 0:
		b.step = b.Min
	case b.step < b.Max/2:
		b.step *= 2
	default:
		b.step = b.Max
	}
	random := b.Rand
	if random == nil {
		random = rand.Int64N
	}
	half := b.step / 2
	return b.step - half + time.Duration(random(int64(half)+1))
}

// Reset makes the next wait start again from Min.
func (b *Backoff) Reset() { b.step = 0 }
