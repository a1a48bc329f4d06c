package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordSink is a RecordWriter that keeps a copy of every WriteRecords
// call, record by record, and of every record it delivered, in order. Its
// Write only counts: the Writer must not call it.
type recordSink struct {
	// writeRecords, if set, runs in every call, after the call's records
	// are kept, and decides its result: the records before n are kept as
	// delivered.
	writeRecords func(recs [][]byte) (int, error)

	watch
	calls     [][][]byte // every call's records, delivered or not
	delivered [][]byte   // every record delivered
	writes    int        // Write calls
}

func (s *recordSink) WriteRecords(recs [][]byte) (int, error) {
	call := make([][]byte, len(recs))
	for i, r := range recs {
		call[i] = bytes.Clone(r)
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.changedLocked()
	s.mu.Unlock()
	n, err := len(recs), error(nil)
	if s.writeRecords != nil {
		n, err = s.writeRecords(recs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= 0 && n <= len(call) { // the Writer takes a count out of range for none
		s.delivered = append(s.delivered, call[:n]...)
	}
	s.changedLocked()
	return n, err
}

func (s *recordSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return len(p), nil
}

// Calls returns a copy of the list of calls.
func (s *recordSink) Calls() [][][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][][]byte(nil), s.calls...)
}

// Delivered returns a copy of the list of records delivered.
func (s *recordSink) Delivered() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.delivered...)
}

