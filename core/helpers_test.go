package core

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitLimit bounds every wait for a condition in these tests. It only turns
// a hang into a failure with a message; no test relies on anything
// happening within it, so it is far longer than any condition should take
// on a loaded machine.
const waitLimit = 30 * time.Second

// watch lets a test wait for a condition on state guarded by its mutex:
// whoever changes the state calls changedLocked, which wakes the waiters.
type watch struct {
	mu sync.Mutex
	ch chan struct{} // closed and replaced at every change
}

func (w *watch) changedLocked() {
	if w.ch != nil {
		close(w.ch)
	}
	w.ch = make(chan struct{})
}

// waitUntil blocks until cond, called with the mutex held, is true. It
// fails the test if that takes longer than waitLimit.
func (w *watch) waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		if cond() {
			w.mu.Unlock()
			return
		}
		if w.ch == nil {
			w.ch = make(chan struct{})
		}
		ch := w.ch
		w.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("gave up waiting until %s", what)
		}
	}
}

// eventually polls cond until it is true, for conditions on state that has
// no way to signal a change (the Writer's Stats). The condition is certain
// to become true; the polling interval only decides how soon we notice.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recSink is a sink that keeps a copy of every successful Write call
// separately, in order, and logs every Write, Sync and Close call as an
// event, so that tests can check what reached the sink byte for byte and
// call by call.
type recSink struct {
	// write, if set, runs first in every Write and decides its result;
	// the call's bytes are kept only when it returns len(p), nil.
	write func(p []byte) (int, error)
	// sync, if set, decides what Sync returns.
	sync func() error

	watch
	calls  [][]byte
	events []string // "write", "failed write", "sync", "close"
}

func (s *recSink) Write(p []byte) (int, error) {
	n, err := len(p), error(nil)
	if s.write != nil {
		n, err = s.write(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == len(p) && err == nil {
		s.calls = append(s.calls, bytes.Clone(p))
		s.events = append(s.events, "write")
	} else {
		s.events = append(s.events, "failed write")
	}
	s.changedLocked()
	return n, err
}

func (s *recSink) Sync() error {
	var err error
	if s.sync != nil {
		err = s.sync()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "sync")
	s.changedLocked()
	return err
}

// Close is here to show that the Writer never calls it.
func (s *recSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "close")
	s.changedLocked()
	return nil
}

// Calls returns a copy of the list of successful Write calls.
func (s *recSink) Calls() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.calls...)
}

// Data returns everything written, concatenated.
func (s *recSink) Data() []byte {
	return bytes.Join(s.Calls(), nil)
}

// Events returns a copy of the event log.
func (s *recSink) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// waitForData waits until the sink has received at least n bytes.
func (s *recSink) waitForData(tb testing.TB, n int) {
	tb.Helper()
	s.waitUntil(tb, fmt.Sprintf("the sink has %d bytes", n), func() bool {
		total := 0
		for _, c := range s.calls {
			total += len(c)
		}
		return total >= n
	})
}

// writerOnly hides every method of a sink but Write.
type writerOnly struct{ s *recSink }

func (w writerOnly) Write(p []byte) (int, error) { return w.s.Write(p) }

