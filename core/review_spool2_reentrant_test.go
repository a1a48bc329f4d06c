//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewSpool2ReentrantDuringRecovery: a recovery outlasts the sync
// timeout (its first call stalls), New returns, and the sink, still on
// the recovery's goroutine, calls back into the Writer: Write is accepted
// (its record follows the recovered ones), Sync and Close fail at once
// with ErrReentrant instead of waiting for themselves. No two sink calls
// overlap, and nothing reaches the sink before the recovered records.
func TestReviewSpool2ReentrantDuringRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.spool")
	recs := [][]byte{[]byte("r1\n"), []byte("r2\n"), []byte("r3\n")}
	forgeSpool(t, path, 4096, recs, 0, 0, notCalling)

	g := newGate()
	sink := &recSink{}
	var wp atomic.Pointer[Writer]
	var inSink, most atomic.Int32
	var syncErr, closeErr, writeErr atomic.Value
	called := false
	s := writerFunc(func(p []byte) (int, error) {
		n := inSink.Add(1)
		defer inSink.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if bytes.Equal(p, []byte("r1\nr2\nr3\n")) && !called {
			called = true
			g.pass() // until New has returned and the test opens the gate
			w := wp.Load()
			_, err := w.Write([]byte("from the sink\n"))
			writeErr.Store(errBox{err})
			syncErr.Store(errBox{w.Sync()})
			closeErr.Store(errBox{w.Close()})
		}
		return sink.Write(p)
	})
	var errs errorLog
	w := New(WithNotices(nil), WithSink(s), WithSpool(path), WithBufferSize(4096),
		WithSyncTimeout(200*time.Millisecond), WithErrorHandler(errs.handle))
	wp.Store(w)
	require.Nil(t, w.spool, "New gave up waiting")
	_, err := w.Write([]byte("after New\n"))
	require.NoError(t, err)
	g.open()
	eventually(t, "the sink's callbacks", func() bool { return closeErr.Load() != nil })
	assert.NoError(t, writeErr.Load().(errBox).err)
	assert.ErrorIs(t, syncErr.Load().(errBox).err, ErrReentrant)
	assert.ErrorIs(t, closeErr.Load().(errBox).err, ErrReentrant)
	require.NoError(t, func() error { _ = w.Close(); <-w.done; return nil }())
	assert.Equal(t, "r1\nr2\nr3\nafter New\nfrom the sink\n", string(sink.Data()))
	assert.EqualValues(t, 1, most.Load(), "sink calls at once")
}

type errBox struct{ err error }
