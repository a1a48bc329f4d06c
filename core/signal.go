package core

import (
	"errors"
	"os"
	"os/signal"
	"sync"
)

// open holds every Writer not yet closed, for SyncAll.
var open struct {
	mu      sync.Mutex
	writers map[*Writer]struct{}
}

func register(w *Writer) {
	open.mu.Lock()
	defer open.mu.Unlock()
	if open.writers == nil {
		open.writers = make(map[*Writer]struct{})
	}
	open.writers[w] = struct{}{}
}

func unregister(w *Writer) {
	open.mu.Lock()
	defer open.mu.Unlock()
	delete(open.writers, w)
}

// SyncAll syncs every Writer not yet closed, all at once, and returns
// their errors joined. Each Sync is bounded by its Writer's sync timeout.
// Call it from a signal handler of your own, or wherever a program is
// about to end without closing its Writers.
//
// Each Sync is made for the caller of SyncAll: called from the sink, the
// error handler or a notice format of a Writer, SyncAll does not wait for
// that Writer, whose writer goroutine is the caller (its error matches
// ErrReentrant), nor for one whose writer goroutine waits for the
// caller's; it syncs the others.
func SyncAll() error {
	caller := goid()
	open.mu.Lock()
	writers := make([]*Writer, 0, len(open.writers))
	for w := range open.writers {
		writers = append(writers, w)
	}
	open.mu.Unlock()
	errs := make([]error, len(writers))
	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Go(func() { errs[i] = w.syncFor(caller) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// HandleSignals is for a program that does not handle signals itself: when
// the process receives one of sigs (by default SIGTERM and SIGINT, which
// end a Go program that does not handle them), it syncs every open Writer
// (SyncAll) and then lets the signal end the process exactly as it would
// have without the handler: it restores the signal's default action and
// raises it again, so the exit status still says "killed by SIGTERM". A
// signal the process ignores is left ignored. Call it once, early in main;
// stop undoes it.
//
// A program that handles a signal itself, with signal.Notify, must not
// also pass it here: HandleSignals would end the process before the
// program's own shutdown ran. Call SyncAll (or Close) in that shutdown
// instead.
//
// It syncs; it does not close. Goroutines go on logging while the sync
// runs, and what they log after it began is not waited for: the signal
// ends the process as soon as the sync returns, so without a spool those
// records are lost (with one, the next start recovers them), and if the
// end comes while the writer goroutine is in the middle of a sink write
// of them, the log ends in a torn line.
//
// On Windows, where a signal cannot be raised again, the process exits
// with status 2 after the sync.
func HandleSignals(sigs ...os.Signal) (stop func()) {
	if len(sigs) == 0 {
		sigs = terminating
	}
	var handled []os.Signal
	for _, s := range sigs {
		if !signal.Ignored(s) {
			handled = append(handled, s)
		}
	}
	ch := make(chan os.Signal, 1)
	quit := make(chan struct{})
	done := make(chan struct{})
	if len(handled) > 0 {
		signal.Notify(ch, handled...)
	}
	go func() {
		defer close(done)
		select {
		case s := <-ch:
			_ = SyncAll()
			signal.Reset(s)
			raise(s)
		case <-quit:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
			<-done
		})
	}
}
