package otlpsink

import "sync/atomic"

// Stats are a Sink's counters since New. Every record handed to the sink
// ends in exactly one of Accepted, Rejected, Lost and Unrepresentable,
// unless Close stopped its retries (then the core counts it lost or, with
// a spool, sends it again after a restart).
type Stats struct {
	// Sent counts the records the sink began to send: each once, however
	// often its request was retried or split.
	Sent uint64
	// Accepted counts the records the collector took: in requests it
	// answered with 2xx, less those it rejected.
	Accepted uint64
	// Rejected counts the records the collector refused in a partial
	// success (a 2xx answer naming rejected records). They are reported
	// with the collector's message and never sent again.
	Rejected uint64
	// Lost counts the records of requests the collector refused for good:
	// a status other than 2xx that is not worth retrying (400, 401, 403,
	// 404 …), or 413 for a request of one record.
	Lost uint64
	// Unrepresentable counts the records dropped before sending because
	// their encoding alone is longer than the request limit
	// (WithMaxRequestSize).
	Unrepresentable uint64
	// Requests counts the HTTP requests made, tries included.
	Requests uint64
	// Retries counts the requests made again after a connection error, a
	// timeout or a status worth retrying (429, 502, 503, 504).
	Retries uint64
	// Splits counts the requests split in halves after a 413.
	Splits uint64
}

type stats struct {
	sent, accepted, rejected, lost, unrepresentable atomic.Uint64
	requests, retries, splits                       atomic.Uint64
}

func (s *stats) load() Stats {
	return Stats{
		Sent:            s.sent.Load(),
		Accepted:        s.accepted.Load(),
		Rejected:        s.rejected.Load(),
		Lost:            s.lost.Load(),
		Unrepresentable: s.unrepresentable.Load(),
		Requests:        s.requests.Load(),
		Retries:         s.retries.Load(),
		Splits:          s.splits.Load(),
	}
}
