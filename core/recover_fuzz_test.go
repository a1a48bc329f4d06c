package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// fuzzInput hands out the fuzzer's bytes as small numbers, and zeros once
// they run out.
type fuzzInput []byte

func (in *fuzzInput) byte() byte {
	if len(*in) == 0 {
		return 0
	}
	b := (*in)[0]
	*in = (*in)[1:]
	return b
}

// intn returns a number in [0, n).
func (in *fuzzInput) intn(n int) int {
	return int(uint16(in.byte())|uint16(in.byte())<<8) % n
}

// text returns n bytes of printable ASCII, as log records are: no byte
// has its top bit set, so no 8 bytes of text carry a header's commit bit.
func (in *fuzzInput) text(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = ' ' + in.byte()%95
	}
	return p
}

// The kinds of frame a dead process leaves in a buffer.
const (
	frameRecord  = iota // committed
	frameTorn           // reserved, its copy cut short, its header never stored
	framePadding        // committed padding, to the end of the buffer
)

type fuzzFrame struct {
	kind     int
	off, end uint64
	record   []byte
}

// A fuzzBuffer is a buffer of a spool as a process that died left it, and
// what recovery must find in it.
type fuzzBuffer struct {
	b        *buffer
	frames   []fuzzFrame // of its epoch, in order
	want     []spooled   // the records recovery returns, in order
	torn     uint64      // the torn stretches it counts
	repeated uint64      // the records before writing
}

// alignedBytes returns n zero bytes, 8-byte aligned, as both buffers of a
// Writer are.
func alignedBytes(n int) []byte {
	words := make([]uint64, n/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n)
}

// putHeader stores a committed header of tag at off.
func putHeader(data []byte, off uint64, tag uint32, flags, n uint64) {
	binary.NativeEndian.PutUint64(data[off:], uint64(tag)<<32|commitBit|flags|n)
}

// layFrames lays out frames of tag from the start of data, as an epoch
// does, from the fuzzer's choices, over what earlier epochs left there,
// and returns them.
func layFrames(in *fuzzInput, data []byte, tag uint32) []fuzzFrame {
	size := uint64(len(data))
	var frames []fuzzFrame
	for off := uint64(0); off < size; {
		op := in.byte() % 8
		n := in.intn(48)
		l := frameLen(n)
		switch {
		case op == 7: // no more reservations
			return frames
		case op == 6 || off+l > size && op%2 == 0: // the end filled, or a crosser that padded it
			if off+headerLen > size {
				return frames
			}
			putHeader(data, off, tag, paddingBit, size-off-headerLen)
			return append(frames, fuzzFrame{kind: framePadding, off: off, end: size})
		case off+l > size: // a crosser that died before padding
			return append(frames, fuzzFrame{kind: frameTorn, off: off, end: size})
		case op < 4:
			p := in.text(n)
			copy(data[off+headerLen:], p)
			putHeader(data, off, tag, 0, uint64(n))
			frames = append(frames, fuzzFrame{kind: frameRecord, off: off, end: off + l, record: p})
		default: // a caller that died copying: a prefix of its record, no header
			p := in.text(n)
			copy(data[off+headerLen:], p[:in.intn(n+1)])
			frames = append(frames, fuzzFrame{kind: frameTorn, off: off, end: off + l})
		}
		off += l
	}
	return frames
}

// buildFuzzBuffer builds a buffer of epoch, with up to two layers of
// stale frames of earlier epochs under the frames of its own, and its
// progress, from the fuzzer's choices.
func buildFuzzBuffer(in *fuzzInput, epoch uint64) fuzzBuffer {
	size := MinBufferSize + 8*in.intn(128)
	data := alignedBytes(size)
	tag := uint32(epoch)
	if tag > 1 {
		stale := []uint32{1 + uint32(in.intn(int(tag-1))), 1 + uint32(in.intn(int(tag-1)))}
		if stale[0] > stale[1] {
			stale[0], stale[1] = stale[1], stale[0]
		}
		for _, t := range stale[:in.intn(3)] {
			layFrames(in, data, t)
		}
	}
	fb := fuzzBuffer{b: newBuffer(data)}
	fb.b.meta = &spoolMeta{}
	fb.frames = layFrames(in, data, tag)

	// The progress: written and writing after records, in order, up to
	// the first frame never committed, where the writer goroutine would
	// have waited, or the padding, where it would have stopped.
	bounds := []uint64{0}
	for _, f := range fb.frames {
		if f.kind != frameRecord {
			break
		}
		bounds = append(bounds, f.end)
	}
	i := in.intn(len(bounds))
	j := i + in.intn(len(bounds)-i)
	written, writing := bounds[i], bounds[j]
	fb.b.meta.epoch.Store(epoch)
	fb.b.meta.written.Store(written)
	fb.b.meta.writing.Store(writing)

	// What recovery finds: the records from written on, and a torn
	// stretch wherever frames that were never committed are followed by
	// one that was.
	inTorn := false
	for _, f := range fb.frames {
		if f.off < written {
			continue
		}
		switch f.kind {
		case frameTorn:
			inTorn = true
			continue
		case frameRecord:
			fb.want = append(fb.want, spooled{record: f.record, meta: fb.b.meta, end: f.end})
			if f.off < writing {
				fb.repeated++
			}
		}
		if inTorn {
			fb.torn++
			inTorn = false
		}
	}
	return fb
}

