package bench_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/bench"
)

// BenchmarkOutputs measures one call of every output, serially and from
// GOMAXPROCS goroutines (run it with -cpu 1,2,4). Sinks are files in the
// page cache. The time of each run includes the Close that hands the
// buffered entries to the file.
func BenchmarkOutputs(b *testing.B) {
	for _, o := range bench.Outputs() {
		for _, c := range o.Cases {
			b.Run(o.ID()+"/"+string(c), func(b *testing.B) {
				b.Run("serial", func(b *testing.B) {
					l := open(b, o, c)
					for range b.N {
						l.Log()
					}
					closeLogger(b, l)
				})
				b.Run("parallel", func(b *testing.B) {
					l := open(b, o, c)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							l.Log()
						}
					})
					closeLogger(b, l)
				})
			})
		}
	}
}

// open makes a Logger of case c over output o writing to a fresh file,
// and resets the benchmark's timer.
func open(b *testing.B, o *bench.Output, c bench.Case) bench.Logger {
	b.Helper()
	f, err := os.CreateTemp(b.TempDir(), "*.log")
	require.NoError(b, err)
	b.Cleanup(func() { f.Close() })
	l := o.Open(bench.FileSink.Writer(f), c)
	b.ReportAllocs()
	b.ResetTimer()
	return l
}

func closeLogger(b *testing.B, l bench.Logger) {
	b.Helper()
	require.NoError(b, l.Close())
	b.StopTimer()
}