// gate makes a sink block: every call to pass signals entered and then waits
// until open is called.
type gate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (g *gate) pass() {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.release
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// waitEntered waits until a sink call is blocked at the gate.
func (g *gate) waitEntered(tb testing.TB) {
	tb.Helper()
	select {
	case <-g.entered:
	case <-time.After(waitLimit):
		tb.Fatal("gave up waiting for the sink to be called")
	}
}

// errorLog collects what the Writer passes to its error handler.
type errorLog struct {
	watch
	errs []error
}

func (l *errorLog) handle(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
	l.changedLocked()
}

func (l *errorLog) Errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// newWriter returns a Writer whose Close the test's cleanup calls (again,
// if the test already has), waiting for the writer goroutine to exit. A
// test whose sink blocks must register its release after this call, so
// that it runs first. Notices are off, so that the sink gets records only,
// unless opts turn them on.
func newWriter(tb testing.TB, opts ...Option) *Writer {
	tb.Helper()
	w := New(append([]Option{WithNotices(nil)}, opts...)...)
	tb.Cleanup(func() {
		_ = w.Close()
		<-w.done
	})
	return w
}

// newGatedWriter returns a Writer whose sink blocks in every Write at the
// returned gate, which the test's cleanup opens before closing the Writer.
func newGatedWriter(tb testing.TB, opts ...Option) (*Writer, *recSink, *gate) {
	tb.Helper()
	g := newGate()
	s := &recSink{write: func(p []byte) (int, error) {
		g.pass()
		return len(p), nil
	}}
	w := newWriter(tb, append([]Option{WithSink(s)}, opts...)...)
	tb.Cleanup(g.open) // runs before the Close registered by newWriter
	return w, s, g
}

// fakeClock hands the Writer a timer that only the test fires, and a time
// that moves only when it does.
type fakeClock struct{ timer *fakeTimer }

func newFakeClock() *fakeClock {
	return &fakeClock{timer: &fakeTimer{c: make(chan time.Time, 1), now: time.Unix(1e9, 0)}}
}

func (c *fakeClock) newTimer() timer { return c.timer }

func (c *fakeClock) now() time.Time {
	c.timer.mu.Lock()
	defer c.timer.mu.Unlock()
	return c.timer.now
}

// fakeTimer is a timer that fires only when the test calls fire. It keeps
// whether it is armed, the last duration it was armed for and how often it
// was armed.
type fakeTimer struct {
	c chan time.Time
	watch
	armed  bool
	d      time.Duration
	resets int
	now    time.Time // the clock's time: fire moves it on by d
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Reset(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drainLocked()
	t.armed, t.d = true, d
	t.resets++
	t.changedLocked()
}

func (t *fakeTimer) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drainLocked()
	t.armed = false
	t.changedLocked()
}

// drainLocked removes a fire not yet received, as Stop and Reset of a
// time.Timer do since Go 1.23.
func (t *fakeTimer) drainLocked() {
	select {
	case <-t.c:
	default:
	}
}

// waitArmed waits until the timer is armed.
func (t *fakeTimer) waitArmed(tb testing.TB) {
	tb.Helper()
	t.waitUntil(tb, "the flush timer is armed", func() bool { return t.armed })
}

// fire fires the armed timer, moving the clock on by its duration.
func (t *fakeTimer) fire(tb testing.TB) {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	require.True(tb, t.armed, "fire: the timer is not armed")
	t.armed = false
	t.now = t.now.Add(t.d)
	t.c <- t.now
	t.changedLocked()
}

// state returns whether the timer is armed and how often it was armed.
func (t *fakeTimer) state() (armed bool, resets int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.armed, t.resets
}

// quiesce returns once the writer goroutine has finished handling every
// event that reached it before the call: the second Sync is only taken
// when the goroutine is back waiting for work, after the first Sync's
// iteration (and whatever preceded it) has ended, timer bookkeeping
// included.
func quiesce(tb testing.TB, w *Writer) {
	tb.Helper()
	require.NoError(tb, w.Sync())
	require.NoError(tb, w.Sync())
}

var errSink = errors.New("sink failed")

// rec returns a record of n bytes that starts with tag and is filled with a
// pattern that depends on tag, so that a torn or misplaced piece shows.
func rec(tag string, n int) []byte {
	p := make([]byte, n)
	copy(p, tag)
	for i := len(tag); i < n; i++ {
		p[i] = 'a' + byte((i*7+len(tag)*13+int(tag[0]))%26)
	}
	if n > len(tag) {
		p[n-1] = '\n'
	}
	return p
}

// warmUp writes a record and waits until it is in the sink: a Writer whose
// goroutine slept writes the first record at once, and with a fake clock,
// whose flush interval never passes, the records after it stay in the
// buffer until a Sync, a Close, the high-water mark or a full buffer.
func warmUp(tb testing.TB, w *Writer, s *recSink) []byte {
	tb.Helper()
	r := rec("warm-up", 10)
	_, err := w.Write(r)
	require.NoError(tb, err)
	s.waitForData(tb, len(r))
	return r
}
