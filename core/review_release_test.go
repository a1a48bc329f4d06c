package core

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// The commit of a record is a release store of its header (storeRelease):
// on amd64 without the race detector a plain MOV, elsewhere sync/atomic's
// Store. These tests check the commit protocol where it is tightest: a
// walker that follows the callers through an open buffer, reading each
// record the moment its header reads committed, while the callers are
// still copying the records after it. (With put changed to store the
// header before the copy, TestReviewReleaseWalkerBehindCallers fails in
// most runs, while the Writer-level checkers, whose writer goroutine walks
// a buffer only after sealing it, mostly pass.)

// releaseRecord returns record k of caller g, n >= 4 bytes long: byte 0
// is 0x80|g, bytes 1-3 are k, the rest a pattern of (g, k) with no zero
// byte, so that a record read before its copy is visible (the buffer is
// cleared between epochs) or one left over from an earlier epoch differs.
func releaseRecord(dst []byte, g, k, n int) []byte {
	dst = append(dst[:0], 0x80|byte(g), byte(k), byte(k>>8), byte(k>>16))
	x := mix(uint64(g)<<40^uint64(k)) | 1
	for len(dst) < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		dst = append(dst, byte(x)|1)
	}
	return dst
}

type releaseCase struct {
	name      string
	size      int
	callers   int
	records   int
	length    func(g, k int) int
	maxRounds int // bound on the buffer epochs, so that a hang fails instead
}

// runReleaseWalker runs c and returns the first violation it sees, or "".
// put is the commit under test (buffer.put, or a broken one to check
// that the walker notices).
func runReleaseWalker(t *testing.T, c releaseCase, put func(b *buffer, off uint64, p []byte)) (bad string, rounds int) {
	t.Helper()
	b := newBuffer(make([]byte, c.size))
	epoch := uint64(1)
	b.reopen(epoch, time.Now())

	var wg sync.WaitGroup
	for g := range c.callers {
		wg.Go(func() {
			var buf []byte
			for k := range c.records {
				p := releaseRecord(buf, g, k, c.length(g, k))
				buf = p
				for {
					if off, ok := b.reserve(len(p)); ok {
						put(b, off, p)
						break
					}
					runtime.Gosched() // sealed or full: wait for the walker to reopen it
				}
			}
		})
	}

	next := make([]int, c.callers) // the k expected next from each caller
	total, want := 0, c.callers*c.records
	want2 := make([]byte, 0, 64)
walk:
	for total < want {
		rounds++
		if rounds > c.maxRounds {
			bad = "too many rounds"
			break
		}
		off := uint64(0)
		for total < want {
			rec, after, ok := b.next(off, b.size())
			if !ok {
				break
			}
			if len(rec) < 4 || rec[0]&0x80 == 0 || int(rec[0]&0x7f) >= c.callers {
				bad = "record with no valid caller byte"
				break walk
			}
			g := int(rec[0] & 0x7f)
			k := int(rec[1]) | int(rec[2])<<8 | int(rec[3])<<16
			if k != next[g]&(1<<24-1) {
				bad = "record out of its caller's order, duplicated or lost"
				break walk
			}
			want2 = releaseRecord(want2, g, next[g], c.length(g, next[g]))
			if string(rec) != string(want2) {
				bad = "record torn: its header was seen before its bytes"
				break walk
			}
			next[g]++
			total++
			off = after
		}
		if total == want {
			break
		}
		// The buffer is full (a padding frame or the end): take it out
		// as the Writer does and start the next epoch.
		b.seal()
		b.clear()
		epoch++
		b.reopen(epoch, time.Now())
	}
	if bad != "" {
		// Let the callers finish: keep reopening until they are done.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for {
			select {
			case <-done:
				return bad, rounds
			default:
			}
			b.seal()
			b.sealedAt = b.size()
			b.clear()
			epoch++
			b.reopen(epoch, time.Now())
			runtime.Gosched()
		}
	}
	wg.Wait()
	return bad, rounds
}

func releaseCases() []releaseCase {
	return []releaseCase{
		// Short records, many per cache line: inline copies of 4 to 40
		// bytes, the walker right behind the callers.
		{name: "short", size: 4096, callers: 6, records: 20000, maxRounds: 1 << 20,
			length: func(g, k int) int { return 4 + int(mix(uint64(g)<<32^uint64(k))%37) }},
		// Up to 3000 bytes: the vector and string-move paths of memmove.
		{name: "mixed", size: 64 << 10, callers: 4, records: 3000, maxRounds: 1 << 20,
			length: func(g, k int) int { return 4 + int(mix(uint64(g)<<32^uint64(k))%3000) }},
		// Over a MiB: memmove's non-temporal path, whose stores are not
		// ordered with later ones but for its SFENCE.
		{name: "huge", size: 5 << 20, callers: 2, records: 6, maxRounds: 1 << 10,
			length: func(g, k int) int { return 1<<20 + 8 + int(mix(uint64(g)<<32^uint64(k))%(600<<10)) }},
	}
}

// TestReviewReleaseWalkerBehindCallers walks an open buffer behind its
// callers: every record read the moment its header is committed must be
// whole and in its caller's order.
func TestReviewReleaseWalkerBehindCallers(t *testing.T) {
	for _, c := range releaseCases() {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.name == "short" {
				c.records /= 10
			}
			bad, rounds := runReleaseWalker(t, c, (*buffer).put)
			if bad != "" {
				t.Fatalf("%s (after %d epochs)", bad, rounds)
			}
			t.Logf("%d records in %d epochs", c.callers*c.records, rounds)
		})
	}
}

// TestReviewReleaseManyShortWriters runs the review checker with many
// callers of short records, a buffer swapped every few records, no sink
// delay (the writer goroutine walks right behind the callers) and Syncs
// from other goroutines.
func TestReviewReleaseManyShortWriters(t *testing.T) {
	reviewCases(t, []reviewCase{
		{name: "block/tiny/many", opts: []Option{WithBufferSize(tiny)},
			run: reviewRun{writers: 32, records: 1000, length: reviewLengths(21, 1, 16, tiny), syncers: 3}},
		{name: "block/4k/many", opts: []Option{WithBufferSize(4096)},
			run: reviewRun{writers: 32, records: 1000, length: reviewLengths(22, 1, 40, 4096), syncers: 2}},
		{name: "drop/256/many", opts: []Option{WithBufferSize(256), WithOverflow(Drop)},
			run: reviewRun{writers: 32, records: 1000, length: reviewLengths(23, 4, 24, 256), drop: true, syncers: 2,
				wait: func(g, k int) bool { return k%4 == 0 }}},
	})
}
