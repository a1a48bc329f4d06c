package core

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// forgeSpool writes a spool at path, as a process that died leaves it:
// buffers of size bytes, buffer 0 at epoch 1 holding recs as committed
// frames, its progress written and writing given as record counts (the
// first written records are in the sink, those up to writing may be), and
// calling the value of the header's calling field.
func forgeSpool(t *testing.T, path string, size int, recs [][]byte, written, writing int, calling uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, writeSpool(f, size))
	var h [spoolHeadLen]byte
	_, err = f.ReadAt(h[:], 0)
	require.NoError(t, err)
	salt := binary.NativeEndian.Uint32(h[40:])
	tag := uint32(1) ^ salt
	binary.NativeEndian.PutUint32(h[44:], calling)
	data := make([]byte, size)
	off, wr, wg := uint64(0), uint64(0), uint64(0)
	for i, r := range recs {
		require.LessOrEqual(t, off+frameLen(len(r)), uint64(size), "the records fit the buffer")
		binary.NativeEndian.PutUint64(data[off:], uint64(tag)<<32|commitBit|uint64(len(r)))
		copy(data[off+headerLen:], r)
		off += frameLen(len(r))
		if i < written {
			wr = off
		}
		if i < writing {
			wg = off
		}
	}
	binary.NativeEndian.PutUint64(h[64:], 1)  // meta[0].epoch
	binary.NativeEndian.PutUint64(h[80:], wr) // meta[0].written
	binary.NativeEndian.PutUint64(h[88:], wg) // meta[0].writing
	_, err = f.WriteAt(h[:], 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, spoolHeadLen)
	require.NoError(t, err)
}
