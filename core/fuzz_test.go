package core

import (
	"bytes"
	"encoding/binary"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// callSink records every Write call separately.
type callSink struct {
	mu    sync.Mutex
	calls [][]byte
}

func (s *callSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, bytes.Clone(p))
	return len(p), nil
}

func (s *callSink) snapshot() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.calls...)
}

// callRecords is callSink for a RecordWriter: it keeps each call's
// records and, joined, each call's bytes.
type callRecords struct {
	callSink
	records [][]byte // every record, in order
	counts  []int    // the records of each call
}

func (s *callRecords) WriteRecords(recs [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var call []byte
	for _, r := range recs {
		s.records = append(s.records, bytes.Clone(r))
		call = append(call, r...)
	}
	s.calls = append(s.calls, call)
	s.counts = append(s.counts, len(recs))
	return len(recs), nil
}

func (s *callRecords) Write(p []byte) (int, error) { panic("Write called on a RecordWriter") }

func (s *callRecords) recordsSnapshot() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.records...)
}

// checkRecords checks that each record a RecordWriter received is one
// record written, whole: under Block, the records written, in order (a
// prefix of them before Close); under Drop, each is one record with its
// header, whose length is the slice's.
func checkRecords(t *testing.T, got, written [][]byte, drop bool) {
	t.Helper()
	if drop {
		for i, r := range got {
			require.GreaterOrEqual(t, len(r), fuzzHeader, "record %d: torn", i)
			require.Equal(t, len(r), int(binary.BigEndian.Uint16(r[4:])), "record %d is not one record", i)
		}
		return
	}
	require.LessOrEqual(t, len(got), len(written))
	require.Equal(t, written[:len(got)], got, "each record handed to WriteRecords is one record written")
}

// fuzzRecord returns record i of length n. Under Drop, records carry a
// header (index, length) so that the delivered ones can be told apart.
func fuzzRecord(i, n int, header bool) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i*31 + j*7 + 1)
	}
	if header {
		binary.BigEndian.PutUint32(p, uint32(i))
		binary.BigEndian.PutUint16(p[4:], uint16(n))
	}
	return p
}

const fuzzHeader = 6

// fuzzMaxWrites are the max write sizes FuzzWriter picks from: none, and
// bounds below, around and above the records' lengths.
var fuzzMaxWrites = [4]int{0, 40, 200, 1000}

// FuzzWriter drives a Writer with a sequence of writes, syncs and a final
// close decoded from the input, and checks what the sink received against
// a model: under Block, exactly the records written, in order, each sink
// call holding whole records; under Drop, an ordered subsequence of them,
// whole, with delivered + dropped == written. With a max write size, no
// sink call is longer unless it holds a single record. Bit 3 of the first
// byte makes the sink a RecordWriter, whose records must each be one
// record written.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 250, 6, 4, 7, 255})
	f.Add([]byte{1, 200, 0, 255, 0, 255, 1, 255, 6, 2, 255, 7, 10})
	f.Add([]byte{3, 16, 5, 5, 5, 5, 5, 5, 5, 6, 5, 5, 5})
	f.Add([]byte{2, 40, 5, 150, 5, 160, 5, 170, 5, 180, 5, 200, 5, 10, 6, 5, 20})
	f.Add([]byte{6, 3, 5, 30, 5, 30, 5, 31, 5, 32, 5, 33, 6, 5, 255, 5, 1})
	f.Add([]byte{8 | 2, 40, 5, 150, 5, 160, 5, 250, 5, 180, 6, 5, 10, 5, 20})
	f.Add([]byte{8 | 3, 16, 5, 5, 5, 5, 5, 5, 5, 6, 5, 5, 5, 7, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		drop := data[0]&1 == 1
		maxWrite := fuzzMaxWrites[data[0]>>1&3]
		size := MinBufferSize + int(data[1])*4
		overflow := Block
		if drop {
			overflow = Drop
		}
		records := data[0]&8 != 0
		sink := &callRecords{}
		var out io.Writer = &sink.callSink
		if records {
			out = sink
		}
		w := New(WithSink(out), WithBufferSize(size), WithOverflow(overflow), WithMaxWriteSize(maxWrite), WithNotices(nil))

		var written [][]byte // every record given to Write, in order
		var mustArrive []bool
		check := func() {
			calls := sink.snapshot()
			if records {
				checkRecords(t, sink.recordsSnapshot(), written, drop)
			}
			if drop {
				checkDropCalls(t, calls, written, mustArrive, maxWrite)
				return
			}
			checkBlockCalls(t, calls, written, maxWrite)
		}
		ops := data[2:]
		for i := 0; i < len(ops); i++ {
			op := ops[i] % 8
			switch {
			case op == 6:
				require.NoError(t, w.Sync())
				check()
				continue
			case i+1 >= len(ops):
				continue
			}
			i++
			v := int(ops[i])
			n := 1 + v/4
			if v >= 200 {
				n = v * 8 // 1600..2040 bytes: past the smaller buffers
			}
			if drop && n < fuzzHeader {
				n = fuzzHeader
			}
			p := fuzzRecord(len(written), n, drop)
			written = append(written, p)
			var (
				got int
				err error
			)
			if op == 7 {
				got, err = w.WriteWait(p)
			} else {
				got, err = w.Write(p)
			}
			mustArrive = append(mustArrive, op == 7 || !drop)
			require.NoError(t, err)
			require.Equal(t, n, got)
		}
		require.NoError(t, w.Close())
		check()

		st := w.Stats()
		require.Equal(t, uint64(len(written)), st.Records+st.DroppedRecords)
		require.Equal(t, st.Records, st.WrittenRecords)
		require.Zero(t, st.LostRecords)
		if !drop {
			require.Zero(t, st.DroppedRecords)
		}
		n, err := w.Write([]byte("late"))
		require.ErrorIs(t, err, ErrClosed)
		require.Zero(t, n)
	})
}

