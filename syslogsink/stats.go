package syslogsink

import (
	"fmt"
	"sync/atomic"
)

// Stats are a Sink's counters since New.
type Stats struct {
	// Sent is how many records were written to a connection, each time
	// it was written: resent records count again.
	Sent uint64
	// Acknowledged is how many RELP records the collector acknowledged
	// (200 OK). Over TCP it stays 0.
	Acknowledged uint64
	// Resent is how many RELP records were sent again on a new connection
	// because the one they were in flight on broke, or the collector
	// refused them (Naks): each may be a duplicate in the collector's
	// output, none is lost.
	Resent uint64
	// Naks is how many RELP records the collector answered with an error.
	Naks uint64
	// Rejected is how many records were not sent because their message
	// was longer than WithMaxMessageSize.
	Rejected uint64
	// Unconfirmed is, over TCP, how many records were written on a
	// connection that then broke, recently enough before the break to be
	// still in the kernels' socket buffers: an upper bound of those the
	// break lost. Over RELP it stays 0.
	Unconfirmed uint64
	// Dials is how many connections the Sink tried to open, and
	// DialErrors how many of those attempts failed (dial, TLS handshake,
	// or RELP's open).
	Dials, DialErrors uint64
	// Reconnects is how many connections were opened after the first.
	Reconnects uint64
}

// String returns the counters on one line.
func (s Stats) String() string {
	return fmt.Sprintf("sent=%d acknowledged=%d resent=%d naks=%d rejected=%d unconfirmed=%d dials=%d dial_errors=%d reconnects=%d",
		s.Sent, s.Acknowledged, s.Resent, s.Naks, s.Rejected, s.Unconfirmed, s.Dials, s.DialErrors, s.Reconnects)
}

type counters struct {
	sent, acked, resent, naks, rejected, unconfirmed atomic.Uint64
	dials, dialErrors, reconnects                    atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Sent:         c.sent.Load(),
		Acknowledged: c.acked.Load(),
		Resent:       c.resent.Load(),
		Naks:         c.naks.Load(),
		Rejected:     c.rejected.Load(),
		Unconfirmed:  c.unconfirmed.Load(),
		Dials:        c.dials.Load(),
		DialErrors:   c.dialErrors.Load(),
		Reconnects:   c.reconnects.Load(),
	}
}
