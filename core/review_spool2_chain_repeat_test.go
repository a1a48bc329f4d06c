package core

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewSpool2RecoveryDyingInFreshRunAddsAStep checks the bound on
// the repeats that a recovery dying in turn adds: the records of the call
// it died in, which may be a whole step of records no process had written
// (README, Exits and crashes, and WithSpool once said "the one record it
// was writing"). The dead process died in a call of 2 records (written 0,
// writing 2); the recovery writes those 2 one per call, then the 200
// records no process had written in one run (a step holds them all),
// storing writing at the run's end, and dies inside that call after the
// bytes reached the sink (a runtime.Goexit in the sink stands for the
// SIGKILL: Recover has no defer but the spool's close). The next recovery
// finds all 200 marked as may-repeat and writes them again: 200 lines
// twice, on top of the 2 the first death repeated, and no record more
// than twice.
func TestReviewSpool2RecoveryDyingInFreshRunAddsAStep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.spool")
	var recs [][]byte
	for i := range 202 {
		recs = append(recs, fmt.Appendf(nil, "line %03d\n", i))
	}
	forgeSpool(t, path, 8192, recs, 0, 2, callingRun)

	var sink bytes.Buffer
	sink.WriteString("line 000\n") // the dead process's call reached the sink whole
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = Recover(path, writerFunc(func(p []byte) (int, error) {
			sink.Write(p)
			if bytes.HasPrefix(p, []byte("line 002\n")) {
				runtime.Goexit() // killed after the kernel took the run
			}
			return len(p), nil
		}))
	}()
	<-done

	logPath := filepath.Join(dir, "app.log")
	require.NoError(t, os.WriteFile(logPath, sink.Bytes(), 0o600))
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	w := New(WithNotices(nil), WithSink(f), WithSpool(path), WithBufferSize(8192))
	st := w.Stats()
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	got, err := os.ReadFile(logPath)
	require.NoError(t, err)

	copies := map[string]int{}
	for _, l := range bytes.SplitAfter(got, []byte("\n")) {
		if len(l) > 0 {
			copies[string(l)]++
		}
	}
	repeated, repeatedBytes, most := 0, 0, 0
	for i, r := range recs {
		c := copies[string(r)]
		require.GreaterOrEqual(t, c, 1, "%q is missing", r)
		repeated += c - 1
		if i >= 2 && c > 1 {
			repeatedBytes += len(r)
		}
		most = max(most, c)
	}
	assert.LessOrEqual(t, most, 2, "a record more than twice")
	t.Logf("the second recovery counted %d records that may repeat; %d lines repeated", st.RepeatedRecords, repeated)
	assert.LessOrEqual(t, repeated, 2+200,
		"lines repeated: the first death's 2, and the records of the call the recovery died in")
	assert.LessOrEqual(t, repeatedBytes, spoolStep, "the recovery that died in turn adds at most a step of repeats")
}
