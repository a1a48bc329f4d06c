package core

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// streams describes the records that concurrent writers send in the
// concurrency tests, so that a parser can check what reached the sink byte
// for byte without keeping a copy of what was sent.
//
// Record k of writer g is a function of (seed, g, k) alone:
//
//	byte 0      0x80|g: says which writer it is from, even in a 1-byte record
//	bytes 1-3   k, little endian (as much of it as fits)
//	the rest    pseudo-random bytes seeded by (seed, g, k)
//
// Its length is drawn from a distribution that is mostly small records but
// also has records around and past the buffer size.
type streams struct {
	seed    uint64
	writers int // at most 64
	records int // per writer
	size    int // the Writer's buffer size
	minLen  int // at least 1; at least 4 makes every record name its k
	maxLen  int // longest record

	// lengthOf, if set, replaces the length distribution.
	lengthOf func(g, k int) int
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (s streams) hash(g, k int) uint64 {
	return mix(s.seed ^ mix(uint64(g)<<32|uint64(k)+0x9e3779b97f4a7c15))
}

// length is the length of record k of writer g.
func (s streams) length(g, k int) int {
	if s.lengthOf != nil {
		return s.lengthOf(g, k)
	}
	h := s.hash(g, k)
	span := func(lo, hi int) int { // uniform in [lo, hi]
		lo = max(lo, s.minLen)
		hi = min(max(hi, lo), s.maxLen)
		return lo + int((h>>20)%uint64(hi-lo+1))
	}
	switch r := h % 1000; {
	case r < 20: // the edges of the paths a record can take
		edges := []int{s.size / 2, s.size/2 + 1, s.size - 1, s.size, s.size + 1, s.maxLen}
		return min(max(edges[(h>>20)%uint64(len(edges))], s.minLen), s.maxLen)
	case r < 60:
		return span(s.size/2, s.maxLen)
	case r < 250:
		return span(100, s.size/2)
	default:
		return span(1, 100)
	}
}

// record appends record k of writer g to dst.
func (s streams) record(dst []byte, g, k int) []byte {
	n := s.length(g, k)
	start := len(dst)
	dst = append(dst, 0x80|byte(g), byte(k), byte(k>>8), byte(k>>16))[:start+min(n, 4)]
	x := s.hash(g, k) | 1
	for len(dst)-start < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		dst = append(dst, byte(x))
	}
	return dst
}

// total returns the number of records and bytes all writers send.
func (s streams) total() (records, bytes int) {
	for g := range s.writers {
		for k := range s.records {
			bytes += s.length(g, k)
		}
	}
	return s.writers * s.records, bytes
}

// run starts s.writers goroutines, each sending its records in order
// through write, and waits for them. Each goroutine reuses one slice and
// overwrites the record as soon as write returns, so that a Writer that
// kept p instead of copying it would send garbage. Every call must return
// (len(p), nil).
func (s streams) run(t *testing.T, write func(g, k int, p []byte) (int, error)) {
	var wg sync.WaitGroup
	for g := range s.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, s.maxLen)
			for k := range s.records {
				p := s.record(buf[:0], g, k)
				n, err := write(g, k, p)
				if !assert.NoError(t, err, "writer %d record %d", g, k) ||
					!assert.Equal(t, len(p), n, "writer %d record %d", g, k) {
					return
				}
				for i := range p {
					p[i] = 0xff
				}
			}
		}()
	}
	wg.Wait()
}

// parseStrict checks that the sink calls hold every record of every writer
// exactly once, whole, in each writer's order, and that every call starts
// and ends on a record boundary: it walks each call separately, reads the
// writer from a record's first byte and compares the bytes that follow
// with that writer's next record.
func (s streams) parseStrict(calls [][]byte) error {
	next := make([]int, s.writers)
	if err := s.walkStrict(calls, next); err != nil {
		return err
	}
	for g, k := range next {
		if k != s.records {
			return fmt.Errorf("writer %d: %d of its %d records reached the sink", g, k, s.records)
		}
	}
	return nil
}

// walkStrict is parseStrict without the final check that every record is
// there: it accepts what the sink has received so far, and leaves in next
// how many records of each writer it found.
func (s streams) walkStrict(calls [][]byte, next []int) error {
	var want []byte
	for i, call := range calls {
		for pos := 0; pos < len(call); {
			g := int(call[pos] ^ 0x80)
			if call[pos]&0x80 == 0 || g >= s.writers {
				return fmt.Errorf("call %d, offset %d: byte %#x starts no record", i, pos, call[pos])
			}
			k := next[g]
			if k >= s.records {
				return fmt.Errorf("call %d, offset %d: writer %d sent %d records, this is one more", i, pos, g, s.records)
			}
			want = s.record(want[:0], g, k)
			if pos+len(want) > len(call) {
				return fmt.Errorf("call %d, offset %d: record %d of writer %d (%d bytes) is cut off by the end of the call (%d bytes)",
					i, pos, k, g, len(want), len(call))
			}
			if got := call[pos : pos+len(want)]; !bytes.Equal(got, want) {
				return fmt.Errorf("call %d, offset %d: want record %d of writer %d (%d bytes), got other bytes from its byte %d on",
					i, pos, k, g, len(want), firstDiff(got, want))
			}
			pos += len(want)
			next[g]++
		}
	}
	return nil
}

