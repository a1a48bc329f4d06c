package core

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewLineOvertakenWhileCurHasRoom: the README promises that a
// caller who finds no room joins a line and that "no caller is overtaken
// by one that came after it": serveLocked fills the fresh cur with padding
// whenever callers remain in line, so that nobody reserves ahead of them.
// But a caller can join the line while cur still has room: its record is
// longer than cur (a 64 KiB buffer not yet grown, or a record longer than
// any buffer), so write and writeInLine skip the reservation. Nothing
// fills cur then: every caller that comes after it with a short record
// reserves in cur, returns, and reaches the sink first, until cur is full
// or the writer goroutine swaps.
//
// Here the writer goroutine is in a sink write (so the spare is busy), a
// 100 KiB record waits in line (4 MiB buffers configured; cur is 64 KiB
// and empty), and then a short record is written: it returns at once and
// is written before the long one. Both subtests fail the same way: the
// long record within the configured size, and one longer than a buffer.
//
// Suggested fix: when a caller joins the line and cur is still open, fill
// cur (as serveLocked does) so that the line is served first; or promise
// less in the README.
//
// Fixed: a caller left in line fills cur.
func TestReviewLineOvertakenWhileCurHasRoom(t *testing.T) {
	for _, c := range []struct {
		name string
		size int
		long int
	}{
		{"longer than cur", 4 << 20, 100 << 10},
		{"longer than any buffer", 4096, 8 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGate()
			s := &steppedSink{gates: map[int32]*gate{1: g}}
			w := newWriter(t, WithSink(s), WithBufferSize(c.size))
			t.Cleanup(g.open)
			_, err := w.Write(rec("first", 100))
			require.NoError(t, err)
			g.waitEntered(t) // the spare is busy

			long := rec("long", c.long)
			done := make(chan error, 1)
			go func() {
				_, err := w.Write(long)
				done <- err
			}()
			eventually(t, "the long record waits in line", func() bool {
				w.mu.Lock()
				defer w.mu.Unlock()
				return len(w.queue) == 1
			})
			later := rec("later", 50)
			returned := make(chan error, 1)
			go func() {
				_, err := w.Write(later)
				returned <- err
			}()
			early := false
			select {
			case err := <-returned:
				require.NoError(t, err)
				early = true
			case <-time.After(200 * time.Millisecond):
			}
			t.Logf("the later Write returned while the long record waits in line: %v", early)
			g.open()
			require.NoError(t, <-done)
			if !early {
				require.NoError(t, <-returned)
			}
			require.NoError(t, w.Sync())
			data := s.Data()
			iLong, iLater := bytes.Index(data, long), bytes.Index(data, later)
			require.True(t, iLong >= 0 && iLater >= 0, "both records are in the sink")
			assert.Less(t, iLong, iLater, "the record that joined the line first is overtaken by a later caller")
		})
	}
}
