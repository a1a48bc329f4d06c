package logrusasync

import (
	"io"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

// TestCloseUnregistersExitHandler checks that logrus's exit handlers do
// not keep a closed hook, and its two buffers, alive: logrus never forgets
// a handler, so the package keeps one and Close removes the hook from it.
func TestCloseUnregistersExitHandler(t *testing.T) {
	logger := logrus.New()
	h := NewHook(core.WithSink(io.Discard))
	h.Install(logger)
	h.RegisterExitHandler() // idempotent

	exitHooks.mu.Lock()
	_, registered := exitHooks.open[h]
	exitHooks.mu.Unlock()
	require.True(t, registered, "Install registers the hook for logrus.Exit")

	require.NoError(t, h.Close())
	exitHooks.mu.Lock()
	_, registered = exitHooks.open[h]
	exitHooks.mu.Unlock()
	assert.False(t, registered, "a closed hook is still held by the exit handler")

	syncExitHooks() // must not touch the closed hook
}
