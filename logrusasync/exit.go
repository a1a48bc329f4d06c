package logrusasync

import (
	"fmt"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/asynclog/asynclog/core"
)

// exitWriters are the core Writers, of open Hooks and Writers, that the
// package's exit handler syncs. logrus never forgets an exit handler, so
// the package registers one, the first time it is asked, and keeps the set
// itself: closing a Hook or a Writer removes it, so that logrus does not
// keep it, and its two buffers, alive.
var exitWriters struct {
	once sync.Once
	mu   sync.Mutex
	open map[*core.Writer]struct{}
}

// registerExit makes the package's logrus exit handler sync w.
func registerExit(w *core.Writer) {
	exitWriters.once.Do(func() { logrus.RegisterExitHandler(syncAtExit) })
	exitWriters.mu.Lock()
	defer exitWriters.mu.Unlock()
	if exitWriters.open == nil {
		exitWriters.open = make(map[*core.Writer]struct{})
	}
	exitWriters.open[w] = struct{}{}
}

// unregisterExit stops the exit handler from syncing w.
func unregisterExit(w *core.Writer) {
	exitWriters.mu.Lock()
	defer exitWriters.mu.Unlock()
	delete(exitWriters.open, w)
}

// syncAtExit is the package's logrus exit handler: it syncs every Writer
// registered and not yet closed, and prints errors on os.Stderr, as logrus
// prints the errors of hooks.
func syncAtExit() {
	exitWriters.mu.Lock()
	writers := make([]*core.Writer, 0, len(exitWriters.open))
	for w := range exitWriters.open {
		writers = append(writers, w)
	}
	exitWriters.mu.Unlock()
	for _, w := range writers {
		if err := w.Sync(); err != nil {
			fmt.Fprintln(os.Stderr, "logrusasync: flushing at exit:", err)
		}
	}
}
