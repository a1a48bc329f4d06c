//go:build linux || darwin || freebsd

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

// TestReviewSpool2EpochWrapHidesRecords shows that a spool whose two
// buffers both hold the epoch 2^64-1 (a damaged or forged header, owned by
// the right user, mode 0600) makes the next Writer start its first buffer
// at epoch 0: mapSpool's nextEpoch = max(..., epoch+1) wraps to 0, and
// Writer.reopen takes 0 (only a tag of 0 is skipped, not an epoch of 0).
// But unwritten skips every buffer of epoch 0 as unused: the records of
// that first buffer are invisible to recovery. Here the first record sits
// in a sink call that has not returned, exactly what a SIGKILL at this
// moment leaves; recovery would find nothing, and the record whose Write
// returned would be lost. Such a spool is now renumbered when the Writer
// takes it over (see spool.renumber).
func TestReviewSpool2EpochWrapHidesRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.spool")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	require.NoError(t, writeSpool(f, 4096))
	var epoch [8]byte
	binary.NativeEndian.PutUint64(epoch[:], ^uint64(0))
	for _, at := range []int64{64, 128} { // meta[0].epoch, meta[1].epoch
		_, err = f.WriteAt(epoch[:], at)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())

	w, _, g := newGatedWriter(t, WithSpool(path), WithBufferSize(4096))
	require.NotNil(t, w.spool, "the spool is used")
	_, err = w.Write([]byte("returned\n"))
	require.NoError(t, err)
	g.waitEntered(t) // the record is in a sink call that has not returned

	r := w.spool.unwritten() // what a recovery after a kill now would find
	assert.Len(t, r.records, 1, "the record whose Write returned must be recoverable (buffer epochs %d and %d)",
		w.spool.head.meta[0].epoch.Load(), w.spool.head.meta[1].epoch.Load())
}

// TestSpoolEpochsRenumberedAfterRecovery checks that records a dead
// process left under the last epoch a spool can hold are recovered, and
// that the Writer then starts the spool's epochs afresh.
func TestSpoolEpochsRenumberedAfterRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	recs := lines(0, 0, 3)
	deadSpool(t, path, testSpoolSize, func(s *spool) {
		require.NotZero(t, s.buffers[0].tagOf(^uint64(0)), "this salt makes a tag of 0: rerun")
		commit(t, s.buffers[0], ^uint64(0), recs...)
		s.buffers[1].meta.epoch.Store(^uint64(0) - 1)
	})
	sink := &recSink{}
	w := New(WithSink(sink), WithSpool(path), WithBufferSize(testSpoolSize), WithNotices(nil))
	require.NotNil(t, w.spool, "the spool is used")
	assert.EqualValues(t, 1, w.spool.head.meta[0].epoch.Load(), "the first buffer starts at epoch 1")
	assert.Zero(t, w.spool.head.meta[1].epoch.Load(), "the spare is unused")
	_, err := w.Write([]byte("new\n"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, string(bytes.Join(recs, nil))+"new\n", string(sink.Data()))
}
