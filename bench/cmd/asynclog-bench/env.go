package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// env describes the machine and the software a run measured.
type env struct {
	date       time.Time
	cpu        string
	cores      int
	gomaxprocs int
	memory     string
	kernel     string
	goVersion  string
	tempFS     string
	commit     string
	loadStart  string      // load averages when the run started
	loadEnd    string      // and when it ended
	modules    [][2]string // path, version
}

// peers are the modules whose versions the report names.
var peers = []string{
	"go.uber.org/zap",
	"github.com/rs/zerolog",
	"github.com/sirupsen/logrus",
	"github.com/HdrHistogram/hdrhistogram-go",
	"golang.org/x/perf",
}

func environment() env {
	e := env{
		date:       time.Now().UTC(),
		cpu:        procField("/proc/cpuinfo", "model name"),
		cores:      runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		memory:     memTotal(),
		kernel:     runtime.GOOS + "/" + runtime.GOARCH,
		goVersion:  runtime.Version(),
		tempFS:     fsType(os.TempDir()),
		commit:     gitCommit(),
		loadStart:  loadAverage(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.kernel += ", kernel " + strings.TrimSpace(string(b))
	}
	if e.cpu == "" {
		e.cpu = "unknown"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, p := range peers {
			for _, d := range bi.Deps {
				if d.Path == p {
					e.modules = append(e.modules, [2]string{p, d.Version})
				}
			}
		}
	}
	return e
}

// procField returns the value of the first line of a /proc file that
// starts with key, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// gitCommit returns the repository's commit, marked if the work tree has
// changes, or "unknown".
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += " with uncommitted changes"
	}
	return commit
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// memTotal returns the machine's memory, or "unknown".
func memTotal() string {
	var kb int64
	if _, err := fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%d kB", &kb); err != nil {
		return "unknown"
	}
	return fmtBytes(kb << 10)
}
