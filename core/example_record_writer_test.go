package core_test

import (
	"fmt"
	"os"

	"github.com/asynclog/asynclog/core"
)

// framer is a sink that takes records with their boundaries: it frames
// each record as a message of its own, as a network sink does (here, RFC
// 6587 octet counting, on standard output).
type framer struct{}

// WriteRecords writes each record, whole, as one framed message, and says
// how many it delivered. A sink that talks to a peer would retry here
// until the peer acknowledges, and return an error only for the records
// it gives up on: those are counted lost.
func (framer) WriteRecords(records [][]byte) (int, error) {
	for i, r := range records {
		if _, err := fmt.Printf("%d %s", len(r), r); err != nil {
			return i, err
		}
	}
	return len(records), nil
}

// Write makes framer an io.Writer, as core.WithSink requires; a Writer
// never calls it, since framer is a core.RecordWriter.
func (framer) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

// A sink that implements core.RecordWriter gets the records with their
// boundaries, never runs of bytes to split again.
func ExampleRecordWriter() {
	w := core.New(core.WithSink(framer{}))
	fmt.Fprintln(w, `{"level":"info","msg":"listening","port":8080}`)
	fmt.Fprintln(w, `{"level":"info","msg":"ready"}`)
	if err := w.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	s := w.Stats()
	fmt.Printf("written %d, lost %d\n", s.WrittenRecords, s.LostRecords)
	// Output:
	// 47 {"level":"info","msg":"listening","port":8080}
	// 31 {"level":"info","msg":"ready"}
	// written 2, lost 0
}
