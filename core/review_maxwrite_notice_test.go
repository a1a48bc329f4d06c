package core

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewNoticeOverMaxWriteSize: WithMaxWriteSize promises that no
// sink Write is longer than n bytes, except one holding a single record
// longer than n. Records are packed to that bound, and a notice, some 200
// bytes, is written whole in a Write of its own, whatever its length: the
// option's documentation counts it as a record, so a notice longer than
// the bound is a Write alone. The review found it glued to nothing but
// over the bound; the contract now says so, and this test holds the Writer
// to it: every call over the bound is one line.
func TestReviewNoticeOverMaxWriteSize(t *testing.T) {
	const limit = 128
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), WithMaxWriteSize(limit),
		WithNotices(JSONNotice), WithErrorHandler(func(error) {}))
	_, err := w.Write(rec("too-long", 100)) // longer than a 64-byte buffer can hold: dropped
	require.NoError(t, err)
	_, err = w.Write([]byte("next\n"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	notices := 0
	for i, c := range s.Calls() {
		if len(c) > limit {
			assert.Equal(t, 1, bytes.Count(c, []byte("\n")), "sink call %d, over the bound, holds one line alone: %q", i, c)
			assert.Contains(t, string(c), `"dropped"`)
			notices++
		}
	}
	assert.Equal(t, 1, notices, "the drop notice, the one call over the bound")
	assert.Contains(t, string(s.Data()), "next\n")
}
