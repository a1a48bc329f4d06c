package core

import "time"

// clock makes the timer behind the flush interval, so that tests can fire
// it by hand instead of sleeping.
type clock interface {
	newTimer() timer
}

// timer is a stoppable, resettable one-shot timer, created stopped.
type timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type systemClock struct{}

func (systemClock) newTimer() timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return systemTimer{t}
}

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time   { return s.t.C }
func (s systemTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s systemTimer) Stop()                 { s.t.Stop() }
