// Command asynclog recovers the records a crashed program left in an
// asynclog spool (see core.WithSpool), for a program that will not be
// restarted: the next core.New with the same spool does the same.
//
// Usage:
//
//	asynclog recover [-notice json|text|none] SPOOL >> app.log
//
// recover writes to standard output the records that the process that
// last held SPOOL had not written to its sink, whole and in the order they
// were logged, after the notice line that a restart of the program writes
// before them (see core.WithSpool), and marks them written, so that
// neither a later recover nor the next core.New writes them again. It
// prints a one-line summary to standard error: how many records, how many
// torn ones were skipped, and how many may already be in the program's own
// log (those of the sink call it died in: at most 1 MiB of records). It
// refuses a spool that a live process holds, and a spool that another user
// could have read or forged (see core.WithSpool). If the program died
// inside a sink call and standard output is a regular file that ends
// mid-line (the program's log, appended to with >>, which the program died
// writing), recover ends that line first, before the notice; otherwise
// it leaves the cut call marked in the spool, so that the program's next
// start ends its log's line.
//
// The notice is a JSON line (core.JSONNotice), as a Writer writes it by
// default; -notice text writes it as text (core.TextNotice), for a text
// log, and -notice none leaves it out, so that standard output holds the
// records alone. Nothing recovered, no notice.
//
// The exit status is 0 on success, 1 on an error (the spool cannot be
// opened, is not a spool, is in use, or standard output failed), and 2
// for a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/asynclog/asynclog/core"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: asynclog recover [-notice json|text|none] SPOOL

Writes to standard output the records that the process that last held the
spool SPOOL (core.WithSpool) did not write to its log, in order, after a
notice line as a restart writes it, marks them written, and prints a
summary to standard error.

  -notice json|text|none   the notice's format, or none (default json)
`

// notices maps the values of -notice to their formats.
var notices = map[string]func(core.Notice) []byte{
	"json": core.JSONNotice,
	"text": core.TextNotice,
	"none": nil,
}

// run runs the command with args (without the program name) and returns
// its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("asynclog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 || fs.Arg(0) != "recover" {
		fs.Usage()
		return 2
	}
	sub := flag.NewFlagSet("asynclog recover", flag.ContinueOnError)
	sub.SetOutput(stderr)
	sub.Usage = fs.Usage
	notice := sub.String("notice", "json", "")
	if err := sub.Parse(fs.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	format, ok := notices[*notice]
	if !ok {
		fmt.Fprintf(stderr, "asynclog: -notice %s: want json, text or none\n", *notice)
		fs.Usage()
		return 2
	}
	if sub.NArg() != 1 {
		fs.Usage()
		return 2
	}
	note, err := core.Recover(sub.Arg(0), stdout, core.WithNotices(format))
	if errors.Is(err, core.ErrSpool) {
		fmt.Fprintln(stderr, err) // it says asynclog: spool
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "asynclog: writing the records of %s: %v\n", sub.Arg(0), err)
		return 1
	}
	fmt.Fprintln(stderr, summary(note))
	return 0
}

// summary says what Recover found, in one line.
func summary(n core.Notice) string {
	if n.Records > 0 {
		return n.String()
	}
	s := fmt.Sprintf("asynclog: nothing to recover in spool %s, last held by process %d", n.Spool, n.PID)
	if n.Torn > 0 {
		s += fmt.Sprintf("; %d torn records skipped", n.Torn)
	}
	return s
}
