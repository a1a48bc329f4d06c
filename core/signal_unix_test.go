//go:build linux || darwin || freebsd

package core

import (
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// How a child of the signal tests handles signals (exitPlan.Signals).
const (
	signalsDefault = ""       // not at all: SIGTERM and SIGINT end it
	signalsHandle  = "handle" // HandleSignals()
	signalsIgnore  = "ignore" // SIGHUP ignored, then HandleSignals(SIGTERM, SIGHUP)
	signalsNotify  = "notify" // its own signal.Notify for SIGTERM, which calls SyncAll and exits with status 3
	notifyExitCode = 3
)

// handleSignals sets up the signal handling of a child.
func handleSignals(how string) {
	switch how {
	case signalsHandle:
		HandleSignals()
	case signalsIgnore:
		signal.Ignore(syscall.SIGHUP)
		HandleSignals(syscall.SIGTERM, syscall.SIGHUP)
	case signalsNotify:
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		go func() {
			<-ch
			if err := SyncAll(); err != nil {
				panic(err)
			}
			os.Exit(notifyExitCode)
		}()
	}
}

// signalPlan is a child that logs 100 lines from each of 2 goroutines
// into Writers that write only the first of them before the end (an hour
// of flush interval, and far from the high-water mark), and then waits
// for a signal.
func signalPlan(dir string, how string, writers int) exitPlan {
	return exitPlan{Sink: filepath.Join(dir, "log"), Goroutines: 2, Lines: 100, Writers: writers,
		FlushInterval: time.Hour, Signals: how, Ending: endSignal}
}

// signalChild runs the child of test with plan, sends it sigs, one after
// the other, and returns how it ended and its log.
func signalChild(t *testing.T, test string, plan exitPlan, sigs ...os.Signal) (exitRun, exitLog) {
	t.Helper()
	c := startExitChild(t, test, plan)
	for _, sig := range sigs {
		require.NoError(t, c.cmd.Process.Signal(sig))
	}
	r := c.wait(t)
	return r, readExitLog(t, plan.Sink, plan.Goroutines)
}

// requireSignaled checks that the child was ended by sig, as it would
// have been without a handler.
func requireSignaled(t *testing.T, r exitRun, sig syscall.Signal) {
	t.Helper()
	status := r.state.Sys().(syscall.WaitStatus)
	require.True(t, status.Signaled(), "%v: %s", r.state, r.stderr)
	require.Equal(t, sig, status.Signal())
}

// TestHandleSignals checks that HandleSignals writes and syncs every
// record on SIGTERM and on SIGINT and that the process then ends by that
// signal, as it would have without HandleSignals; and that without it the
// same child loses records, so that the test can tell.
func TestHandleSignals(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			r, l := signalChild(t, "TestHandleSignals", signalPlan(t.TempDir(), signalsHandle, 1), sig)
			requireSignaled(t, r, sig)
			require.Equal(t, []int{100, 100}, r.written)
			l.requirePrefixes(t, r.written, true)
			assert.Equal(t, 200, l.kept())
			assert.Empty(t, l.broken)
		})
		t.Run(sig.String()+" without HandleSignals", func(t *testing.T) {
			r, l := signalChild(t, "TestHandleSignals", signalPlan(t.TempDir(), signalsDefault, 1), sig)
			requireSignaled(t, r, sig)
			l.requirePrefixes(t, r.written, false)
			assert.Less(t, l.kept(), 200, "records were written without a sync: the test cannot tell")
			t.Logf("without HandleSignals: %d of 200 lines kept", l.kept())
		})
	}
}

// TestHandleSignalsLeavesIgnoredSignals checks that a signal the process
// ignores stays ignored: SIGHUP does nothing, and the SIGTERM after it
// ends the process, with every record written.
func TestHandleSignalsLeavesIgnoredSignals(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	r, l := signalChild(t, "TestHandleSignalsLeavesIgnoredSignals", signalPlan(t.TempDir(), signalsIgnore, 1),
		syscall.SIGHUP, syscall.SIGTERM)
	requireSignaled(t, r, syscall.SIGTERM)
	assert.Equal(t, 200, l.kept())
}

// TestSyncAllFromOwnHandler checks the set-up for a program that handles
// SIGTERM itself: its handler calls SyncAll, which writes and syncs the
// records of every open Writer, before it exits.
func TestSyncAllFromOwnHandler(t *testing.T) {
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	r, l := signalChild(t, "TestSyncAllFromOwnHandler", signalPlan(t.TempDir(), signalsNotify, 2), syscall.SIGTERM)
	require.Equal(t, notifyExitCode, r.state.ExitCode(), r.stderr)
	l.requirePrefixes(t, r.written, true)
	assert.Equal(t, 200, l.kept())
	assert.Empty(t, l.broken)
}
