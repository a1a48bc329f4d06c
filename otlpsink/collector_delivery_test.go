//go:build unix

package otlpsink

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

// probeSink tells whether the core hands a RecordWriter its records with
// their boundaries.
type probeSink struct{ records, writes atomic.Int32 }

func (p *probeSink) Write(b []byte) (int, error)          { p.writes.Add(1); return len(b), nil }
func (p *probeSink) WriteRecords(r [][]byte) (int, error) { p.records.Add(1); return len(r), nil }
func (p *probeSink) seen() (records, writes int32)        { return p.records.Load(), p.writes.Load() }
func (p *probeSink) usedRecords() bool                    { r, w := p.seen(); return r > 0 && w == 0 }

var _ core.RecordWriter = (*probeSink)(nil)

// requireCoreRecords skips a test that needs the core to call
// WriteRecords, if this core does not yet.
func requireCoreRecords(t *testing.T) {
	t.Helper()
	p := &probeSink{}
	w := core.New(core.WithSink(p))
	_, err := w.Write([]byte("probe\n"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	if !p.usedRecords() {
		t.Skip("the core does not call core.RecordWriter's WriteRecords yet")
	}
}

// A tee keeps a copy of each record a logger writes, then passes it on.
type tee struct {
	to   interface{ Write([]byte) (int, error) }
	recs [][]byte
}

func (t *tee) Write(p []byte) (int, error) {
	t.recs = append(t.recs, append([]byte(nil), p...))
	return t.to.Write(p)
}

// requireLoggersArrived checks that each logger's records (logger g wrote
// logged[g]) arrived once, whole, in order, each mapped field by field.
func requireLoggersArrived(t *testing.T, c *collector, logged [][][]byte) {
	t.Helper()
	recs, services, torn := c.output()
	require.Zero(t, torn)
	next := make([]int, len(logged))
	for i, r := range recs {
		require.Equal(t, "otlpsink.test", services[i])
		g, ok1 := r.Attrs["g"].(int64)
		seq, ok2 := r.Attrs["seq"].(int64)
		require.True(t, ok1 && ok2, "a record that no logger wrote: %+v", r)
		require.Equal(t, next[g], int(seq), "logger %d: out of order or twice", g)
		requireMapped(t, loggerNames[g], logged[g][seq], r)
		next[g]++
	}
	for g := range logged {
		require.Equal(t, len(logged[g]), next[g], "records of %s that arrived", loggerNames[g])
	}
}

// TestCollectorLoggers: the four loggers' records, sent by WriteRecords,
// arrive at the real collector once each, every field of its type.
func TestCollectorLoggers(t *testing.T) {
	c := startCollector(t)
	s := New(c.url())
	defer s.Close()
	logged := make([][][]byte, len(loggerNames))
	for g, name := range loggerNames {
		var rec recorder
		log := newLogger(name, &rec)
		for seq := range 300 {
			log(g, seq)
		}
		for i := 0; i < len(rec.records); i += 64 {
			n, err := s.WriteRecords(rec.records[i:min(i+64, len(rec.records))])
			require.NoError(t, err)
			require.Equal(t, min(64, len(rec.records)-i), n)
		}
		logged[g] = rec.records
	}
	requireLoggersArrived(t, c, logged)
	require.Equal(t, uint64(1200), s.Stats().Accepted)
}

// TestCollectorThroughCore: four goroutines, each logging with one of zap,
// zerolog, logrus and slog through one core.Writer: every record arrives
// at the real collector once, in its goroutine's order, with its time,
// severity, body and every field as an attribute of its type.
func TestCollectorThroughCore(t *testing.T) {
	requireCoreRecords(t)
	c := startCollector(t)
	s := New(c.url())
	var errs errorLog
	w := core.New(core.WithSink(s), core.WithErrorHandler(errs.add), core.WithSyncTimeout(time.Minute))
	const perLogger = 2000
	logged := make([][][]byte, len(loggerNames))
	var wg sync.WaitGroup
	for g, name := range loggerNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tw := &tee{to: w}
			log := newLogger(name, tw)
			for seq := range perLogger {
				log(g, seq)
			}
			logged[g] = tw.recs
		}()
	}
	wg.Wait()
	require.NoError(t, w.Close())
	require.NoError(t, s.Close())
	require.Empty(t, errs.all())
	requireLoggersArrived(t, c, logged)
	st := s.Stats()
	require.Equal(t, uint64(4*perLogger), st.Accepted)
	require.Equal(t, uint64(4*perLogger), w.Stats().WrittenRecords)
}

// A pipe is what the delivery tests write records into: a core.Writer
// over the Sink, or, while the core does not call WriteRecords, batches
// handed to WriteRecords directly.
type pipe interface {
	Write([]byte) (int, error)
	Close() error
}

type batcher struct {
	mu    sync.Mutex
	s     *Sink
	batch [][]byte
	errs  *errorLog
}

func (b *batcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batch = append(b.batch, append([]byte(nil), p...))
	if len(b.batch) == 512 {
		b.flush()
	}
	return len(p), nil
}

