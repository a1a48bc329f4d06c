//go:build linux || darwin || freebsd

package syslogsink

import (
	"bytes"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

var _ core.RecordWriter = (*Sink)(nil)

// TestRsyslogThroughCore: 4 goroutines log through a core.Writer whose
// sink is a Sink, over each protocol, with and without TLS: every record
// is in rsyslogd's file byte for byte, once, in each goroutine's order.
func TestRsyslogThroughCore(t *testing.T) {
	const goroutines, perG = 4, 5000
	for _, pc := range protocolCases {
		t.Run(pc.name, func(t *testing.T) {
			o := rsyslogdOptions{}
			opts := []Option{WithProtocol(pc.proto)}
			if pc.tls {
				o.pki = newTestPKI(t)
				opts = append(opts, WithTLS(o.pki.clientConfig()))
			}
			r := startRsyslogd(t, o)
			s := New(r.addr(pc.proto), opts...)
			w := core.New(core.WithSink(s), core.WithOverflow(core.Block), core.WithBufferSize(256<<10))
			records := map[[2]int][]byte{}
			for g := range goroutines {
				for i := range perG {
					records[[2]int{g, i}] = bytes.TrimSuffix(testRecord(g, i, 200), []byte("\n"))
				}
			}
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range perG {
						_, err := w.Write(testRecord(g, i, 200))
						assert.NoError(t, err)
					}
				})
			}
			wg.Wait()
			require.NoError(t, w.Close())
			require.NoError(t, s.Close())
			c := check(t, r.waitLines(len(records)), true, records)
			assert.Zero(t, c.missing, "missing")
			assert.Zero(t, c.duplicates, "duplicates")
			assert.Zero(t, c.outOfOrder, "out of order")
			ws := w.Stats()
			assert.EqualValues(t, goroutines*perG, ws.WrittenRecords)
			assert.Zero(t, ws.LostRecords+ws.DroppedRecords)
		})
	}
}

// TestRsyslogStopped: rsyslogd is stopped (SIGSTOP) for 3 s while a
// goroutine logs through a core.Writer to it over RELP. Under Block
// nothing is lost: every record arrives, once. Under Drop no Write waits
// for the collector: Writes keep returning while it is stopped, none
// takes a large part of the stop, and every record is either in the file
// or counted dropped.
func TestRsyslogStopped(t *testing.T) {
	for _, policy := range []core.Overflow{core.Block, core.Drop} {
		t.Run(policy.String(), func(t *testing.T) {
			r := startRsyslogd(t, rsyslogdOptions{})
			s := New(r.relpAddr, WithFormat(Raw))
			w := core.New(core.WithSink(s), core.WithOverflow(policy), core.WithBufferSize(64<<10),
				core.WithErrorHandler(func(error) {}))
			var stopped, resumed atomic.Int64 // unix nanos
			var duringStop, slowest atomic.Int64
			done := make(chan struct{})
			var sent atomic.Int64
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					if e := resumed.Load(); e != 0 && time.Now().UnixNano() > e+int64(500*time.Millisecond) {
						return
					}
					start := time.Now()
					_, err := w.Write(testRecord(0, i, 200))
					d := time.Since(start)
					if policy == core.Block {
						assert.NoError(t, err)
					}
					sent.Store(int64(i + 1))
					if st := stopped.Load(); st != 0 && resumed.Load() == 0 && start.UnixNano() > st {
						duringStop.Add(1)
						if int64(d) > slowest.Load() {
							slowest.Store(int64(d))
						}
					}
					if policy == core.Drop && i%64 == 0 {
						time.Sleep(50 * time.Microsecond) // a steady load, not a flood
					}
				}
			}()
			time.Sleep(300 * time.Millisecond)
			r.signal(syscall.SIGSTOP)
			stopped.Store(time.Now().UnixNano())
			time.Sleep(3 * time.Second)
			resumed.Store(time.Now().UnixNano())
			r.signal(syscall.SIGCONT)
			<-done
			require.NoError(t, w.Close())
			require.NoError(t, s.Close())
			n := int(sent.Load())
			records := make(map[[2]int][]byte, n)
			for i := range n {
				records[[2]int{0, i}] = bytes.TrimSuffix(testRecord(0, i, 200), []byte("\n"))
			}
			ws := w.Stats()
			r.waitLines(n - int(ws.DroppedRecords))
			time.Sleep(50 * time.Millisecond)
			lines := r.lines()
			c := check(t, lines, false, records)
			t.Logf("%d written, %d during the stop (slowest %v); %d dropped; %v", n, duringStop.Load(),
				time.Duration(slowest.Load()), ws.DroppedRecords, s.Stats())
			assert.Zero(t, c.duplicates)
			assert.Zero(t, c.outOfOrder)
			assert.Zero(t, ws.LostRecords)
			if policy == core.Block {
				assert.Zero(t, c.missing, "missing under Block")
				assert.Zero(t, ws.DroppedRecords)
			} else {
				assert.EqualValues(t, ws.DroppedRecords, c.missing, "missing records not counted dropped")
				assert.EqualValues(t, ws.DroppedRecords, c.noticed, "drops not all in the notices")
				assert.Greater(t, ws.DroppedRecords, uint64(0), "nothing dropped while the collector was stopped")
				assert.Greater(t, duringStop.Load(), int64(1000), "Writes did not go on while the collector was stopped")
				assert.Less(t, time.Duration(slowest.Load()), time.Second, "a Write waited for the stopped collector")
			}
		})
	}
}
