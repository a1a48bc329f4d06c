//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecoverNotice checks Recover's notice: with WithNotices it writes
// the notice New would write before the records, and nothing when there
// is nothing to recover; without it, or with a nil format, the records
// alone.
func TestRecoverNotice(t *testing.T) {
	recs := lines(2, 0, 6)
	dead := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "spool")
		deadSpool(t, path, testSpoolSize, func(s *spool) {
			s.head.pid.Store(4242)
			commit(t, s.buffers[0], 1, recs...)
		})
		return path
	}
	t.Run("json", func(t *testing.T) {
		path := dead(t)
		var out bytes.Buffer
		note, err := Recover(path, &out, WithNotices(JSONNotice))
		require.NoError(t, err)
		want := append(JSONNotice(note), bytes.Join(recs, nil)...)
		assert.Equal(t, string(want), out.String())
		m := readNotice(t, JSONNotice(note))
		assert.Equal(t, "recovered", m["asynclog"])
		assert.EqualValues(t, len(recs), m["records"])

		out.Reset()
		_, err = Recover(path, &out, WithNotices(JSONNotice))
		require.NoError(t, err)
		assert.Empty(t, out.String(), "nothing to recover, no notice")
	})
	t.Run("text", func(t *testing.T) {
		var out bytes.Buffer
		note, err := Recover(dead(t), &out, WithNotices(TextNotice))
		require.NoError(t, err)
		assert.Equal(t, note.String()+"\n"+string(bytes.Join(recs, nil)), out.String())
	})
	for name, opts := range map[string][]Option{"none": nil, "nil": {WithNotices(nil)}, "other options": {WithBufferSize(1 << 20)}} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Recover(dead(t), &out, opts...)
			require.NoError(t, err)
			assert.Equal(t, string(bytes.Join(recs, nil)), out.String())
		})
	}
	t.Run("failing", func(t *testing.T) {
		path := dead(t)
		_, err := Recover(path, &failAfterSink{}, WithNotices(JSONNotice))
		require.ErrorIs(t, err, errSink)
		var out bytes.Buffer
		_, err = Recover(path, &out)
		require.NoError(t, err)
		assert.Equal(t, string(bytes.Join(recs, nil)), out.String(), "records whose notice failed stay in the spool")
	})
}