// parseLossy checks sink calls when records may have been dropped: every
// record that is there is whole, inside one call, not duplicated, and in
// its writer's order; every record for which mustArrive is true is there.
// It returns how many records are there. s.minLen must be at least 4, so
// that every record names its k.
func (s streams) parseLossy(calls [][]byte, mustArrive func(g, k int) bool) (delivered int, err error) {
	next := make([]int, s.writers)
	missing := func(g, from, to int) error {
		for k := from; k < to; k++ {
			if mustArrive(g, k) {
				return fmt.Errorf("record %d of writer %d, which must not be dropped, is missing", k, g)
			}
		}
		return nil
	}
	var want []byte
	for i, call := range calls {
		for pos := 0; pos < len(call); {
			if len(call)-pos < 4 {
				return 0, fmt.Errorf("call %d, offset %d: %d bytes left, less than any record", i, pos, len(call)-pos)
			}
			g := int(call[pos] ^ 0x80)
			if call[pos]&0x80 == 0 || g >= s.writers {
				return 0, fmt.Errorf("call %d, offset %d: byte %#x starts no record", i, pos, call[pos])
			}
			k := int(call[pos+1]) | int(call[pos+2])<<8 | int(call[pos+3])<<16
			if k < next[g] || k >= s.records {
				return 0, fmt.Errorf("call %d, offset %d: record %d of writer %d, but the next one expected is %d", i, pos, k, g, next[g])
			}
			if err := missing(g, next[g], k); err != nil {
				return 0, fmt.Errorf("before call %d, offset %d: %w", i, pos, err)
			}
			want = s.record(want[:0], g, k)
			if pos+len(want) > len(call) {
				return 0, fmt.Errorf("call %d, offset %d: record %d of writer %d (%d bytes) is cut off by the end of the call (%d bytes)",
					i, pos, k, g, len(want), len(call))
			}
			if got := call[pos : pos+len(want)]; !bytes.Equal(got, want) {
				return 0, fmt.Errorf("call %d, offset %d: record %d of writer %d (%d bytes) is damaged from its byte %d on",
					i, pos, k, g, len(want), firstDiff(got, want))
			}
			pos += len(want)
			next[g] = k + 1
			delivered++
		}
	}
	for g := range next {
		if err := missing(g, next[g], s.records); err != nil {
			return 0, err
		}
	}
	return delivered, nil
}

// TestStreamsParsersCatchDamage checks the parsers used by the concurrency
// tests: they accept the records as sent, in any interleaving of writers,
// and reject a lost, duplicated, reordered, torn or damaged record.
func TestStreamsParsersCatchDamage(t *testing.T) {
	s := streams{seed: 1, writers: 2, records: 40, size: 256, minLen: 4, maxLen: 600}
	all := func(g int) (out [][]byte) {
		for k := range s.records {
			out = append(out, s.record(nil, g, k))
		}
		return out
	}
	a, b := all(0), all(1)
	// Interleave the two writers, several records per call.
	var calls [][]byte
	for k := 0; k < s.records; k += 4 {
		calls = append(calls, bytes.Join(append(append([][]byte{}, a[k:k+4]...), b[k:k+2]...), nil))
		calls = append(calls, bytes.Join(b[k+2:k+4], nil))
	}
	assert.NoError(t, s.parseStrict(calls))
	n, err := s.parseLossy(calls, func(g, k int) bool { return true })
	assert.NoError(t, err)
	assert.Equal(t, 2*s.records, n)

	edit := func(f func(c [][]byte) [][]byte) [][]byte {
		c := make([][]byte, len(calls))
		for i := range calls {
			c[i] = bytes.Clone(calls[i])
		}
		return f(c)
	}
	cases := map[string][][]byte{
		"lost":       edit(func(c [][]byte) [][]byte { c[1] = c[1][:len(b[2])]; return c }),
		"duplicated": edit(func(c [][]byte) [][]byte { return append(c, bytes.Clone(b[s.records-1])) }),
		"reordered":  edit(func(c [][]byte) [][]byte { c[0], c[2] = c[2], c[0]; return c }),
		"torn": edit(func(c [][]byte) [][]byte {
			// Split the first call inside its first record.
			return append([][]byte{c[0][:2], c[0][2:]}, c[1:]...)
		}),
		"damaged": edit(func(c [][]byte) [][]byte { c[3][len(c[3])-1] ^= 1; return c }),
	}
	for name, bad := range cases {
		assert.Error(t, s.parseStrict(bad), "parseStrict, %s", name)
		if name != "lost" { // losing a record is fine for parseLossy ...
			_, err := s.parseLossy(bad, func(g, k int) bool { return false })
			assert.Error(t, err, "parseLossy, %s", name)
		}
	}
	// ... unless it must arrive.
	_, err = s.parseLossy(cases["lost"], func(g, k int) bool { return k == 3 })
	assert.Error(t, err, "parseLossy, lost a record that must arrive")
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
