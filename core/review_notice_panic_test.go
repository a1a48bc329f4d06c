package core

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewNoticeFormatPanicKillsProcess: the notice format of
// WithNotices runs on the writer goroutine, as the sink and the error
// handler do, and the README says that a sink that panics never stops
// the writer goroutine; the error handler's panics are recovered too
// (handle). But writeNotice calls the format with no recover: a format
// that panics (a bug in a user's formatter, met only at the first drop)
// ends the process, from a goroutine the program does not own. Here one
// record too long for the buffer is dropped under Drop; the next record
// makes the writer goroutine report the drop, and the format panics. The
// scenario runs in a child process, since the panic kills it.
//
// Suggested fix: call the format through a recover, as safeWrite does the
// sink, and report the panic (matching ErrSinkPanic) instead of writing
// the notice.
//
// Fixed: the format runs under a recover; its panic is reported.
func TestReviewNoticeFormatPanicKillsProcess(t *testing.T) {
	if os.Getenv("ASYNCLOG_REVIEW_CHILD") == "notice-panic" {
		reviewNoticePanicChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReviewNoticeFormatPanicKillsProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ASYNCLOG_REVIEW_CHILD=notice-panic")
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "the child process died:\n%s", reviewTail(out, 1500))
}

func reviewNoticePanicChild(t *testing.T) {
	s := &recSink{}
	var log errorLog
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), WithErrorHandler(log.handle),
		WithNotices(func(Notice) []byte { panic("a bug in the notice format") }))
	_, err := w.Write(rec("too-long", 100)) // over 56 bytes: dropped
	require.NoError(t, err)
	require.Equal(t, uint64(1), w.Stats().DroppedRecords)
	_, err = w.Write([]byte("next\n"))
	require.NoError(t, err)
	noErrorBut(t, w.Sync(), ErrSinkPanic)
	require.NoError(t, w.Close())
	assert.Equal(t, "next\n", string(s.Data()))
	t.Logf("errors heard: %v", log.Errors())
}
