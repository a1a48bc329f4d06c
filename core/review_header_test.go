package core

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgedHeader returns the 8 bytes of a committed header of a record of n
// bytes with tag, as put stores them.
func forgedHeader(tag uint32, n int) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(tag)<<32|commitBit|uint64(n))
}

// reviewBuffers writes a warm-up record and syncs, so that cur is a fresh
// buffer of this size and the next two swaps are predictable, and returns
// the epoch of cur.
func reviewBuffers(t *testing.T, w *Writer, s *recSink) uint64 {
	t.Helper()
	_, err := w.Write([]byte("warm-up\n"))
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	w.mu.Lock()
	cur := w.cur.Load()
	off, epoch, curEpoch := cur.offset(), w.epoch, cur.epoch
	w.mu.Unlock()
	require.Zero(t, off)
	require.Equal(t, epoch, curEpoch)
	return curEpoch
}

// TestReviewStalePayloadPassesForCommittedHeader failed before writeOut
// cleared what an epoch used.
//
// The walk trusts any header slot that holds the buffer's tag and the
// commit bit. A buffer is never cleared, and writeOut even moves records
// down over the headers, so the slot of a frame whose caller is still
// copying holds whatever an earlier epoch left there: often the bytes of
// an earlier record. A record whose bytes, at the right place, read as a
// committed header of the buffer's next epoch makes the walk take them for
// the frame: it hands stale bytes to the sink as a record, does not wait
// for the caller, frees the buffer under it, and the caller's record is
// lost (or, once the buffer is reopened, written over the next epoch).
//
// Tags are a count of swaps, so they are predictable; here the record
// carries the tag the same buffer gets two swaps later, and a caller that
// has reserved its frame but not yet committed it (preempted inside put)
// is simulated by reserving by hand.
func TestReviewStalePayloadPassesForCommittedHeader(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(1024), withClock(newFakeClock()))
	e := reviewBuffers(t, w, s)

	// A record of this epoch's buffer; once written, its bytes lie at the
	// start of the buffer, which is cur again two swaps later, with tag
	// e+2.
	r1 := bytes.Repeat([]byte{'.'}, 64)
	copy(r1[16:], forgedHeader(uint32(e+2), 8))
	copy(r1[24:], "GARBAGE!")
	r1[63] = '\n'
	_, err := w.Write(r1)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	_, err = w.Write([]byte("r2\n"))
	require.NoError(t, err)
	require.NoError(t, w.Sync())

	w.mu.Lock()
	b := w.cur.Load()
	w.mu.Unlock()
	require.Equal(t, uint32(e+2), b.tag.Load(), "the buffer that held r1 is cur again")

	x := []byte("x-rec-8\n") // an 8-byte record: a 16-byte frame at 0
	_, err = w.Write(x)
	require.NoError(t, err)
	// A caller reserves the next frame, at 16, and is preempted before it
	// commits.
	off, ok := b.reserve(8)
	require.True(t, ok)
	require.Equal(t, uint64(16), off)

	synced := make(chan error, 1)
	go func() { synced <- w.Sync() }()
	select {
	case err := <-synced:
		t.Errorf("Sync returned (%v) while the frame at 16 was not committed", err)
		synced <- nil
	case <-time.After(200 * time.Millisecond):
		// The walk waits for the frame, as it should.
	}
	real := []byte("real-r\n!")
	b.put(off, real)
	<-synced
	require.NoError(t, w.Close())

	want := string(bytesOf([]byte("warm-up\n"), r1, []byte("r2\n"), x, real))
	assert.Equal(t, want, string(s.Data()))
}

// TestReviewStaleTextCrashesWriterGoroutine failed before writeOut cleared
// what an epoch used, and next refused a frame past the end: the same stale
// slot holding ordinary UTF-8 text. A header's low bytes are the record
// length and the commit bit, so a UTF-8 continuation byte (0x80-0xBF)
// followed by four ASCII letters that spell the tag passes for a committed
// header whose length is whatever the three bytes before make: hundreds of
// megabytes. next slices the buffer with it, and the writer goroutine
// panics, which ends the process. Tags are a count of swaps: they spell
// four ASCII letters after some 5*10^8 swaps (about a week at one swap a
// millisecond; a spool carries the count across restarts). The test sets
// the count there, and runs the scenario in a child process, since the
// panic kills it.
func TestReviewStaleTextCrashesWriterGoroutine(t *testing.T) {
	if os.Getenv("ASYNCLOG_REVIEW_CHILD") == "stale-text" {
		reviewStaleTextChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReviewStaleTextCrashesWriterGoroutine$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ASYNCLOG_REVIEW_CHILD=stale-text")
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "the child process died:\n%s", reviewTail(out, 1500))
}

func reviewTail(out []byte, n int) []byte {
	if len(out) > n {
		return out[:n]
	}
	return out
}

func reviewStaleTextChild(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(1024), withClock(newFakeClock()))
	// Move the epoch count on to where tags spell "logs" two swaps on.
	tag := binary.LittleEndian.Uint32([]byte("logs"))
	e := reviewBuffers(t, w, s)
	w.mu.Lock()
	w.epoch = uint64(tag) - 3
	w.mu.Unlock()
	// One swap to take that count into cur.
	_, err := w.Write([]byte("w1\n"))
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	w.mu.Lock()
	e = w.cur.Load().epoch
	w.mu.Unlock()
	require.Equal(t, uint64(tag)-2, e)

	// A JSON line: "café" is UTF-8 (c3 a9), and the word after it spells
	// the tag. Spaces in front put the é's second byte at byte 3 of an
	// 8-byte slot.
	line := []byte(`{"msg":"open ca` + "f\u00e9" + `logs/x","level":"info","n":12345678}` + "\n")
	i := bytes.Index(line, []byte("\u00e9logs")) + 1 // the é's second byte
	pad := ((3-i)%8 + 8) % 8
	line = append(bytes.Repeat([]byte(" "), pad), line...)
	slot := i + pad - 3
	require.Zero(t, slot%8)
	h := binary.LittleEndian.Uint64(line[slot:])
	require.Equal(t, tag, uint32(h>>32))
	require.NotZero(t, h&commitBit)
	require.Zero(t, h&paddingBit)
	t.Logf("the slot at %d reads as a committed header of %d bytes", slot, h&lengthMask)

	_, err = w.Write(line)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	_, err = w.Write([]byte("r2\n"))
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	w.mu.Lock()
	b := w.cur.Load()
	w.mu.Unlock()
	require.Equal(t, tag, b.tag.Load())

	// Records up to the slot, then a caller that reserves the slot's frame
	// and has not committed it yet.
	for rem := slot; rem > 0; {
		n := 8 // a 16-byte frame
		if rem == 24 {
			n = 16
		}
		_, err := w.Write(bytes.Repeat([]byte{'y'}, n))
		require.NoError(t, err)
		rem -= int(frameLen(n))
	}
	require.Equal(t, uint64(slot), b.offset(), "frames laid up to the slot")
	off, ok := b.reserve(8)
	require.True(t, ok)
	synced := make(chan error, 1)
	go func() { synced <- w.Sync() }()
	returned := false
	select {
	case <-synced:
		returned = true
		t.Errorf("Sync returned while the frame at %d was not committed", off)
	case <-time.After(200 * time.Millisecond):
	}
	b.put(off, []byte("real-r\n!"))
	if !returned {
		<-synced
	}
	require.NoError(t, w.Close())
}