// Writes returns how often Write was called.
func (s *recordSink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// waitDelivered waits until the sink has delivered n records.
func (s *recordSink) waitDelivered(tb testing.TB, n int) {
	tb.Helper()
	s.waitUntil(tb, "records delivered", func() bool { return len(s.delivered) >= n })
}

// warmUpRecords is warmUp for a recordSink: after it, with a fake clock,
// records stay in the buffer until a Sync, a Close or a full buffer.
func warmUpRecords(tb testing.TB, w *Writer, s *recordSink) []byte {
	tb.Helper()
	r := rec("warm-up", 10)
	_, err := w.Write(r)
	require.NoError(tb, err)
	s.waitDelivered(tb, 1)
	return r
}

func lengths(recs [][]byte) []int {
	n := make([]int, len(recs))
	for i, r := range recs {
		n[i] = len(r)
	}
	return n
}

func total(recs [][]byte) (n int) {
	for _, r := range recs {
		n += len(r)
	}
	return n
}

// TestRecordWriterCallsRecords checks that a RecordWriter sink gets the
// records, each one slice, packed into calls as the max write size allows,
// a record longer than it alone, and that its Write is never called.
func TestRecordWriterCallsRecords(t *testing.T) {
	s := &recordSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(4096), WithMaxWriteSize(100), withClock(newFakeClock()))
	warm := warmUpRecords(t, w, s)
	var want [][]byte
	for i, n := range []int{30, 30, 30, 30, 30, 30, 30, 150, 30, 30} {
		r := rec(string(rune('a'+i)), n)
		want = append(want, r)
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.NoError(t, w.Sync())
	calls := s.Calls()
	var got [][]int
	for _, c := range calls {
		got = append(got, lengths(c))
	}
	assert.Equal(t, [][]int{{10}, {30, 30, 30}, {30, 30, 30}, {30}, {150}, {30, 30}}, got)
	assert.Equal(t, append([][]byte{warm}, want...), s.Delivered())
	assert.Zero(t, s.Writes(), "Write called on a RecordWriter sink")
	st := w.Stats()
	assert.Equal(t, uint64(11), st.Records)
	assert.Equal(t, uint64(11), st.WrittenRecords)
	assert.Equal(t, uint64(total(want)+len(warm)), st.WrittenBytes)
	assert.Equal(t, uint64(len(calls)), st.Flushes)
}

// TestRecordWriterCallBound checks that a call holds at most
// maxRecordsPerCall records, however many a buffer holds.
func TestRecordWriterCallBound(t *testing.T) {
	s := &recordSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(64<<10), withClock(newFakeClock()))
	warm := warmUpRecords(t, w, s)
	want := [][]byte{warm}
	for i := range 2500 { // 16-byte frames: one buffer of 64 KiB holds them all
		r := []byte{byte(i), byte(i >> 8), '\n'}
		want = append(want, r)
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.NoError(t, w.Sync())
	full := 0
	for i, c := range s.Calls() {
		require.LessOrEqual(t, len(c), maxRecordsPerCall, "call %d", i)
		if len(c) == maxRecordsPerCall {
			full++
		}
	}
	// The high-water mark, at 32 KiB, swaps after about 2048 records.
	assert.GreaterOrEqual(t, full, 2, "calls of maxRecordsPerCall records")
	assert.Equal(t, want, s.Delivered())
}

// TestRecordWriterLargeRecord checks that a record too long for a buffer
// reaches a RecordWriter whole, in a call of its own, in its place.
func TestRecordWriterLargeRecord(t *testing.T) {
	for _, wait := range []bool{false, true} {
		s := &recordSink{}
		opts := []Option{WithSink(s), WithBufferSize(64)}
		if wait {
			opts = append(opts, WithOverflow(Drop)) // WriteWait makes it wait its turn
		}
		w := newWriter(t, opts...)
		before, large, after := rec("before", 20), rec("large", 300), rec("after", 20)
		_, err := w.Write(before)
		require.NoError(t, err)
		if wait {
			_, err = w.WriteWait(large)
		} else {
			_, err = w.Write(large)
		}
		require.NoError(t, err)
		_, err = w.Write(after)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		assert.Equal(t, [][]byte{before, large, after}, s.Delivered())
		for _, c := range s.Calls() {
			if total(c) > 64 {
				assert.Len(t, c, 1, "a record too long for a buffer shares its call")
			}
		}
		st := w.Stats()
		assert.Equal(t, uint64(3), st.WrittenRecords)
		assert.Equal(t, uint64(len(before)+len(large)+len(after)), st.WrittenBytes)
	}
}

// TestRecordWriterDropNotice checks that the notice of records dropped
// reaches a RecordWriter as a record of its own, in a call of its own,
// before the records written after the drop.
func TestRecordWriterDropNotice(t *testing.T) {
	g := newGate()
	var calls atomic.Int32
	s := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		if calls.Add(1) == 1 {
			g.pass()
		}
		return len(recs), nil
	}}
	w := newWriter(t, WithSink(s), WithBufferSize(64), WithOverflow(Drop), withClock(newFakeClock()),
		WithNotices(JSONNotice), WithErrorHandler(func(error) {}))
	t.Cleanup(g.open)
	first := rec("first", 40) // past the high-water mark: written at once
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)
	r1, r2, r3 := rec("r1", 20), rec("r2", 20), rec("r3", 20)
	for _, r := range [][]byte{r1, r2, r3} {
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.Equal(t, uint64(1), w.Stats().DroppedRecords, "r3 is dropped")
	g.open()
	require.NoError(t, w.Sync())

	got := s.Calls()
	require.Len(t, got, 3)
	assert.Equal(t, [][]byte{first}, got[0])
	require.Len(t, got[1], 1, "the notice is a call of one record")
	var note struct {
		Kind    string `json:"asynclog"`
		Records uint64 `json:"records"`
		Bytes   uint64 `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal(got[1][0], &note), "%q", got[1][0])
	assert.Equal(t, "dropped", note.Kind)
	assert.Equal(t, uint64(1), note.Records)
	assert.Equal(t, uint64(len(r3)), note.Bytes)
	assert.True(t, bytes.HasSuffix(got[1][0], []byte("}\n")), "the notice is one whole line: %q", got[1][0])
	assert.Equal(t, [][]byte{r1, r2}, got[2])
	st := w.Stats()
	assert.Equal(t, uint64(3), st.WrittenRecords, "the notice is not a record")
	assert.Equal(t, uint64(3), st.Flushes, "the notice is a call")
	assert.Zero(t, s.Writes())
}

// TestRecordWriterFailsPartway checks a call that delivers some of its
// records and fails: the rest are counted lost, exactly, the error is
// reported and returned by Sync, and they are not handed to the sink
// again.
func TestRecordWriterFailsPartway(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		err       error
		delivered int // of the 5 records of the call
		is        error
	}{
		{"error after 2", 2, errSink, 2, errSink},
		{"error before any", 0, errSink, 0, errSink},
		{"short without error", 3, nil, 3, io.ErrShortWrite},
		{"count below 0", -1, nil, 0, io.ErrShortWrite},
		{"count past the end", 6, nil, 0, io.ErrShortWrite},
		{"count past the end with error", 9, errSink, 0, errSink},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var failed atomic.Bool
			s := &recordSink{}
			s.writeRecords = func(recs [][]byte) (int, error) {
				if len(recs) == 5 && !failed.Swap(true) {
					return c.n, c.err
				}
				return len(recs), nil
			}
			var errs errorLog
			w := newWriter(t, WithSink(s), withClock(newFakeClock()), WithErrorHandler(errs.handle))
			warm := warmUpRecords(t, w, s)
			var call [][]byte
			for i := range 5 {
				r := rec(string(rune('a'+i)), 10+i)
				call = append(call, r)
				_, err := w.Write(r)
				require.NoError(t, err)
			}
			err := w.Sync()
			require.ErrorIs(t, err, c.is)
			later := rec("later", 12)
			_, err = w.Write(later)
			require.NoError(t, err)
			require.NoError(t, w.Sync())

			want := append([][]byte{warm}, call[:c.delivered]...)
			assert.Equal(t, append(want, later), s.Delivered())
			assert.Equal(t, [][][]byte{{warm}, call, {later}}, s.Calls(), "the lost records are not handed again")
			st := w.Stats()
			assert.Equal(t, uint64(7), st.Records)
			assert.Equal(t, uint64(2+c.delivered), st.WrittenRecords)
			assert.Equal(t, uint64(len(warm)+total(call[:c.delivered])+len(later)), st.WrittenBytes)
			assert.Equal(t, uint64(5-c.delivered), st.LostRecords)
			assert.Equal(t, uint64(total(call[c.delivered:])), st.LostBytes)
			assert.Equal(t, st.Bytes, st.WrittenBytes+st.LostBytes)
			assert.Equal(t, uint64(1), st.SinkErrors)
			require.Len(t, errs.Errors(), 1)
			assert.ErrorIs(t, errs.Errors()[0], c.is)
		})
	}
}

// TestRecordWriterPanics checks that a panic in WriteRecords is reported,
// its call's records counted lost, and that the writer goroutine goes on.
func TestRecordWriterPanics(t *testing.T) {
	var panicked atomic.Bool
	s := &recordSink{writeRecords: func(recs [][]byte) (int, error) {
		if len(recs) == 3 && !panicked.Swap(true) {
			panic("sink exploded")
		}
		return len(recs), nil
	}}
	var errs errorLog
	w := newWriter(t, WithSink(s), withClock(newFakeClock()), WithErrorHandler(errs.handle))
	warm := warmUpRecords(t, w, s)
	call := [][]byte{rec("a", 10), rec("b", 11), rec("c", 12)}
	for _, r := range call {
		_, err := w.Write(r)
		require.NoError(t, err)
	}
	require.ErrorIs(t, w.Sync(), ErrSinkPanic)
	later := rec("later", 12)
	_, err := w.Write(later)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, [][]byte{warm, later}, s.Delivered())
	st := w.Stats()
	assert.Equal(t, uint64(3), st.LostRecords)
	assert.Equal(t, uint64(total(call)), st.LostBytes)
	assert.Equal(t, uint64(2), st.WrittenRecords)
	require.Len(t, errs.Errors(), 1)
	assert.ErrorContains(t, errs.Errors()[0], "sink exploded")
}

// TestRecordWriterGoexit checks a runtime.Goexit in WriteRecords, in a
// call of buffered records and in the call of a record too long for a
// buffer: a new writer goroutine reports it, counts the records of that
// call lost, never hands them again, and goes on with the rest in order.
func TestRecordWriterGoexit(t *testing.T) {
	for _, large := range []bool{false, true} {
		name := map[bool]string{false: "buffered", true: "large"}[large]
		t.Run(name, func(t *testing.T) {
			var exited atomic.Bool
			s := &recordSink{}
			s.writeRecords = func(recs [][]byte) (int, error) {
				if bytes.HasPrefix(recs[0], []byte("victim")) && !exited.Swap(true) {
					runtime.Goexit()
				}
				return len(recs), nil
			}
			var errs errorLog
			w := newWriter(t, WithSink(s), WithBufferSize(256), withClock(newFakeClock()), WithErrorHandler(errs.handle))
			warm := warmUpRecords(t, w, s)
			runner := w.runner.Load()
			victim := [][]byte{rec("victim", 20), rec("v2", 20)}
			if large {
				victim = [][]byte{rec("victim", 400)}
			}
			for _, r := range victim {
				_, err := w.Write(r)
				require.NoError(t, err)
			}
			require.ErrorIs(t, w.Sync(), ErrSinkPanic)
			assert.NotEqual(t, runner, w.runner.Load(), "a new writer goroutine")
			later := rec("later", 12)
			_, err := w.Write(later)
			require.NoError(t, err)
			require.NoError(t, w.Close())

			assert.Equal(t, [][]byte{warm, later}, s.Delivered())
			assert.Equal(t, [][][]byte{{warm}, victim, {later}}, s.Calls(), "each record handed once")
			st := w.Stats()
			assert.Equal(t, uint64(len(victim)), st.LostRecords)
			assert.Equal(t, uint64(total(victim)), st.LostBytes)
			assert.Equal(t, st.Records, st.WrittenRecords+st.LostRecords)
			assert.Equal(t, st.Bytes, st.WrittenBytes+st.LostBytes)
			require.NotEmpty(t, errs.Errors())
			assert.ErrorIs(t, errs.Errors()[0], ErrSinkPanic)
		})
	}
}

// TestRecordWriterWaitsForSink checks that Sync waits for the call in
// progress and that the sink is called from one goroutine at a time,
// under Block with callers waiting for room.
func TestRecordWriterOneCallAtATime(t *testing.T) {
	var inside, overlaps atomic.Int32
	s := &recordSink{}
	s.writeRecords = func(recs [][]byte) (int, error) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		runtime.Gosched()
		inside.Add(-1)
		return len(recs), nil
	}
	w := newWriter(t, WithSink(s), WithBufferSize(512))
	st := streams{seed: 7, writers: 4, records: 300, size: 512, minLen: 4, maxLen: 700}
	st.run(t, func(g, k int, p []byte) (int, error) { return w.Write(p) })
	require.NoError(t, w.Sync())
	assert.Zero(t, overlaps.Load(), "WriteRecords calls overlapped")
	requireOneRecordEach(t, st, s.Delivered(), true)
}

// requireOneRecordEach checks that recs, the records a RecordWriter
// delivered, are each exactly one record of st, whole, each writer's in
// order: under Block (strict) all of them once; otherwise those that
// arrived, none twice. It returns how many there are.
func requireOneRecordEach(t *testing.T, st streams, recs [][]byte, strict bool) int {
	t.Helper()
	for i, r := range recs {
		require.NotEmpty(t, r, "record %d is empty", i)
	}
	if strict {
		// Every record once, each slice starting and ending on a record
		// boundary; as many slices as records: one record each.
		require.NoError(t, st.parseStrict(recs))
		n, _ := st.total()
		require.Len(t, recs, n)
		return n
	}
	n, err := st.parseLossy(recs, func(g, k int) bool { return false })
	require.NoError(t, err)
	require.Equal(t, len(recs), n, "a slice holds more than one record")
	return n
}

// discardRecords is a RecordWriter that counts what it is given and
// allocates nothing.
type discardRecords struct {
	calls, records, bytes int
}

func (d *discardRecords) WriteRecords(recs [][]byte) (int, error) {
	d.calls++
	d.records += len(recs)
	for _, r := range recs {
		d.bytes += len(r)
	}
	return len(recs), nil
}

func (d *discardRecords) Write(p []byte) (int, error) { return len(p), nil }

// newBareWriter returns a Writer without a writer goroutine, whose
// writeOut a test or a benchmark calls by hand.
func newBareWriter(opts ...Option) *Writer {
	cfg := newConfig(append([]Option{WithNotices(nil)}, opts...))
	w := &Writer{cfg: cfg}
	w.records = newRecordCalls(cfg.sink)
	w.notes.init()
	return w
}

// fillSealed opens the next epoch of b, commits every record of recs in
// it, as callers do, and seals it, as a swap does.
func fillSealed(w *Writer, b *buffer, recs [][]byte) {
	w.reopen(b)
	for _, r := range recs {
		off, ok := b.reserve(len(r))
		if !ok {
			panic("fillSealed: no room")
		}
		b.put(off, r)
	}
	b.seal()
}

// TestRecordWriterNoAllocs checks that the writer goroutine hands a
// buffer to a RecordWriter without allocating, whatever the calls: one
// call of the whole buffer, calls bounded by the max write size, or by
// maxRecordsPerCall.
func TestRecordWriterNoAllocs(t *testing.T) {
	for _, maxWrite := range []int{0, 1000} {
		sink := &discardRecords{}
		w := newBareWriter(WithSink(sink), WithMaxWriteSize(maxWrite))
		b := newBuffer(make([]byte, 256<<10))
		var recs [][]byte
		for i := range 3000 {
			recs = append(recs, bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%70))
		}
		allocs := testing.AllocsPerRun(20, func() {
			fillSealed(w, b, recs)
			w.writeOut(b)
		})
		assert.Zero(t, allocs, "allocations per buffer, max write size %d", maxWrite)
		assert.Equal(t, 21*len(recs), sink.records)
		assert.Equal(t, 21*total(recs), sink.bytes)
		st := w.stats.snapshot()
		assert.Equal(t, uint64(sink.records), st.Records)
		assert.Equal(t, uint64(sink.records), st.WrittenRecords)
		assert.Equal(t, uint64(sink.calls), st.Flushes)
	}
}

// TestSinkRecordsRecovers checks sinkRecords, the call that recovery's
// replay makes of a RecordWriter: a panic is an error matching
// ErrSinkPanic with nothing delivered.
func TestSinkRecordsRecovers(t *testing.T) {
	s := &recordSink{writeRecords: func(recs [][]byte) (int, error) { panic("boom") }}
	w := newBareWriter(WithSink(s))
	n, err := w.sinkRecords([][]byte{[]byte("a\n"), []byte("b\n")})
	assert.Zero(t, n)
	assert.ErrorIs(t, err, ErrSinkPanic)
	s.writeRecords = func(recs [][]byte) (int, error) { return 1, nil }
	n, err = w.sinkRecords([][]byte{[]byte("a\n"), []byte("b\n")})
	assert.Equal(t, 1, n)
	assert.True(t, errors.Is(err, io.ErrShortWrite))
	assert.Equal(t, uint64(2), w.stats.snapshot().Flushes)
}

// benchRecords returns records of about n bytes that fill a buffer of
// size bytes to its high-water mark, as a flat-out load leaves it.
func benchRecords(n, size int) [][]byte {
	var recs [][]byte
	used := 0
	for i := 0; used+int(frameLen(n+8)) <= min(size/2, maxHighWater); i++ {
		r := append(bytes.Repeat([]byte{'a' + byte(i%26)}, n-1+i%16), '\n')
		recs = append(recs, r)
		used += int(frameLen(len(r)))
	}
	return recs
}

// TestRecordWriterReentrant checks a RecordWriter that logs through the
// Writer it serves, from inside WriteRecords, under Block: its records
// are accepted while there is room and otherwise dropped, never waited
// for; Sync and Close from there return ErrReentrant; and every record
// accepted reaches it.
func TestRecordWriterReentrant(t *testing.T) {
	var w *Writer
	reentrant := make(chan error, 1000)
	s := &recordSink{}
	s.writeRecords = func(recs [][]byte) (int, error) {
		if !bytes.HasPrefix(recs[0], []byte("from-the-sink")) {
			_, err := w.Write([]byte("from-the-sink\n"))
			reentrant <- err
			reentrant <- fmt.Errorf("sync: %w", w.Sync())
		}
		return len(recs), nil
	}
	w = newWriter(t, WithSink(s), WithBufferSize(256))
	for i := range 20 {
		_, err := w.Write(rec(string(rune('a'+i)), 100))
		require.NoError(t, err)
		require.NoError(t, w.Sync())
	}
	require.NoError(t, w.Close())
	close(reentrant)
	for err := range reentrant {
		if err != nil && strings.HasPrefix(err.Error(), "sync: ") {
			assert.ErrorIs(t, err, ErrReentrant)
		} else {
			assert.NoError(t, err, "Write from the sink")
		}
	}
	st := w.Stats()
	assert.Equal(t, st.Records, st.WrittenRecords)
	assert.Equal(t, int(st.WrittenRecords), len(s.Delivered()))
	assert.Contains(t, s.Delivered(), []byte("from-the-sink\n"))
}