// FuzzRecover builds the two buffers of a spool as a process that died
// leaves them, from the fuzzer's bytes: committed records, records whose
// copy was cut short and whose header was never stored, padding, stale
// frames of earlier epochs under them, and progress offsets. It checks
// that walkFrames and unwritten find exactly the committed records of
// each buffer's epoch from its written offset on, older epoch first, in
// order, count the torn stretches and the records in flight; and that
// replay hands them on whole, in runs within the limit, and keeps the
// progress so that they are not found again.
func FuzzRecover(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{5, 0, 0, 7, 0, 0, 0, 0, 0, 0, 10, 0, 1, 0, 0, 12, 0, 4, 30, 0, 0, 20, 0, 0, 9, 0, 6})
	f.Add([]byte{200, 3, 40, 0, 2, 0, 0, 16, 0, 4, 8, 0, 2, 5, 0, 0, 9, 0, 1, 1, 7, 0, 3, 2, 0})
	f.Add([]byte{9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30})
	f.Add(bytes.Repeat([]byte{0, 5, 1}, 60))
	f.Add(bytes.Repeat([]byte{4, 40, 0, 0, 12}, 40))
	f.Add(bytes.Repeat([]byte{255, 1, 6, 2, 0, 33, 5}, 30))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(data)
		// Two epochs, in either buffer, one of them perhaps unused (0),
		// perhaps with tags that have gone round.
		first := 1 + uint64(in.intn(1000)) + uint64(in.byte()%2)<<32
		epochs := [2]uint64{first, first + 1 + uint64(in.intn(3))}
		if in.byte()%2 == 1 {
			epochs[0], epochs[1] = epochs[1], epochs[0]
		}
		var s spool
		var fbs [2]fuzzBuffer
		for i := range fbs {
			fbs[i] = buildFuzzBuffer(&in, epochs[i])
			s.buffers[i] = fbs[i].b
		}
		unused := in.byte() % 3
		if unused < 2 {
			fbs[unused].b.meta.epoch.Store(0)
			fbs[unused] = fuzzBuffer{}
		}

		older, newer := fbs[0], fbs[1]
		if epochs[0] > epochs[1] {
			older, newer = newer, older
		}
		want := append(append([]spooled(nil), older.want...), newer.want...)
		r := s.unwritten()
		require.Equal(t, len(want), len(r.records), "records found")
		for i := range want {
			require.Equal(t, string(want[i].record), string(r.records[i].record), "record %d", i)
			require.Same(t, want[i].meta, r.records[i].meta, "record %d", i)
			require.Equal(t, want[i].end, r.records[i].end, "record %d", i)
		}
		require.Equal(t, older.torn+newer.torn, r.torn, "torn stretches")
		require.Equal(t, older.repeated+newer.repeated, r.repeated, "records in flight")

		limit := MinBufferSize + in.intn(200)
		stage := make([]byte, MinBufferSize+in.intn(600))
		s.head = &spoolHeader{}
		for i := range fbs {
			if fbs[i].b != nil {
				// The progress lives in the header, as in a spool file.
				m := &s.head.meta[i]
				m.epoch.Store(fbs[i].b.meta.epoch.Load())
				m.written.Store(fbs[i].b.meta.written.Load())
				m.writing.Store(fbs[i].b.meta.writing.Load())
				for j := range r.records {
					if r.records[j].meta == fbs[i].b.meta {
						r.records[j].meta = m
					}
				}
				s.buffers[i].meta = m
			}
		}
		// Replays that die in a sink call, up to three in a row, each
		// killed in one of its calls (a Goexit stands for the kill: the
		// call never returns), then one that finishes. What the sink
		// gets from each call is all or nothing; no record may reach it
		// more than twice.
		copies := make([]int, len(want)) // whole copies in the sink, by index in want
		thirds := make([]int, len(want)) // kills after a repeated record's call had reached the sink
		for i, rec := range r.records {
			if rec.repeat && in.byte()%2 == 0 {
				copies[i]++ // the dead process's call reached the sink
			}
		}
		rest, from := r, 0
		for kills := in.intn(4); ; kills-- {
			calls, dieAt := 0, -1
			if kills > 0 {
				dieAt = in.intn(4)
			}
			play := replayer{s: &s, records: rest.records, stage: stage, limit: limit}
			done := make(chan bool)
			go func() {
				died := true
				defer func() { done <- died }()
				_ = play.run(func(p []byte, run []spooled) error {
					if len(run) > 1 {
						require.LessOrEqual(t, len(p), min(limit, len(stage), spoolStep), "a run longer than the limit")
					}
					for _, rec := range run {
						require.False(t, rec.repeat && len(run) > 1, "a record that may be in the sink, in a run of %d", len(run))
					}
					var cat []byte
					for _, rec := range run {
						cat = append(cat, rec.record...)
					}
					require.Equal(t, string(cat), string(p))
					// A kill in a call may come before or after its bytes
					// reached the sink. After, for a record the dead
					// process may have written already, is the one case
					// of a third copy (see WithSpool).
					whole := calls != dieAt || in.byte()%2 == 0
					for k := range run {
						if whole {
							copies[from+play.next+k]++
						}
						if whole && calls == dieAt && run[k].repeat {
							thirds[from+play.next+k]++
						}
					}
					if calls == dieAt {
						runtime.Goexit()
					}
					calls++
					return nil
				})
				died = false
			}()
			if !<-done {
				require.Equal(t, len(rest.records), play.next)
				break
			}
			// Died in the call of records[play.next:play.end]: they are
			// found again, counted as repeats, and nothing before them.
			require.True(t, s.diedInCall())
			again := s.unwritten()
			require.Equal(t, len(rest.records)-play.next, len(again.records), "records found after a death")
			// The records that may be in the sink are those of the call
			// it died in, and those that an earlier process may have
			// written and it had not written again yet.
			maybe := 0
			for k, rec := range rest.records[play.next:] {
				if rec.repeat || play.next+k < play.end {
					maybe++
				}
			}
			require.Equal(t, uint64(maybe), again.repeated, "records that may be in the sink")
			if rest.records[play.next].repeat {
				require.Equal(t, 1, play.end-play.next, "a repeated record, in a call of its own")
			}
			s.head.calling.Store(notCalling) // as the next recovery's first call leaves it
			from += play.next
			rest = again
		}
		for i, c := range copies {
			require.GreaterOrEqual(t, c, 1, "record %d never reached the sink", i)
			require.LessOrEqual(t, c, 2+thirds[i], "record %d reached the sink %d times", i, c)
		}
		again := s.unwritten()
		require.Empty(t, again.records, "records found again after replay")
		require.False(t, again.midWrite)
	})
}

// TestWalkFramesStopsAtPadding checks the simplest layouts by hand: records
// then padding, records then never-reserved space, and a torn record
// between two committed ones.
func TestWalkFramesStopsAtPadding(t *testing.T) {
	data := alignedBytes(128)
	putHeader(data, 0, 7, 0, 3)
	copy(data[8:], "abc")
	// 16: torn, its header never stored, 16 bytes long
	copy(data[24:], "zz")
	putHeader(data, 32, 7, 0, 5)
	copy(data[40:], "defgh")
	putHeader(data, 48, 7, paddingBit, 128-48-8)
	putHeader(data, 64, 7, 0, 2) // beyond the padding: not walked
	var got []string
	torn := 0
	walkFrames(data, 7, 0, func(off uint64, rec []byte) { got = append(got, fmt.Sprintf("%d:%s", off, rec)) }, func() { torn++ })
	require.Equal(t, []string{"0:abc", "32:defgh"}, got)
	require.Equal(t, 1, torn)

	got, torn = nil, 0
	walkFrames(data, 6, 0, func(off uint64, rec []byte) { got = append(got, string(rec)) }, func() { torn++ })
	require.Empty(t, got, "another epoch's frames")
	require.Zero(t, torn)
}
