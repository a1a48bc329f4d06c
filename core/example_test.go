package core_test

import (
	"fmt"
	"os"

	"github.com/asynclog/asynclog/core"
)

// A Writer is an io.Writer: each Write is one record. Close writes what is
// buffered, syncs the sink and stops the writer goroutine.
func Example() {
	w := core.New(core.WithSink(os.Stdout))
	fmt.Fprintln(w, `{"level":"info","msg":"listening","port":8080}`)
	fmt.Fprintln(w, `{"level":"info","msg":"ready"}`)
	if err := w.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	// Output:
	// {"level":"info","msg":"listening","port":8080}
	// {"level":"info","msg":"ready"}
}

// Sync is a barrier: everything written before it is in the sink, and the
// sink's own Sync has been called, when it returns.
func ExampleWriter_Sync() {
	w := core.New(core.WithSink(os.Stdout))
	defer w.Close()

	fmt.Fprintln(w, "before the barrier")
	if err := w.Sync(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println("after Sync")
	// Output:
	// before the barrier
	// after Sync
}

// Stats tells what happened to every record: accepted and written, dropped
// under the Drop policy, or lost in a failed sink write.
func ExampleWriter_Stats() {
	w := core.New(core.WithSink(os.Stdout), core.WithOverflow(core.Drop))
	fmt.Fprintln(w, "one")
	fmt.Fprintln(w, "two")
	w.Close()
	fmt.Fprintln(w, "three") // refused: the Writer is closed

	s := w.Stats()
	fmt.Printf("accepted %d, written %d, dropped %d\n", s.Records, s.WrittenRecords, s.DroppedRecords)
	// Output:
	// one
	// two
	// accepted 2, written 2, dropped 1
}
