package syslogsink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynclog/asynclog/internal/backoff"
)

// ErrClosed is returned by WriteRecords and Write once Close was called,
// wrapped in an error that says how many records were not delivered.
var ErrClosed = errors.New("syslogsink: sink closed")

// ErrTooLong is wrapped by the error that reports a record whose message
// is longer than WithMaxMessageSize: it gives the record's length, the
// message's and the limit.
var ErrTooLong = errors.New("record too long for the collector")

// closeGrace is how long Close lets a WriteRecords call under way finish
// before it breaks its connection.
const closeGrace = time.Second

// readBuffer is the size of the buffer RELP answers are read into: room
// for a window of them, so that one read(2) takes all that have come.
const readBuffer = 32 << 10

// flushBytes is about how many bytes of frames the Sink gathers before it
// writes them to the connection.
const flushBytes = 64 << 10

// A Sink sends records to a syslog collector, one record a message, over
// RELP (acknowledged) or TCP (RFC 6587 octet counting), with or without
// TLS. It is a core.RecordWriter, so a core.Writer built on it hands it
// its records with their boundaries, and an io.Writer that takes one
// record a call.
//
// A Sink connects when it has something to send, and reconnects, with
// backoff, whenever a connection fails: WriteRecords and Write return
// only when their records are delivered (acknowledged, for RELP; written
// to the connection, for TCP) or the Sink is closed. Behind a core.Writer
// that makes the buffers fill while the collector is down, and the
// Writer's Overflow policy decide what callers do.
//
// A Sink has one connection, used by one call at a time: calls from
// several goroutines take turns. Close stops the retries.
type Sink struct {
	addr string
	cfg  config

	turn      chan struct{} // holds a token while a call owns the connection
	done      chan struct{} // closed by Close
	halt      atomic.Bool   // set when Close interrupts the call under way
	ctx       context.Context
	cancel    context.CancelFunc // cancels ctx, the dial's, when Close interrupts the call
	closeOnce sync.Once
	closeErr  error

	// Owned by the call holding turn.
	conn      net.Conn
	tcp       net.Conn        // the TCP connection under conn (the same without TLS)
	raw       syscall.RawConn // tcp's, for socket options
	r         *bufio.Reader
	failing   bool // the last attempt failed or the last connection broke: back off before the next
	connected bool // a connection was ever opened
	closed    bool
	lastErr   error
	bo        backoff.Backoff
	out       []byte     // frames to write
	msg       []byte     // one formatted message
	one       [1][]byte  // Write's record
	relp      relpState  // RELP's transaction numbers and records in flight
	recent    recentSpan // TCP: records written lately on the connection
	ends      []int      // TCP: where each record of a write ends in out
	tooLong   error      // the first record rejected in this call
	rejected  int        // records rejected in this call
	judged    int        // records of this call whose rejection was counted, from the start
	hdr       Header

	liveMu   sync.Mutex
	liveConn net.Conn // the connection, for Close to interrupt a call

	stats counters
}

// New returns a Sink that sends to addr, a host:port, with the options
// opts. It never fails and does not connect: the first record does.
func New(addr string, opts ...Option) *Sink {
	cfg := newConfig(opts)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sink{
		addr:   addr,
		cfg:    cfg,
		turn:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
		bo:     backoff.Backoff{Min: cfg.minBackoff, Max: cfg.maxBackoff},
		out:    make([]byte, 0, flushBytes+cfg.maxMessage+32),
		msg:    make([]byte, 0, cfg.maxMessage+64),
		hdr: Header{
			Facility: cfg.facility,
			Hostname: cfg.hostname,
			AppName:  cfg.appName,
			ProcID:   cfg.procID,
		},
	}
	s.relp.init(cfg.window)
	return s
}

