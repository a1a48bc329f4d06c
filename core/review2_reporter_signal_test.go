//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const review2SignalChildEnv = "ASYNCLOG_REVIEW2_SIGNAL_CHILD"

// TestReview2ReporterAtSignal: the default error handler prints one line a
// second and now flushes the errors it left out at Close. A program that
// ends by HandleSignals (SIGTERM: SyncAll, then the signal ends the
// process) never closes: the errors of its last second are never printed,
// and nothing says they were left out. The child makes 5 sink errors within
// a second, then receives SIGTERM with HandleSignals installed.
func TestReview2ReporterAtSignal(t *testing.T) {
	if os.Getenv(review2SignalChildEnv) != "" {
		review2SignalChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReview2ReporterAtSignal$", "-test.count=1")
	cmd.Env = append(os.Environ(), review2SignalChildEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !assert.True(t, ok, "the child did not end by the signal: %v\n%s", err, &stderr) {
		return
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	assert.True(t, ws.Signaled(), "%v", err)
	line := regexp.MustCompile(`refused record (\d+)(?: \(and (\d+) more errors\))?$`)
	accounted := 0
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			accounted++
			if m[2] != "" {
				n, _ := strconv.Atoi(m[2])
				accounted += n
			}
		}
	}
	assert.Equal(t, 5, accounted, "sink errors printed or counted as left out before the signal ended the process; stderr:\n%s", &stderr)
}

func review2SignalChild() {
	HandleSignals()
	sink := &recSink{write: func(p []byte) (int, error) {
		return 0, fmt.Errorf("refused %s", bytes.TrimSpace(p))
	}}
	w := New(WithSink(sink), WithNotices(nil))
	for i := range 5 {
		fmt.Fprintf(w, "record %d\n", i)
		_ = w.Sync()
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(5 * time.Second)
	os.Exit(3)
}
