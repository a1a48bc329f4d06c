//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewSpool2StepsOrderAndBarriers runs the order-and-barrier checker
// with a spool around the step (spoolStep): records at the step's edges
// (step-9 .. step+1, half a step, two and three steps), buffers larger
// than a step and smaller, a max write size under and over a step, and a
// spool that holds records of a dead process, recovered first. Every sink
// call of more than one record must be at most a step (and the max write
// size), the recovered records must come first, in order, and no two sink
// calls may overlap.
func TestReviewSpool2StepsOrderAndBarriers(t *testing.T) {
	if testing.Short() {
		t.Skip("moves tens of MiB")
	}
	cases := []struct {
		name     string
		buffer   int
		maxWrite int
		run      reviewRun
	}{
		{name: "4MiB/step-edges", buffer: 4 << 20,
			run: reviewRun{writers: 4, records: 120, length: reviewLengths(21, 1, 100<<10, spoolStep), syncers: 1}},
		{name: "4MiB/maxwrite-over-step", buffer: 4 << 20, maxWrite: 3 << 19,
			run: reviewRun{writers: 4, records: 120, length: reviewLengths(22, 1, 100<<10, spoolStep, 3<<19), syncers: 1}},
		{name: "4MiB/maxwrite-under-step", buffer: 4 << 20, maxWrite: 300 << 10,
			run: reviewRun{writers: 4, records: 120, length: reviewLengths(23, 1, 50<<10, spoolStep, 300<<10), syncers: 1}},
		{name: "256KiB/under-step", buffer: 256 << 10,
			run: reviewRun{writers: 4, records: 200, length: reviewLengths(24, 1, 8<<10, 256<<10), syncers: 1}},
		{name: "2MiB/close-race", buffer: 2 << 20,
			run: reviewRun{writers: 4, records: 100000, length: reviewLengths(25, 1, 64<<10, spoolStep), syncers: 1,
				closeAt: 40 * time.Millisecond, closers: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "review.spool")
			var recovered [][]byte
			for i := range 5 {
				recovered = append(recovered, fmt.Appendf(nil, "R-%d-%s\n", i, bytes.Repeat([]byte("x"), i*100)))
			}
			forgeSpool(t, path, c.buffer, recovered, 1, 3, callingRun) // died in a call of records 1 and 2
			s := &reviewSink{delay: 20 * time.Microsecond}
			opts := []Option{WithSink(s), WithFlushInterval(time.Millisecond), WithSpool(path), WithBufferSize(c.buffer)}
			if c.maxWrite > 0 {
				opts = append(opts, WithMaxWriteSize(c.maxWrite))
			}
			var errs errorLog
			w := newWriter(t, append(opts, WithErrorHandler(errs.handle))...)
			require.NotNil(t, w.spool, "%v", errs.Errors())
			st := w.Stats()
			assert.EqualValues(t, 4, st.RecoveredRecords)
			assert.EqualValues(t, 2, st.RepeatedRecords)
			r := c.run
			r.seed = uint64(len(c.name))
			r.maxWrite = spoolStep
			if c.maxWrite > 0 {
				r.maxWrite = min(c.maxWrite, spoolStep)
			}
			r.foreign = append(append(r.foreign, []byte("\n")), recovered[1:]...)
			res := r.run(t, w, s)
			for _, b := range res.barriers {
				assert.NoError(t, b.err, "%s", b.kind)
			}
			// The newline (the dead process died in a call), then the
			// recovered records, the two that may repeat one per call.
			require.GreaterOrEqual(t, len(res.calls), 4)
			assert.Equal(t, "\n", string(res.calls[0]))
			assert.Equal(t, recovered[1], res.calls[1])
			assert.Equal(t, recovered[2], res.calls[2])
			assert.Equal(t, bytes.Join(recovered[3:], nil), res.calls[3])
			res.calls = res.calls[4:]
			r.check(t, res, true)
			reviewCheckStats(t, w, s)
			assert.Empty(t, errs.Errors())
		})
	}
}
