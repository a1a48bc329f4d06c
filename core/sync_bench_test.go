package core

import (
	"io"
	"testing"
)

// BenchmarkSync measures a Sync after one record, into a sink that
// discards: the round trip to the writer goroutine, its flush and the
// reentrancy checks a Sync makes on its caller.
func BenchmarkSync(b *testing.B) {
	w := New(WithSink(io.Discard))
	defer w.Close()
	p := []byte(`{"level":"info","msg":"a line of an ordinary length for a service log"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(p); err != nil {
			b.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
