package core

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncAllSink is a sink that calls SyncAll when it is handed a record
// that starts with trigger, and keeps what SyncAll returned.
type syncAllSink struct {
	recSink
	trigger []byte
	before  func() // if set, runs before SyncAll

	errs chan error
}

func newSyncAllSink(trigger string) *syncAllSink {
	return &syncAllSink{trigger: []byte(trigger), errs: make(chan error, 16)}
}

func (s *syncAllSink) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, s.trigger) {
		if s.before != nil {
			s.before()
		}
		s.errs <- SyncAll()
	}
	return s.recSink.Write(p)
}

// requireSyncAllReentrant checks what SyncAll returned on the writer
// goroutine of a Writer: that Writer's Sync failed at once as reentrant,
// and nothing waited for the sync timeout.
func requireSyncAllReentrant(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, ErrReentrant)
	require.NotErrorIs(t, err, ErrTimeout, "SyncAll waited for the writer goroutine that called it")
}

// TestSyncAllFromSink checks that SyncAll called by a sink, on the writer
// goroutine, does not wait for that writer goroutine (its Writer's Sync
// fails at once with ErrReentrant), syncs every other Writer, and does not
// stall a Sync of the same Writer that is waiting meanwhile: before the
// fix, SyncAll's own goroutines called Sync, which did not recognise the
// writer goroutine, so SyncAll waited for it until the sync timeout, and
// the waiting Sync timed out with it.
func TestSyncAllFromSink(t *testing.T) {
	other := &recSink{}
	o := lingering(t, other) // its records wait for a Sync
	_, err := o.Write(rec("other", 30))
	require.NoError(t, err)

	s := newSyncAllSink("sync-all")
	w := newWriter(t, WithSink(s))
	_, err = w.Write(rec("sync-all", 30))
	require.NoError(t, err)
	_, err = w.Write(rec("after", 30))
	require.NoError(t, err)
	// This Sync writes the records, and the sink calls SyncAll from
	// inside that write: the Sync waits for it.
	require.NoError(t, w.Sync())
	requireSyncAllReentrant(t, <-s.errs)
	assert.Equal(t, string(rec("sync-all", 30))+string(rec("after", 30)), string(s.Data()))

	want := string(rec("first", 20)) + string(rec("other", 30))
	assert.Equal(t, want, string(other.Data()), "SyncAll did not write the other Writer's records")
	events := other.Events()
	assert.Equal(t, "sync", events[len(events)-1], "SyncAll did not sync the other Writer")
}

// TestSyncAllFromErrorHandler is TestSyncAllFromSink for an error handler
// that calls SyncAll, as one that decides the process must end does.
func TestSyncAllFromErrorHandler(t *testing.T) {
	errs := make(chan error, 16)
	sink := &recSink{write: func(p []byte) (int, error) {
		if bytes.HasPrefix(p, []byte("fail")) {
			return 0, errSink
		}
		return len(p), nil
	}}
	w := newWriter(t, WithSink(sink), WithErrorHandler(func(error) { errs <- SyncAll() }))
	_, err := w.Write(rec("fail", 30))
	require.NoError(t, err)
	require.ErrorIs(t, w.Sync(), errSink)
	requireSyncAllReentrant(t, <-errs)
	_, err = w.Write(rec("later", 30))
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	assert.Equal(t, string(rec("later", 30)), string(sink.Data()))
}

// TestSyncAllFromTwoSinks checks two Writers whose sinks call SyncAll at
// the same time: each writer goroutine would wait for the other, which
// waits for it. Neither waits until the sync timeout: the Sync that would
// close the circle fails at once with ErrReentrant.
func TestSyncAllFromTwoSinks(t *testing.T) {
	a, b := newSyncAllSink("sync-all"), newSyncAllSink("sync-all")
	var both sync.WaitGroup
	both.Add(2)
	meet := func() { both.Done(); both.Wait() } // both sinks are in a write
	a.before, b.before = meet, meet
	wa, wb := newWriter(t, WithSink(a)), newWriter(t, WithSink(b))
	for _, w := range []*Writer{wa, wb} {
		_, err := w.Write(rec("sync-all", 30))
		require.NoError(t, err)
	}
	var syncs sync.WaitGroup
	syncErrs := make([]error, 2)
	for i, w := range []*Writer{wa, wb} {
		syncs.Go(func() { syncErrs[i] = w.Sync() })
	}
	syncs.Wait()
	require.NoError(t, errors.Join(syncErrs...))
	for _, s := range []*syncAllSink{a, b} {
		err := <-s.errs
		require.ErrorIs(t, err, ErrReentrant)
		require.NotErrorIs(t, err, ErrTimeout, "a writer goroutine waited for itself through the other")
		assert.Equal(t, string(rec("sync-all", 30)), string(s.Data()))
	}
}

// TestCloseAndSyncAcrossWriters checks a circle through Close: the sink of
// Writer a closes Writer b, whose shutdown hands b's sink a record on
// which it syncs a. a's writer goroutine waits for b's, which would wait
// for a's: the Sync fails at once with ErrReentrant, b closes, and
// neither waits for the sync timeout.
func TestCloseAndSyncAcrossWriters(t *testing.T) {
	var wa, wb *Writer
	closeErr, syncErr := make(chan error, 1), make(chan error, 1)
	sa := &recSink{write: func(p []byte) (int, error) {
		if bytes.HasPrefix(p, []byte("close-b")) {
			closeErr <- wb.Close()
		}
		return len(p), nil
	}}
	sb := &recSink{write: func(p []byte) (int, error) {
		if bytes.HasPrefix(p, []byte("sync-a")) {
			syncErr <- wa.Sync()
		}
		return len(p), nil
	}}
	wb = newWriter(t, WithSink(sb), WithFlushInterval(time.Hour))
	_, err := wb.Write(rec("first", 20))
	require.NoError(t, err)
	require.NoError(t, wb.Sync()) // later records wait in b's buffer for a Sync or Close
	_, err = wb.Write(rec("sync-a", 30))
	require.NoError(t, err)
	wa = newWriter(t, WithSink(sa))
	_, err = wa.Write(rec("close-b", 30))
	require.NoError(t, err)
	require.NoError(t, wa.Sync())

	err = <-syncErr
	require.ErrorIs(t, err, ErrReentrant)
	require.NotErrorIs(t, err, ErrTimeout)
	require.NoError(t, <-closeErr)
	assert.Equal(t, string(rec("first", 20))+string(rec("sync-a", 30)), string(sb.Data()))
}
