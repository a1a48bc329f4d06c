package core

import "sync"

// A writer goroutine that waits for another Writer, because its sink or
// error handler called Sync, Close or SyncAll, must not wait for itself,
// directly or through a chain of Writers whose writer goroutines wait in
// turn: the wait would last until the sync timeout and stall every other
// Sync meanwhile. So the package keeps which goroutine is whose writer
// goroutine (runners) and which writer goroutines wait for which Writers
// (waits), and a Sync or Close that would close a circle returns
// ErrReentrant at once instead. The caller is the goroutine that called
// Sync, Close or SyncAll, even when SyncAll makes the calls from
// goroutines of its own.

// runners maps the id of each running writer goroutine to its Writer. A
// plain map under a lock: an entry costs an idle Writer a few bytes, where
// a sync.Map's cost it a few hundred.
var runners struct {
	mu sync.RWMutex
	of map[uint64]*Writer
}

// startRunning records that the goroutine with id runs w.
func startRunning(id uint64, w *Writer) {
	runners.mu.Lock()
	defer runners.mu.Unlock()
	if runners.of == nil {
		runners.of = make(map[uint64]*Writer)
	}
	runners.of[id] = w
}

// stopRunning undoes startRunning.
func stopRunning(id uint64) {
	runners.mu.Lock()
	defer runners.mu.Unlock()
	delete(runners.of, id)
}

// runningWriter returns the Writer whose writer goroutine has id caller,
// or nil if caller is no writer goroutine.
func runningWriter(caller uint64) *Writer {
	runners.mu.RLock()
	defer runners.mu.RUnlock()
	return runners.of[caller]
}

// waits records, for each Writer whose writer goroutine waits for other
// Writers, how many of its waits are for each of them.
var waits struct {
	mu sync.Mutex
	on map[*Writer]map[*Writer]int
}

// startWait records that the writer goroutine of from waits for to, and
// reports true; or, if to is from or waits, through the writers it waits
// for, for from, records nothing and reports false: that wait would never
// end before its timeout.
func startWait(from, to *Writer) bool {
	waits.mu.Lock()
	defer waits.mu.Unlock()
	if reaches(to, from, map[*Writer]bool{}) {
		return false
	}
	if waits.on == nil {
		waits.on = make(map[*Writer]map[*Writer]int)
	}
	if waits.on[from] == nil {
		waits.on[from] = make(map[*Writer]int)
	}
	waits.on[from][to]++
	return true
}

// endWait undoes startWait(from, to).
func endWait(from, to *Writer) {
	waits.mu.Lock()
	defer waits.mu.Unlock()
	if waits.on[from][to]--; waits.on[from][to] == 0 {
		delete(waits.on[from], to)
		if len(waits.on[from]) == 0 {
			delete(waits.on, from)
		}
	}
}

// reaches reports whether a is b or waits, directly or not, for b.
// waits.mu must be held.
func reaches(a, b *Writer, seen map[*Writer]bool) bool {
	if a == b {
		return true
	}
	seen[a] = true
	for next := range waits.on[a] {
		if !seen[next] && reaches(next, b, seen) {
			return true
		}
	}
	return false
}
