//go:build linux || darwin || freebsd

package syslogsink

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

// spoolChildEnv holds, in JSON, the plan of a child process of
// TestRsyslogSpoolCrash; its presence makes the test a child.
const spoolChildEnv = "SYSLOGSINK_SPOOL_CHILD"

type spoolPlan struct {
	Addr     string // rsyslogd's RELP input
	Spool    string
	Progress string // 8 bytes, mapped: how many Writes have returned
}

// mapProgress maps the 8-byte progress file shared by the parent and the
// child: the count survives a SIGKILL of the child.
func mapProgress(t testing.TB, path string) *atomic.Uint64 {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(8))
	b, err := syscall.Mmap(int(f.Fd()), 0, 8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	require.NoError(t, err)
	return (*atomic.Uint64)(unsafe.Pointer(&b[0]))
}

// TestRsyslogSpoolCrash: an application logs through a core.Writer with a
// spool to rsyslogd over RELP. rsyslogd is SIGKILLed, and while the Sink
// retries, so is the application. Both are restarted: the new Writer
// recovers the spool, and every record whose Write had returned is in
// rsyslogd's file.
func TestRsyslogSpoolCrash(t *testing.T) {
	if env := os.Getenv(spoolChildEnv); env != "" {
		var p spoolPlan
		require.NoError(t, json.Unmarshal([]byte(env), &p))
		progress := mapProgress(t, p.Progress)
		s := New(p.Addr, WithFormat(Raw), WithBackoff(5*time.Millisecond, 50*time.Millisecond))
		w := core.New(core.WithSink(s), core.WithSpool(p.Spool), core.WithBufferSize(256<<10),
			core.WithOverflow(core.Block), core.WithErrorHandler(func(error) {}))
		for i := 0; ; i++ {
			if _, err := w.Write(testRecord(0, i, 200)); err != nil {
				panic(err)
			}
			progress.Store(uint64(i + 1))
		}
	}
	requireRsyslogd(t)
	r := startRsyslogd(t, rsyslogdOptions{})
	dir := t.TempDir()
	plan := spoolPlan{Addr: r.relpAddr, Spool: filepath.Join(dir, "app.spool"), Progress: filepath.Join(dir, "progress")}
	progress := mapProgress(t, plan.Progress)
	env, err := json.Marshal(plan)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRsyslogSpoolCrash$")
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+string(env))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for progress.Load() < 50_000 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-waited
			t.Fatalf("the child logged %d records in 20 s: %s", progress.Load(), out.Bytes())
		}
		time.Sleep(time.Millisecond)
	}
	r.kill()
	time.Sleep(200 * time.Millisecond) // the child retries; its buffers fill
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-waited
	returned := int(progress.Load())
	r.start()

	// The application again, with the same spool.
	s := New(r.relpAddr, WithFormat(Raw))
	w := core.New(core.WithSink(s), core.WithSpool(plan.Spool), core.WithBufferSize(256<<10))
	ws := w.Stats()
	require.NoError(t, w.Close())
	require.NoError(t, s.Close())
	records := make(map[[2]int][]byte, returned+100_000)
	for i := range returned + 100_000 {
		records[[2]int{0, i}] = bytes.TrimSuffix(testRecord(0, i, 200), []byte("\n"))
	}
	r.waitLines(returned)
	time.Sleep(50 * time.Millisecond)
	lines := r.lines()
	c := check(t, lines, false, records)
	seen := map[int]bool{}
	for _, l := range lines {
		if _, seq, ok := recordKey(l); ok {
			seen[seq] = true
		}
	}
	missing := 0
	for i := range returned {
		if !seen[i] {
			missing++
		}
	}
	t.Logf("%d Writes returned; %d lines, %d duplicates; recovered %d records (%d repeated); %d notices; sink %v",
		returned, len(lines), c.duplicates, ws.RecoveredRecords, ws.RepeatedRecords, len(c.notices), s.Stats())
	assert.Zero(t, missing, "records whose Write returned, missing")
	assert.Greater(t, ws.RecoveredRecords, uint64(0), "nothing recovered from the spool")
}
