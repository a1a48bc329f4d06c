//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewSpool2RecoverElsewhereForgetsTornLine shows that Recover
// (asynclog recover) into anything but the dead process's own log erases
// what the spool knows about that log's torn last line. Recover writes no
// newline into dst (it is not a regular file ending mid-line), then its
// replay's own calls clear the header's calling mark (spool.leave) and
// markWritten sets written equal to writing, so diedInCall turns false.
// The next New with the spool and the log finds nothing to recover and no
// call cut short, so it appends its first record to the fragment: a glued
// line, for a bare file (not read back, since nothing says a call was cut)
// and for a wrapped sink alike, whichever call the process died in.
//
// WithSpool says that recovery ends the line "whether or not there are
// records to recover"; Recover's godoc says only that it ends dst's line.
// An operator who looks at a spool with asynclog recover > somewhere
// before restarting the service got the glued line. Recover now keeps the
// dead process's cut call in the header (spoolHeader.unended) until a
// recovery ends the line.
func TestReviewSpool2RecoverElsewhereForgetsTornLine(t *testing.T) {
	for _, calling := range []uint32{callingRun, callingSink} {
		for _, wrapped := range []bool{false, true} {
			t.Run(fmt.Sprintf("calling=%d/wrapped=%t", calling, wrapped), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "app.spool")
				recs := [][]byte{[]byte("one\n"), []byte("two\n")}
				forgeSpool(t, path, 4096, recs, 0, 2, calling) // died in a call
				logPath := filepath.Join(dir, "app.log")
				require.NoError(t, os.WriteFile(logPath, []byte("zero\non"), 0o600)) // the kill cut a line

				// The operator looks at what the spool holds, elsewhere.
				var elsewhere bytes.Buffer
				note, err := Recover(path, &elsewhere)
				require.NoError(t, err)
				require.EqualValues(t, 2, note.Records)
				require.Equal(t, "one\ntwo\n", elsewhere.String())

				// The program restarts on its log.
				f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
				require.NoError(t, err)
				var sink io.Writer = f
				if wrapped {
					sink = &countingWriter{w: f}
				}
				w := New(WithNotices(nil), WithSink(sink), WithSpool(path), WithBufferSize(4096))
				_, err = w.Write([]byte("three\n"))
				require.NoError(t, err)
				require.NoError(t, w.Close())
				require.NoError(t, f.Close())
				got, err := os.ReadFile(logPath)
				require.NoError(t, err)
				assert.NotContains(t, string(got), "onthree", "the first record glued to the torn line: %q", got)
			})
		}
	}
}
