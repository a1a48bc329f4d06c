package core

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reporterChildEnv makes TestDefaultErrorHandlerAtClose a child that logs
// through a Writer with the default error handler.
const reporterChildEnv = "ASYNCLOG_REPORTER_CHILD"

// reporterErrors is how many errors the child's sink makes.
const reporterErrors = 7

// TestDefaultErrorHandlerAtClose runs a child process whose Writer has the
// default error handler and a sink that fails every write: it makes
// seven errors within a second and closes. Its standard error must
// account for every one of them, counted in Stats.SinkErrors: the first
// printed at once, and at Close the last one, with a count of those left
// out between. Before the fix, the errors of the last second before Close
// were never printed.
func TestDefaultErrorHandlerAtClose(t *testing.T) {
	if os.Getenv(reporterChildEnv) != "" {
		reporterChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDefaultErrorHandlerAtClose$", "-test.count=1")
	cmd.Env = append(os.Environ(), reporterChildEnv+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	require.Contains(t, stdout.String(), fmt.Sprintf("sink errors: %d\n", reporterErrors), "stdout:\n%s", &stdout)

	line := regexp.MustCompile(`^asynclog: writing 1 records \(\d+ bytes\) to the sink: refused record (\d+)(?: \(and (\d+) more errors\))?$`)
	var accounted int
	var last int
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, "an unexpected line on stderr: %q\nstderr:\n%s", l, &stderr)
		accounted++
		if m[2] != "" {
			n, err := strconv.Atoi(m[2])
			require.NoError(t, err)
			accounted += n
		}
		last, _ = strconv.Atoi(m[1])
	}
	assert.Equal(t, reporterErrors, accounted, "errors printed or counted as left out; stderr:\n%s", &stderr)
	assert.Equal(t, reporterErrors-1, last, "the last error is not the last line; stderr:\n%s", &stderr)
	assert.GreaterOrEqual(t, len(lines), 2, "the errors left out before Close are not said; stderr:\n%s", &stderr)
}

// reporterChild makes reporterErrors sink errors in quick succession
// (within the default handler's second, on any machine that is not
// stalled), closes, and prints how many errors the Writer counted.
func reporterChild() {
	sink := &recSink{write: func(p []byte) (int, error) {
		return 0, fmt.Errorf("refused %s", bytes.TrimSpace(p))
	}}
	w := New(WithSink(sink), WithNotices(nil))
	for i := range reporterErrors {
		fmt.Fprintf(w, "record %d\n", i)
		if err := w.Sync(); err == nil {
			panic("the sink did not fail")
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	fmt.Printf("sink errors: %d\n", w.Stats().SinkErrors)
	os.Exit(0)
}

// TestStderrReporterFlush checks the default error handler's flush: the
// last error left out is printed with a count of the others, once.
func TestStderrReporterFlush(t *testing.T) {
	var out bytes.Buffer
	r := newStderrReporter(&out, 3600e9)
	r.flush()
	assert.Empty(t, out.String(), "nothing left out, nothing printed")
	for i := range 4 {
		r.report(errors.New("error " + strconv.Itoa(i)))
	}
	r.flush()
	assert.Equal(t, "error 0\nerror 3 (and 2 more errors)\n", out.String())
	r.flush()
	r.report(errors.New("error 4")) // within the interval of the flush
	r.flush()
	assert.Equal(t, "error 0\nerror 3 (and 2 more errors)\nerror 4\n", out.String())
}
