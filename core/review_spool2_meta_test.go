package core

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corruptSpool makes a spool at path with buffers of size bytes whose
// buffer 0 has an epoch and the written and writing offsets given, as a
// damaged (or forged) spool of the right owner and mode would hold them.
func corruptSpool(t *testing.T, path string, size int, written, writing uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, writeSpool(f, size))
	var meta [64]byte
	binary.NativeEndian.PutUint64(meta[0:], 7) // epoch
	binary.NativeEndian.PutUint64(meta[16:], written)
	binary.NativeEndian.PutUint64(meta[24:], writing)
	_, err = f.WriteAt(meta[:], 64)
	require.NoError(t, err)
}

// TestReviewSpool2WrittenNearMaxPanicsRecover shows that a spool whose
// written offset is near 2^64 (a damaged or forged header) makes
// walkFrames overflow off+headerLen, pass its bound check and index the
// buffer out of range: Recover (asynclog recover) panics instead of
// returning an error or recovering nothing.
func TestReviewSpool2WrittenNearMaxPanicsRecover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.spool")
	corruptSpool(t, path, MinBufferSize, ^uint64(0)-7, ^uint64(0)-7)
	var out bytes.Buffer
	assert.NotPanics(t, func() { _, _ = Recover(path, &out) }, "a damaged spool must not panic Recover")
}

// TestReviewSpool2WrittenNearMaxPanicsNew is the same through New, which
// walks the spool on the caller's goroutine: the program that restarts
// with such a spool panics in New.
func TestReviewSpool2WrittenNearMaxPanicsNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.spool")
	corruptSpool(t, path, MinBufferSize, ^uint64(0)-7, ^uint64(0)-7)
	assert.NotPanics(t, func() {
		w := New(WithNotices(nil), WithSink(&recSink{}), WithSpool(path), WithBufferSize(MinBufferSize))
		_ = w.Close()
	}, "a damaged spool must not panic New")
}