// checkBlockCalls checks that the sink calls, concatenated, are a prefix
// (after Close: all) of the records written, and that every call ends on a
// record boundary. After a Sync every record written so far is there,
// which is what written holds at that point.
func checkBlockCalls(t *testing.T, calls [][]byte, written [][]byte, maxWrite int) {
	t.Helper()
	want := bytes.Join(written, nil)
	boundaries := map[int]int{0: 0} // offset of each record's end: its index + 1
	off := 0
	for i, r := range written {
		off += len(r)
		boundaries[off] = i + 1
	}
	got := 0
	for i, c := range calls {
		require.NotEmpty(t, c, "sink call %d is empty", i)
		require.Equal(t, want[got:got+len(c)], c, "sink call %d", i)
		first := boundaries[got]
		got += len(c)
		last, ok := boundaries[got]
		require.True(t, ok, "sink call %d ends inside a record", i)
		if maxWrite > 0 && len(c) > maxWrite {
			require.Equal(t, first+1, last, "sink call %d is %d bytes, over the max write size %d, and holds more than one record", i, len(c), maxWrite)
		}
	}
	require.Equal(t, len(want), got, "sink holds %d of %d bytes written before Sync or Close", got, len(want))
}

// checkDropCalls parses each sink call as whole records with headers and
// checks they are the records written, in order, with none twice, and
// that every record that had to arrive did.
func checkDropCalls(t *testing.T, calls [][]byte, written [][]byte, mustArrive []bool, maxWrite int) {
	t.Helper()
	next := 0
	for i, c := range calls {
		if maxWrite > 0 && len(c) > maxWrite {
			require.GreaterOrEqual(t, len(c), fuzzHeader, "sink call %d: torn record", i)
			require.Equal(t, len(c), int(binary.BigEndian.Uint16(c[4:])), "sink call %d is %d bytes, over the max write size %d, and holds more than one record", i, len(c), maxWrite)
		}
		for len(c) > 0 {
			require.GreaterOrEqual(t, len(c), fuzzHeader, "sink call %d: torn record", i)
			idx := int(binary.BigEndian.Uint32(c))
			n := int(binary.BigEndian.Uint16(c[4:]))
			require.Less(t, idx, len(written), "sink call %d: unknown record", i)
			require.GreaterOrEqual(t, idx, next, "sink call %d: record %d out of order or twice", i, idx)
			require.LessOrEqual(t, n, len(c), "sink call %d: record %d torn", i, idx)
			require.Equal(t, written[idx], c[:n], "sink call %d: record %d", i, idx)
			for k := next; k < idx; k++ {
				require.False(t, mustArrive[k], "record %d, written with WriteWait, is missing", k)
			}
			next = idx + 1
			c = c[n:]
		}
	}
	for k := next; k < len(written); k++ {
		require.False(t, mustArrive[k], "record %d, written with WriteWait, is missing", k)
	}
}
