//go:build linux || darwin || freebsd

package core

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const reviewRecoverChildEnv = "ASYNCLOG_REVIEW_RECOVER_CHILD"

// reviewRecoverRounds is how many rounds TestReviewSpool2RecoverKilled
// runs: a few, or ASYNCLOG_REVIEW_RECOVER_ROUNDS.
func reviewRecoverRounds() int {
	if n, err := strconv.Atoi(os.Getenv("ASYNCLOG_REVIEW_RECOVER_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 6
}

// TestReviewSpool2RecoverKilled kills a child logging flat out into a
// bare file with the default buffers, then kills up to three children in
// turn while they run Recover (what asynclog recover does) of its spool
// into that file, at random moments, and recovers at last with New. The
// log must hold every line whose Write returned, in order; no line more
// than three times (twice, but for the stated exception); a line broken
// only where a kill cut a write, and then ended by a newline (none glued).
func TestReviewSpool2RecoverKilled(t *testing.T) {
	if env := os.Getenv(reviewRecoverChildEnv); env != "" {
		spoolPath, logPath, _ := strings.Cut(env, "|")
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			panic(err)
		}
		if _, err := Recover(spoolPath, f); err != nil {
			panic(err)
		}
		os.Exit(0)
	}
	if p, ok := childPlan(); ok {
		p.runChild()
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	rounds := reviewRecoverRounds()
	kills, inRecover, finished, worst, thirds, cut := 0, 0, 0, 0, 0, 0
	for round := range rounds {
		dir := t.TempDir()
		plan := exitPlan{Sink: filepath.Join(dir, "log"), Spool: filepath.Join(dir, "spool"), Goroutines: 4,
			For: time.Duration(20+rand.IntN(150)) * time.Millisecond, Ending: endSIGKILL}
		r := runExitChild(t, "TestSpoolKilledFlatOut", plan)
		kills++
		n := 1
		for range 1 + rand.IntN(3) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestReviewSpool2RecoverKilled$", "-test.count=1")
			cmd.Env = append(os.Environ(), reviewRecoverChildEnv+"="+plan.Spool+"|"+plan.Sink)
			require.NoError(t, cmd.Start())
			time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				kills++
				inRecover++
				n++
			} else {
				require.True(t, cmd.ProcessState.Success(), "the Recover child failed: %v", cmd.ProcessState)
				finished++
			}
		}
		recoverInto(t, plan.Sink, plan.Spool)
		l := readExitLog(t, plan.Sink, plan.Goroutines)
		require.Empty(t, l.tail, "round %d: the log does not end in a newline", round)
		l.requirePrefixes(t, r.written, true)
		for g, counts := range l.counts {
			for seq, c := range counts {
				require.LessOrEqual(t, c, uint8(3), "round %d: line %d of goroutine %d appears %d times", round, seq, g, c)
				if c == 3 {
					thirds++
				}
			}
		}
		k := 0
		for _, line := range l.broken {
			if !cutShort(line.text) {
				t.Fatalf("round %d: line %d is neither whole nor a line cut short: %q", round, line.at, line.text)
			}
			k++
		}
		require.LessOrEqual(t, k, n, "round %d: more lines cut short than kills", round)
		cut += k
		worst = max(worst, l.duplicates())
	}
	t.Logf("%d rounds, %d kills (%d of Recover; %d Recovers finished): %d lines cut short, %d lines three times, worst round %d lines repeated",
		rounds, kills, inRecover, finished, cut, thirds, worst)
}
