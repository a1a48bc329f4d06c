package syslogsink

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// RELP, as librelp's doc/relp.md specifies it and rsyslog's imrelp speaks
// it. Every message, both ways, is a frame:
//
//	TXNR SP COMMAND SP DATALEN [SP DATA] LF
//
// The client numbers its commands 1, 2, 3 ... (wrapping after
// 999,999,999 to 1) and opens a session with "open", offering its version
// and the commands it will use; the server answers each command with a
// "rsp" frame of the same TXNR whose DATA starts with a status code, 200
// for success, in the order of the commands. The client may send commands
// without waiting for their answers, up to a window. A broken connection
// means every command not yet answered failed; the server may announce
// that it closes with a "serverclose" frame of TXNR 0.
//
// The Sink sends each record as a "syslog" command, marks it in flight
// before it writes it, and takes it out when its 200 answer comes back.
// A refused record (any other code), an answer out of order, bytes the
// server sent before the command they would answer, or a broken
// connection closes the connection, and every record still in flight is
// sent again on the next one.

// relpOffer is the DATA of the open command.
const relpOffer = "relp_version=0\nrelp_software=asynclog\ncommands=syslog"

// maxTxnr is the highest RELP transaction number.
const maxTxnr = 999_999_999

// maxResponse bounds the DATA of a frame the server sends.
const maxResponse = 64 << 10

// relpState is the client side of one RELP session: the transaction
// numbers and the records in flight, oldest first.
type relpState struct {
	txnr   uint32       // the last number used
	ring   []relpFlight // capacity: the window
	head   int          // index in ring of the oldest
	count  int          // records in flight
	data   []byte       // DATA of the last frame read
	cmd    [16]byte
	cmdLen int
}

// A relpFlight is a record in flight: its transaction number and its
// index in the records of the call.
type relpFlight struct {
	txnr uint32
	idx  int
}

func (r *relpState) init(window int) {
	r.ring = make([]relpFlight, window)
	r.data = make([]byte, 0, 512)
}

// newSession restarts the numbers for a new connection; the records in
// flight stay, to be sent again.
func (r *relpState) newSession() { r.txnr = 0 }

func (r *relpState) nextTxnr() uint32 {
	r.txnr++
	if r.txnr > maxTxnr {
		r.txnr = 1
	}
	return r.txnr
}

// push marks record idx in flight and returns its transaction number.
func (r *relpState) push(idx int) uint32 {
	t := r.nextTxnr()
	r.ring[(r.head+r.count)%len(r.ring)] = relpFlight{txnr: t, idx: idx}
	r.count++
	return t
}

func (r *relpState) oldest() relpFlight { return r.ring[r.head] }

func (r *relpState) pop() {
	r.head = (r.head + 1) % len(r.ring)
	r.count--
}

func (r *relpState) clear() { r.head, r.count = 0, 0 }

// full reports whether the window is full.
func (r *relpState) full() bool { return r.count == len(r.ring) }

// appendFrame appends a RELP frame to dst.
func appendFrame(dst []byte, txnr uint32, cmd string, data []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(txnr), 10)
	dst = append(dst, ' ')
	dst = append(dst, cmd...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	if len(data) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, data...)
	}
	return append(dst, '\n')
}

// deliverRELP sends records over RELP, and returns when the collector
// acknowledged all of them, or when the Sink is closed.
func (s *Sink) deliverRELP(records [][]byte) (int, error) {
	now := time.Now()
	r := &s.relp
	next := 0 // the next record to write
	for {
		if s.conn == nil {
			if err := s.connect(); err != nil {
				if errors.Is(err, ErrClosed) {
					first := next
					if r.count > 0 {
						first = r.oldest().idx
					}
					r.clear()
					return first, s.closedError(first, len(records))
				}
				continue
			}
			if r.count > 0 {
				next = r.oldest().idx
				s.stats.resent.Add(uint64(r.count))
				r.clear()
			}
		}
		s.out = s.out[:0]
		sent := 0
		for next < len(records) && !r.full() && len(s.out) < flushBytes {
			msg, ok := s.message(next, records[next], now)
			if !ok {
				next++
				continue
			}
			// In flight before it is written: if the write fails, the
			// record is sent again on the next connection.
			t := r.push(next)
			s.out = appendFrame(s.out, t, "syslog", msg)
			next++
			sent++
		}
		if len(s.out) > 0 {
			s.stats.sent.Add(uint64(sent))
			if _, err := s.write(s.out); err != nil {
				s.broken(err)
				continue
			}
			if next < len(records) && !r.full() {
				continue
			}
		}
		if r.count == 0 {
			if next == len(records) {
				return len(records), nil
			}
			continue
		}
		// Wait for answers until half the window is free, so that the
		// next write carries many records, not one or two.
		for {
			if err := s.readAcks(); err != nil {
				s.broken(err)
				break
			}
			if r.count <= len(r.ring)/2 || next == len(records) {
				break
			}
		}
	}
}

// With many records in flight, the Sink lets their answers gather for
// ackPause before it reads: rsyslog sends each answer as a segment of its
// own, and reading them as they come costs a wakeup and a read(2) each,
// about as much CPU as the collector spends on the record. With at least
// ackPauseMin records in flight, the collector still has work for the
// pause unless it takes over 600,000 records/s.
const (
	ackPause    = 200 * time.Microsecond
	ackPauseMin = 128
)