func (b *batcher) flush() {
	if n, err := b.s.WriteRecords(b.batch); err != nil || n != len(b.batch) {
		b.errs.add(fmt.Errorf("%d of %d records: %w", n, len(b.batch), err))
	}
	b.batch = b.batch[:0]
}

func (b *batcher) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flush()
	return nil
}

func newPipe(t *testing.T, s *Sink, errs *errorLog, opts ...core.Option) (p pipe, viaCore bool) {
	probe := &probeSink{}
	w := core.New(core.WithSink(probe))
	_, _ = w.Write([]byte("probe\n"))
	require.NoError(t, w.Close())
	if !probe.usedRecords() {
		t.Log("the core does not call WriteRecords yet: the records go to the sink in batches of 512, by WriteRecords")
		return &batcher{s: s, errs: errs}, false
	}
	return core.New(append([]core.Option{core.WithSink(s), core.WithErrorHandler(errs.add), core.WithSyncTimeout(2 * time.Minute)}, opts...)...), true
}

// TestCollectorKilledAndRestarted: 200,000 records from 4 goroutines while
// the collector is SIGKILLed and restarted 3 times: none missing;
// duplicates (records in a request the collector wrote but did not
// answer) counted.
func TestCollectorKilledAndRestarted(t *testing.T) {
	c := startCollector(t)
	s := New(c.url(), WithBackoff(10*time.Millisecond, 200*time.Millisecond))
	var errs errorLog
	p, viaCore := newPipe(t, s, &errs)
	const goroutines, perG = 4, 50000
	var written atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range perG {
				rec := fmt.Appendf(nil, `{"level":"info","msg":"record","g":%d,"seq":%d}`+"\n", g, seq)
				if _, err := p.Write(rec); err != nil {
					errs.add(err)
					return
				}
				written.Add(1)
			}
		}()
	}
	for kill := 1; kill <= 3; kill++ {
		for written.Load() < int64(kill*goroutines*perG/4) {
			time.Sleep(time.Millisecond)
		}
		c.kill()
		time.Sleep(300 * time.Millisecond) // connections refused meanwhile
		c.start()
	}
	wg.Wait()
	require.NoError(t, p.Close())
	require.NoError(t, s.Close())
	recs, _, torn := c.output()
	tl := tally{}
	others := tl.count(recs)
	missing, dups, first := tl.check([]int{perG, perG, perG, perG})
	st := s.Stats()
	t.Logf("via core: %v; %d records, %d missing, %d duplicates, %d torn lines, %d other records; sink %+v", viaCore, goroutines*perG, missing, dups, torn, len(others), st)
	require.Zero(t, missing, "first missing: %s", first)
	require.Empty(t, errs.all())
	require.Positive(t, st.Retries, "the kills made requests fail")
}

// TestCollectorStopped: the collector stopped (SIGSTOP) for 3 s. Under
// Drop, callers never wait for it: no Write takes anywhere near the
// stop, and every record is either delivered or counted dropped. Under
// Block, nothing is lost.
func TestCollectorStopped(t *testing.T) {
	requireCoreRecords(t)
	for _, policy := range []core.Overflow{core.Drop, core.Block} {
		t.Run(policy.String(), func(t *testing.T) {
			c := startCollector(t)
			s := New(c.url())
			var errs errorLog
			w := core.New(core.WithSink(s), core.WithOverflow(policy), core.WithBufferSize(256<<10),
				core.WithErrorHandler(errs.add), core.WithSyncTimeout(time.Minute))
			const goroutines = 4
			var written atomic.Int64
			var stop atomic.Bool
			counts := make([]int, goroutines)
			slowest := make([]time.Duration, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seq := 0; !stop.Load() && (policy == core.Drop || seq < 30000); seq++ {
						rec := fmt.Appendf(nil, `{"level":"info","msg":"record","g":%d,"seq":%d}`+"\n", g, seq)
						start := time.Now()
						_, err := w.Write(rec)
						slowest[g] = max(slowest[g], time.Since(start))
						if !assert.NoError(t, err) {
							return
						}
						counts[g] = seq + 1
						written.Add(1)
						if policy == core.Drop {
							time.Sleep(20 * time.Microsecond) // about the rate the collector takes
						}
					}
				}()
			}
			for written.Load() < 2000 {
				time.Sleep(time.Millisecond)
			}
			c.signal(syscall.SIGSTOP)
			time.Sleep(3 * time.Second)
			c.signal(syscall.SIGCONT)
			if policy == core.Drop {
				time.Sleep(500 * time.Millisecond)
				stop.Store(true)
			}
			wg.Wait()
			require.NoError(t, w.Close())
			require.NoError(t, s.Close())

			recs, _, torn := c.output()
			require.Zero(t, torn)
			tl := tally{}
			tl.count(recs)
			missing, dups, first := tl.check(counts)
			wst := w.Stats()
			t.Logf("%d records written, %d missing, %d duplicates, core dropped %d, waits %d, slowest Write per goroutine %v; sink %+v",
				written.Load(), missing, dups, wst.DroppedRecords, wst.Waits, slowest, s.Stats())
			require.Zero(t, wst.LostRecords)
			if policy == core.Block {
				require.Zero(t, missing, "first missing: %s", first)
				require.Empty(t, errs.all())
				require.Positive(t, wst.Waits, "the stop made callers wait")
				return
			}
			require.Positive(t, wst.DroppedRecords, "the stop made the buffers fill")
			require.Equal(t, int(wst.DroppedRecords), missing, "every record missing was counted dropped")
			for _, d := range slowest {
				require.Less(t, d, time.Second, "a Drop caller waited on the stopped collector (stopped 3 s)")
			}
			for _, err := range errs.all() {
				require.ErrorIs(t, err, core.ErrDropped)
			}
		})
	}
}

