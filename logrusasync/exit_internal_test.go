package logrusasync

import (
	"io"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

func registered(w *core.Writer) bool {
	exitWriters.mu.Lock()
	defer exitWriters.mu.Unlock()
	_, ok := exitWriters.open[w]
	return ok
}

// TestCloseUnregistersExitHandler checks that logrus's exit handlers do
// not keep a closed hook or Writer, and their two buffers, alive: logrus
// never forgets a handler, so the package keeps one and Close removes the
// hook or Writer from it.
func TestCloseUnregistersExitHandler(t *testing.T) {
	logger := logrus.New()
	h := NewHook(core.WithSink(io.Discard))
	h.Install(logger)
	h.RegisterExitHandler() // idempotent
	require.True(t, registered(h.w), "Install registers the hook for logrus.Exit")

	w := NewWriter(core.WithSink(io.Discard))
	require.True(t, registered(w.w), "NewWriter registers the Writer for logrus.Exit")

	require.NoError(t, h.Close())
	assert.False(t, registered(h.w), "a closed hook is still held by the exit handler")
	require.NoError(t, w.Close())
	assert.False(t, registered(w.w), "a closed Writer is still held by the exit handler")

	syncAtExit() // must not touch the closed hook or Writer
}