// readAcks waits for the answer to the oldest record in flight, then
// takes the answers already read.
func (s *Sink) readAcks() error {
	r := &s.relp
	for {
		if r.count >= ackPauseMin && s.r.Buffered() == 0 {
			// Our kernel acknowledges the answers at once meanwhile:
			// librelp holds each until the last is acknowledged.
			quickAck(s.raw)
			time.Sleep(ackPause)
		}
		txnr, code, err := s.readResponse()
		if err != nil {
			return err
		}
		if want := r.oldest().txnr; txnr != want {
			return fmt.Errorf("syslogsink: RELP from %s: an answer to transaction %d while the oldest in flight is %d", s.addr, txnr, want)
		}
		if code != 200 {
			s.stats.naks.Add(1)
			return fmt.Errorf("syslogsink: RELP from %s: record refused: %q", s.addr, r.data)
		}
		r.pop()
		s.stats.acked.Add(1)
		s.succeeded()
		if r.count == 0 {
			if s.r.Buffered() > 0 {
				return s.earlyError()
			}
			return nil
		}
		if s.r.Buffered() == 0 {
			return nil
		}
	}
}

// readResponse reads a rsp frame and returns its TXNR and status code.
func (s *Sink) readResponse() (txnr uint32, code int, err error) {
	txnr, err = s.readFrame()
	if err != nil {
		return 0, 0, err
	}
	r := &s.relp
	cmd := r.cmd[:r.cmdLen]
	if string(cmd) != "rsp" {
		if string(cmd) == "serverclose" {
			return 0, 0, fmt.Errorf("syslogsink: RELP from %s: the collector closed the session", s.addr)
		}
		return 0, 0, fmt.Errorf("syslogsink: RELP from %s: unexpected command %q", s.addr, cmd)
	}
	d := r.data
	if len(d) < 3 || d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9' {
		return 0, 0, fmt.Errorf("syslogsink: RELP from %s: a response without a status code: %q", s.addr, d)
	}
	return txnr, int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0'), nil
}

// readFrame reads one frame into s.relp (its command and data) and
// returns its TXNR, within the timeout.
func (s *Sink) readFrame() (uint32, error) {
	if s.r.Buffered() == 0 {
		quickAck(s.raw)
		if err := s.conn.SetReadDeadline(time.Now().Add(s.cfg.timeout)); err != nil {
			return 0, err
		}
		if s.halt.Load() {
			return 0, s.readError(errInterrupted)
		}
	}
	r := &s.relp
	txnr, c, err := s.readNumber(maxTxnr)
	if err != nil {
		return 0, err
	}
	if c != ' ' {
		return 0, s.frameError("after the transaction number")
	}
	r.cmdLen = 0
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, s.readError(err)
		}
		if c == ' ' {
			break
		}
		if r.cmdLen == len(r.cmd) || c < 'a' || c > 'z' {
			return 0, s.frameError("in the command")
		}
		r.cmd[r.cmdLen] = c
		r.cmdLen++
	}
	n, c, err := s.readNumber(maxResponse)
	if err != nil {
		return 0, err
	}
	r.data = r.data[:0]
	if n > 0 {
		if c != ' ' {
			return 0, s.frameError("after the data length")
		}
		for len(r.data) < int(n) {
			if len(r.data) == cap(r.data) {
				r.data = append(r.data, 0)[:len(r.data)]
			}
			k, err := s.r.Read(r.data[len(r.data):min(cap(r.data), int(n))])
			r.data = r.data[:len(r.data)+k]
			if err != nil {
				return 0, s.readError(err)
			}
		}
		if c, err = s.r.ReadByte(); err != nil {
			return 0, s.readError(err)
		}
	}
	if c != '\n' {
		return 0, s.frameError("at the end of the frame")
	}
	return uint32(txnr), nil
}

// readNumber reads decimal digits up to limit and returns them with the
// byte after them.
func (s *Sink) readNumber(limit uint64) (uint64, byte, error) {
	var n uint64
	digits := 0
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, 0, s.readError(err)
		}
		if c < '0' || c > '9' {
			if digits == 0 {
				return 0, 0, s.frameError("where a number was due")
			}
			return n, c, nil
		}
		n = n*10 + uint64(c-'0')
		digits++
		if n > limit || digits > 10 {
			return 0, 0, s.frameError("in a number too large")
		}
	}
}

func (s *Sink) readError(err error) error {
	return fmt.Errorf("syslogsink: RELP: reading from %s: %w", s.addr, err)
}

func (s *Sink) frameError(where string) error {
	return fmt.Errorf("syslogsink: RELP from %s: a malformed frame: unexpected byte %s", s.addr, where)
}

// relpOpen opens the RELP session on a new connection.
func (s *Sink) relpOpen() error {
	s.relp.newSession()
	t := s.relp.nextTxnr()
	s.out = appendFrame(s.out[:0], t, "open", []byte(relpOffer))
	if _, err := s.write(s.out); err != nil {
		return err
	}
	txnr, code, err := s.readResponse()
	if err != nil {
		return err
	}
	if txnr != t || code != 200 {
		return fmt.Errorf("syslogsink: RELP: %s refused the session: %q", s.addr, s.relp.data)
	}
	if s.r.Buffered() > 0 {
		return s.earlyError()
	}
	return nil
}

// earlyError reports bytes the server sent while no command was waiting
// for an answer: they cannot answer a command not yet written, and taking
// them as its answer would count a record delivered that no answer
// followed.
func (s *Sink) earlyError() error {
	return fmt.Errorf("syslogsink: RELP from %s: %d bytes sent before the command they would answer", s.addr, s.r.Buffered())
}

// relpClose ends the RELP session: a close command, and its answer.
func (s *Sink) relpClose() error {
	if s.relp.count > 0 {
		return nil // a call broke off: the connection is closed as it is
	}
	t := s.relp.nextTxnr()
	s.out = appendFrame(s.out[:0], t, "close", nil)
	if _, err := s.write(s.out); err != nil {
		return err
	}
	// librelp answers "rsp 0", with no status: any answer will do.
	_, err := s.readFrame()
	return err
}