// spoolChildEnv holds, in the environment of a child run of the test
// binary, "url spool progress": the child logs into a Writer over a Sink
// to url with that spool, until it is killed, and stores how many of its
// Writes have returned in the file progress, which the parent maps too.
const spoolChildEnv = "OTLPSINK_SPOOL_CHILD"

// TestAppKilledWithSpool: the application SIGKILLed while it logs with a
// spool and the collector is down. After both start again, a new Writer
// on the spool sends what the dead one had not delivered: every record
// whose Write had returned is in the collector's output.
func TestAppKilledWithSpool(t *testing.T) {
	if env := os.Getenv(spoolChildEnv); env != "" {
		spoolChild(env)
		return
	}
	requireCoreRecords(t)
	c := startCollector(t)
	dir := t.TempDir()
	spool := filepath.Join(dir, "app.spool")
	progressPath := filepath.Join(dir, "progress")
	require.NoError(t, os.WriteFile(progressPath, make([]byte, 8), 0o600))
	pf, err := os.OpenFile(progressPath, os.O_RDWR, 0)
	require.NoError(t, err)
	defer pf.Close()
	mem, err := syscall.Mmap(int(pf.Fd()), 0, 8, syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	progress := func() uint64 { return atomic.LoadUint64((*uint64)(unsafePointer(mem))) }

	child := exec.Command(os.Args[0], "-test.run=^TestAppKilledWithSpool$")
	child.Env = append(os.Environ(), spoolChildEnv+"="+c.url()+" "+spool+" "+progressPath)
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, child.Start())
	killed := false
	defer func() {
		if !killed {
			_ = syscall.Kill(-child.Process.Pid, syscall.SIGKILL)
			_ = child.Wait()
		}
	}()
	waitFor := func(n uint64) {
		deadline := time.Now().Add(time.Minute)
		for progress() < n {
			require.True(t, time.Now().Before(deadline), "the child logged %d records, not %d", progress(), n)
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(20000)
	c.kill() // the collector goes down; the child goes on logging
	before := progress()
	// The child goes on until its buffers are full (they do not grow while
	// the sink retries), and then its Writes wait: kill it then.
	// (It may be waiting already: flat out, the buffer it logs into can be
	// full when the collector goes down.)
	for last, deadline := progress(), time.Now().Add(10*time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		if p := progress(); p == last {
			break // the child waits for room
		} else {
			last = p
		}
	}
	require.NoError(t, syscall.Kill(-child.Process.Pid, syscall.SIGKILL))
	_ = child.Wait()
	killed = true
	returned := progress()

	c.start()
	s := New(c.url())
	var errs errorLog
	w := core.New(core.WithSink(s), core.WithSpool(spool), core.WithBufferSize(1<<20), core.WithErrorHandler(errs.add), core.WithSyncTimeout(time.Minute))
	wst := w.Stats()
	require.NoError(t, w.Close())
	require.NoError(t, s.Close())
	require.Empty(t, errs.all())

	recs, _, torn := c.output()
	tl := tally{}
	tl.count(recs)
	missing, dups, first := tl.check([]int{int(returned)})
	t.Logf("%d Writes returned (%d after the collector went down), %d missing, %d duplicates, %d torn lines; recovered %d records (%d repeated, %d torn)",
		returned, returned-before, missing, dups, torn, wst.RecoveredRecords, wst.RepeatedRecords, wst.TornRecords)
	require.Zero(t, missing, "first missing: %s", first)
	require.Positive(t, wst.RecoveredRecords)
}

func spoolChild(env string) {
	var url, spool, progressPath string
	if _, err := fmt.Sscan(env, &url, &spool, &progressPath); err != nil {
		panic(err)
	}
	pf, err := os.OpenFile(progressPath, os.O_RDWR, 0)
	if err != nil {
		panic(err)
	}
	mem, err := syscall.Mmap(int(pf.Fd()), 0, 8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		panic(err)
	}
	s := New(url, WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	w := core.New(core.WithSink(s), core.WithSpool(spool), core.WithBufferSize(1<<20))
	for seq := 0; ; seq++ {
		rec := strconv.AppendInt([]byte(`{"level":"info","msg":"record","g":0,"seq":`), int64(seq), 10)
		if _, err := w.Write(append(rec, "}\n"...)); err != nil {
			panic(errors.Join(errors.New("child"), err))
		}
		atomic.StoreUint64((*uint64)(unsafePointer(mem)), uint64(seq+1))
	}
}
