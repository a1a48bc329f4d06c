package syslogsink

import (
	"errors"
	"strconv"
	"time"
)

// Syslog over TCP with octet counting (RFC 6587, section 3.4.1): each
// message is sent as its length in decimal, a space, and the message:
//
//	LEN SP MSG
//
// Nothing comes back: a write that returned only says the kernel took
// the bytes. When the collector dies, what sat in the two kernels'
// socket buffers is lost, and the sender learns of it only at a later
// write. The Sink cannot tell which records those were; it counts, when a
// connection breaks, the records written on it recently enough to have
// been there (Stats.Unconfirmed), and sends again the records of the
// write that failed, which the collector never took whole (a frame cut
// short at the end of a stream is discarded by the collector).

// tcpSendBuffer is the send buffer the Sink asks for on a TCP connection;
// Linux doubles it.
const tcpSendBuffer = 256 << 10

// unconfirmedSpan is how many of the last bytes written on a connection
// may be lost when it breaks: the Sink's send buffer, and the collector's
// receive buffer, which Linux tunes up to 6 MiB by default
// (net.ipv4.tcp_rmem).
const unconfirmedSpan = 2*tcpSendBuffer + 6<<20

const spanBuckets = 64

// recentSpan counts the records written on a connection within its last
// unconfirmedSpan bytes, rounded up to a bucket of bytes.
type recentSpan struct {
	written int64
	cur     int64
	counts  [spanBuckets + 1]uint64
}

func (r *recentSpan) add(frameBytes int) {
	const bucket = unconfirmedSpan / spanBuckets
	r.written += int64(frameBytes)
	b := r.written / bucket
	for r.cur < b {
		r.cur++
		r.counts[r.cur%(spanBuckets+1)] = 0
		if b-r.cur > spanBuckets {
			r.cur = b - spanBuckets - 1
		}
	}
	r.counts[b%(spanBuckets+1)]++
}

func (r *recentSpan) total() uint64 {
	var n uint64
	for _, c := range r.counts {
		n += c
	}
	return n
}

func (r *recentSpan) reset() { *r = recentSpan{} }

// appendOctetFrame appends msg, octet counted, to dst.
func appendOctetFrame(dst []byte, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}

// deliverTCP writes records to the collector over TCP, and returns when
// all of them were written, or when the Sink is closed.
func (s *Sink) deliverTCP(records [][]byte) (int, error) {
	now := time.Now()
	next := 0
	for {
		if s.conn == nil {
			if err := s.connect(); err != nil {
				if errors.Is(err, ErrClosed) {
					return next, s.closedError(next, len(records))
				}
				continue
			}
			s.recent.reset()
		}
		if next == len(records) {
			return len(records), nil
		}
		start := next
		s.out = s.out[:0]
		s.ends = s.ends[:0]
		for next < len(records) && len(s.out) < flushBytes {
			if msg, ok := s.message(next, records[next], now); ok {
				s.out = appendOctetFrame(s.out, msg)
			}
			s.ends = append(s.ends, len(s.out))
			next++
		}
		n, err := s.write(s.out)
		// The records whose frames were written whole.
		whole := 0
		for whole < len(s.ends) && s.ends[whole] <= n {
			whole++
		}
		prev := 0
		for _, end := range s.ends[:whole] {
			if end > prev {
				s.recent.add(end - prev)
				s.stats.sent.Add(1)
			}
			prev = end
		}
		if err != nil {
			next = start + whole
			s.stats.unconfirmed.Add(s.recent.total())
			s.broken(err)
			continue
		}
		s.succeeded()
	}
}