// WriteRecords sends records, each one message, and returns how many of
// them, from the start, were delivered: all of them, unless the Sink is
// closed before (then the error wraps ErrClosed and the last connection
// error). A record too long for WithMaxMessageSize is not sent and is
// counted in Stats.Rejected; the others are, and the call then returns
// len(records) with an error that wraps ErrTooLong. A record's final
// newline is not sent: the frame delimits it.
//
// It implements core.RecordWriter. The records are not used after it
// returns.
func (s *Sink) WriteRecords(records [][]byte) (int, error) {
	if !s.take() {
		return 0, fmt.Errorf("syslogsink: %d records not sent to %s: %w", len(records), s.addr, ErrClosed)
	}
	defer s.give()
	return s.deliver(records)
}

// Write sends p as one record, as WriteRecords does: it returns len(p)
// once p was delivered.
func (s *Sink) Write(p []byte) (int, error) {
	if !s.take() {
		return 0, fmt.Errorf("syslogsink: a record not sent to %s: %w", s.addr, ErrClosed)
	}
	defer s.give()
	s.one[0] = p
	n, err := s.deliver(s.one[:])
	s.one[0] = nil
	if n == 1 && s.rejected == 0 {
		return len(p), err
	}
	return 0, err
}

// Close stops the Sink: it lets a call under way finish for up to a
// second, then breaks its connection, or cancels its dial and TLS
// handshake, which makes that call return with what it has delivered
// (the rest as not delivered, with an error that wraps ErrClosed); it
// ends a RELP session with its close command, and closes the connection.
// Calls after Close return an error that wraps ErrClosed. It is idempotent and safe to call from any goroutine.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		t := time.NewTimer(closeGrace)
		select {
		case s.turn <- struct{}{}:
		case <-t.C:
			s.interrupt()
			s.turn <- struct{}{}
		}
		t.Stop()
		// The call returned: the connection, if it is left, may end its
		// session.
		s.halt.Store(false)
		s.closed = true
		if s.conn != nil {
			if s.cfg.protocol == RELP {
				s.closeErr = s.relpClose()
			}
			s.dropConn()
		}
		s.cancel()
		<-s.turn
	})
	return s.closeErr
}

// Stats returns the Sink's counters. It is safe to call from any
// goroutine.
func (s *Sink) Stats() Stats { return s.stats.snapshot() }

// take waits for the connection to be free; it reports false if the Sink
// was closed.
func (s *Sink) take() bool {
	select {
	case s.turn <- struct{}{}:
	case <-s.done:
		return false
	}
	if s.closed {
		<-s.turn
		return false
	}
	return true
}

func (s *Sink) give() { <-s.turn }

// closedError says that the Sink was closed with records left. The
// caller holds the turn.
func (s *Sink) closedError(n, total int) error {
	if s.lastErr != nil {
		return fmt.Errorf("syslogsink: %d of %d records not delivered to %s: %w (last error: %w)",
			total-n, total, s.addr, ErrClosed, s.lastErr)
	}
	return fmt.Errorf("syslogsink: %d of %d records not delivered to %s: %w", total-n, total, s.addr, ErrClosed)
}

// deliver sends records by the Sink's protocol.
func (s *Sink) deliver(records [][]byte) (int, error) {
	s.tooLong, s.rejected, s.judged = nil, 0, 0
	var n int
	var err error
	if s.cfg.protocol == RELP {
		n, err = s.deliverRELP(records)
	} else {
		n, err = s.deliverTCP(records)
	}
	if err == nil && s.tooLong != nil {
		err = s.tooLong
	}
	return n, err
}

