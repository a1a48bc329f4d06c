package core

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewSpool2NewlineWithoutCallInFile shows that recovery writes a
// newline into a regular file that does not end in one although the
// spool says the process died between sink calls (calling clear, written
// equal to writing). WithSpool's godoc says recovery ends the line only
// if the process died inside a call ("if so, recovery ends the line
// first"); recoverSpool passes legacy = len(records) > 0 to endsMidLine,
// which reads the file back whenever there is anything to recover, for
// spools of today's format too, not only those written before calls were
// marked. A log whose records are not newline-terminated (a length- or
// separator-framed format) gets a byte no process logged.
func TestReviewSpool2NewlineWithoutCallInFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.spool")
	forgeSpool(t, path, 4096, [][]byte{[]byte("<two>"), []byte("<three>")}, 0, 0, notCalling)
	logPath := filepath.Join(dir, "app.log")
	require.NoError(t, os.WriteFile(logPath, []byte("<one>"), 0o600))
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	w := New(WithNotices(nil), WithSink(f), WithSpool(path), WithBufferSize(4096))
	require.NoError(t, w.Close())
	got, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Equal(t, "<one><two><three>", string(got), "the process died between calls: nothing to end")
}
