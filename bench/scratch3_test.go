package bench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

func TestScratchProf(t *testing.T) {
	id, c := os.Getenv("OUT"), Case(os.Getenv("CASE"))
	for _, o := range Outputs() {
		if o.ID() != id {
			continue
		}
		f, _ := os.Create("/tmp/scratch/cpu-" + o.Name + "-" + string(c) + ".prof")
		runtime.SetMutexProfileFraction(5)
		pprof.StartCPUProfile(f)
		r, err := Run(o, c, FileSink, Config{Goroutines: 8, Calls: 200000, Dir: "/tmp/scratch"})
		pprof.StopCPUProfile()
		f.Close()
		mf, _ := os.Create("/tmp/scratch/mutex-" + o.Name + "-" + string(c) + ".prof")
		pprof.Lookup("mutex").WriteTo(mf, 0)
		mf.Close()
		runtime.SetMutexProfileFraction(0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s %s: %.0f/s p99.9 %v gcs %d\n", id, c, r.Throughput(), r.Quantile(99.9), r.GCs)
	}
}