// message formats record, the call's record idx, as the message the Sink
// sends, into s.msg, and reports whether it fits the limit; if not, it
// counts and remembers the rejection, once: a record formatted again, to
// be sent again after a broken connection, is not counted again.
func (s *Sink) message(idx int, record []byte, now time.Time) ([]byte, bool) {
	if n := len(record); n > 0 && record[n-1] == '\n' {
		record = record[:n-1]
	}
	if s.cfg.format == Raw {
		s.msg = append(s.msg[:0], record...)
	} else {
		h := s.hdr
		h.Severity = severityOf(record)
		h.Timestamp = now
		s.msg = AppendRFC5424(s.msg[:0], h, record)
	}
	if len(s.msg) > s.cfg.maxMessage {
		if idx < s.judged {
			return nil, false
		}
		s.judged = idx + 1
		s.stats.rejected.Add(1)
		s.rejected++
		if s.tooLong == nil {
			s.tooLong = fmt.Errorf("syslogsink: a record of %d bytes, a message of %d, over the limit of %d bytes (WithMaxMessageSize): not sent: %w",
				len(record), len(s.msg), s.cfg.maxMessage, ErrTooLong)
		}
		return nil, false
	}
	return s.msg, true
}

// connect opens a connection, after the backoff wait if the last attempt
// failed: dial, TLS handshake, RELP open. It returns ErrClosed once the
// Sink is closed.
func (s *Sink) connect() error {
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	if s.failing {
		t := time.NewTimer(s.bo.Next())
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return ErrClosed
		}
	}
	s.stats.dials.Add(1)
	conn, err := s.dial()
	if err == nil && s.cfg.protocol == RELP {
		s.setConn(conn)
		err = s.relpOpen()
		if err != nil {
			s.dropConn()
		}
	}
	if err != nil {
		s.stats.dialErrors.Add(1)
		s.fail(err)
		return err
	}
	if s.conn == nil {
		s.setConn(conn)
	}
	if s.connected {
		s.stats.reconnects.Add(1)
	}
	s.connected = true
	return nil
}

// setConn makes conn the Sink's connection.
func (s *Sink) setConn(conn net.Conn) {
	s.conn = conn
	s.raw = rawConn(s.tcp)
	if s.r == nil {
		s.r = bufio.NewReaderSize(conn, readBuffer)
	} else {
		s.r.Reset(conn)
	}
	s.liveMu.Lock()
	s.liveConn = conn
	s.liveMu.Unlock()
}

// dropConn closes the connection.
func (s *Sink) dropConn() {
	if s.conn == nil {
		return
	}
	s.liveMu.Lock()
	s.liveConn = nil
	s.liveMu.Unlock()
	s.conn.Close()
	s.conn = nil
}

// broken closes a connection that failed with err.
func (s *Sink) broken(err error) {
	s.dropConn()
	s.fail(err)
}

// fail records err, reports it, and makes the next attempt wait.
func (s *Sink) fail(err error) {
	s.failing = true
	s.lastErr = err
	if s.cfg.errorHandler != nil {
		s.cfg.errorHandler(err)
	}
}

// succeeded resets the backoff: the collector takes records.
func (s *Sink) succeeded() {
	if s.failing {
		s.failing = false
		s.bo.Reset()
	}
}

// errInterrupted is the error of the I/O Close interrupted.
var errInterrupted = fmt.Errorf("interrupted: %w", ErrClosed)

// interrupt makes the I/O of the call under way fail at once, and every
// I/O it would start after: a dial or TLS handshake is cancelled, and
// write and readFrame, which set their own deadlines, fail once halt is
// set.
func (s *Sink) interrupt() {
	s.liveMu.Lock()
	s.halt.Store(true)
	s.cancel()
	if s.liveConn != nil {
		s.liveConn.SetDeadline(time.Unix(1, 0))
	}
	s.liveMu.Unlock()
}

// write writes b to the connection, with the write deadline.
func (s *Sink) write(b []byte) (int, error) {
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.cfg.timeout)); err != nil {
		return 0, err
	}
	// After the deadline: an interrupt that comes later sets its own.
	if s.halt.Load() {
		return 0, fmt.Errorf("syslogsink: writing to %s: %w", s.addr, errInterrupted)
	}
	n, err := s.conn.Write(b)
	if err != nil {
		err = fmt.Errorf("syslogsink: writing to %s: %w", s.addr, err)
	}
	return n, err
}
