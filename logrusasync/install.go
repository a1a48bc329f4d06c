package logrusasync

import (
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// Install makes h the output of logger, once: it adds h as a hook, and
// replaces the logger's formatter with an *InstalledFormatter that keeps
// it and formats nothing, and the logger's output with one that discards,
// so that logrus does not format and write every entry a second time under
// its lock. h formats with the kept formatter, unless h.Formatter is set.
// Install also calls RegisterExitHandler.
//
// Install is idempotent: installing h again on the same logger does
// nothing, so h never fires twice for an entry. Several hooks may be
// installed on one logger; they share its InstalledFormatter. Do not also
// add h with logger.AddHook, which would make it fire twice.
//
// Call Install during setup, before the logger is used, or at least not
// while another goroutine calls the logger's SetFormatter or SetOutput:
// Install reads logger.Formatter and logger.Out, which logrus guards with
// a lock it does not share.
//
// After Install, logger.Formatter is the *InstalledFormatter; its
// Formatter method returns the formatter in use. A later
// logger.SetFormatter(f), even one racing with goroutines that log, is
// safe and takes effect: the next entry logrus writes shows the logger's
// output the change, and from then on the hooks format with f and
// logger.Formatter is the InstalledFormatter again. Entries logged
// between the SetFormatter call and that one are formatted the old way.
// Do not call logger.SetOutput after Install: the logger's own output
// receives nothing while its formatter is the InstalledFormatter, and a
// SetFormatter after it is no longer noticed.
func (h *Hook) Install(logger *logrus.Logger) {
	installMu.Lock()
	defer installMu.Unlock()
	if _, ok := h.installed.Load(logger); ok {
		return
	}
	out, ok := logger.Out.(*installedOut)
	if !ok || out.logger != logger {
		// The logger's first hook. Nothing of this package writes
		// logger.Formatter until its output is an installedOut.
		f := logger.Formatter
		if inst, ok := f.(*InstalledFormatter); ok {
			f = inst.Formatter() // installed before, then given another output
		}
		if f == nil {
			f = new(logrus.TextFormatter) // what logrus.New gives a logger
		}
		out = &installedOut{logger: logger, formatter: new(InstalledFormatter)}
		out.formatter.set(f)
		logger.SetFormatter(out.formatter)
		logger.SetOutput(out)
	}
	h.installed.Store(logger, out.formatter)
	logger.AddHook(h)
	h.RegisterExitHandler()
}

// installMu serializes Install calls, so that two hooks installed on one
// logger at once agree on its InstalledFormatter.
var installMu sync.Mutex

// An InstalledFormatter is the formatter Install gives a logger. It keeps
// the formatter the logger had, which the hooks installed on the logger
// format entries with, and formats nothing itself: logrus calls it for
// every entry, to write to the logger's own output, which Install made
// discard everything.
//
// Code that type-asserts logger.Formatter after Install finds an
// *InstalledFormatter; its Formatter method returns the formatter in use:
//
//	f := logger.Formatter
//	if inst, ok := f.(*logrusasync.InstalledFormatter); ok {
//		f = inst.Formatter()
//	}
type InstalledFormatter struct {
	current atomic.Pointer[formatterRef]
}

// formatterRef lets an atomic.Pointer hold formatters of any type.
type formatterRef struct{ logrus.Formatter }

// Format returns nothing: the hooks installed on the logger format the
// entry.
func (f *InstalledFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

// Formatter returns the formatter the hooks installed on the logger
// format entries with: the logger's formatter before Install, or the one
// given to a later logger.SetFormatter. It is safe for concurrent use.
func (f *InstalledFormatter) Formatter() logrus.Formatter { return f.current.Load().Formatter }

func (f *InstalledFormatter) set(x logrus.Formatter) { f.current.Store(&formatterRef{x}) }

// installedOut is the output Install gives a logger. The logger's own
// formatter being an InstalledFormatter, logrus writes it an empty record
// for every entry; a record that is not empty means that logger.Formatter
// was replaced, and Write, which logrus calls holding the logger's lock,
// is where that can be seen and undone without a data race.
type installedOut struct {
	logger    *logrus.Logger
	formatter *InstalledFormatter
}

// Write discards p. If p is not empty, the logger's formatter was
// replaced: Write hands the new one to the hooks and puts the
// InstalledFormatter back. logrus holds the logger's lock while it writes
// to its output, as SetFormatter does while it writes logger.Formatter.
func (o *installedOut) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f := o.logger.Formatter; f != logrus.Formatter(o.formatter) {
		if inst, ok := f.(*InstalledFormatter); ok {
			f = inst.Formatter()
		}
		o.formatter.set(f)
		o.logger.Formatter = o.formatter
	}
	return len(p), nil
}
