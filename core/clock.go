package core

import "time"

// clock tells the writer goroutine the time and makes the timer it sleeps
// on, so that tests can move time and fire the timer by hand instead of
// sleeping.
type clock interface {
	now() time.Time
	newTimer() timer
}

// timer is a stoppable, resettable one-shot timer, created stopped.
type timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type systemClock struct{}

func (systemClock) now() time.Time { return time.Now() }

func (systemClock) newTimer() timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return systemTimer{t}
}

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time   { return s.t.C }
func (s systemTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s systemTimer) Stop()                 { s.t.Stop() }
