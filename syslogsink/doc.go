// Package syslogsink sends log records to a syslog collector (rsyslog,
// syslog-ng, Fluent Bit, Vector, Logstash, the OpenTelemetry collector's
// syslog receiver) over RELP or RFC 6587 TCP, with or without TLS. It
// depends on nothing outside the standard library.
//
// A Sink is the sink of a core.Writer: the callers of the Writer never
// wait for the network; the Writer's goroutine hands the Sink the records
// of each write, with their boundaries (core.RecordWriter), and the Sink
// sends each one as one message:
//
//	sink := syslogsink.New("logs.example.com:2514")
//	w := core.New(core.WithSink(sink), core.WithSpool("/var/lib/app/log.spool"))
//	defer sink.Close()
//	defer w.Close()
//
// # Protocols and what they guarantee
//
// RELP (the default) is rsyslog's Reliable Event Logging Protocol. Every
// record is a command the collector acknowledges; the Sink keeps a window
// of them in flight (WithWindow), and a record counts as delivered only
// once acknowledged. When a connection breaks, or the collector refuses a
// record, every record still in flight is sent again on the next
// connection: delivery is at least once, and the duplicates that a break
// may cause are counted (Stats.Resent; at most a window per break). With
// the core's spool, at least once holds across a crash of the process
// too: the spool moves past a record only once the Sink has returned it
// as delivered. What an acknowledgement means is the collector's to say:
// rsyslog's imrelp acknowledges a message once its ruleset's queue took
// it, so a ruleset with queue.type="Direct" makes an acknowledgement mean
// the actions (an omfile write, say) are done.
//
// TCP is syslog over TCP with octet counting (RFC 6587): nothing comes
// back, so a record is delivered once written to the connection. A record
// written on a connection that then breaks may be lost in the kernels'
// buffers: at most once. The Sink counts, at each break, the records
// written on the connection recently enough to be among those
// (Stats.Unconfirmed), so that no loss goes unseen; the records of the
// write that failed are sent again.
//
// WithTLS wraps either in TLS (RFC 5425 for TCP; RELP over TLS as
// rsyslog's imrelp speaks it, which asks for a client certificate). A
// handshake that fails, a certificate the Sink does not trust say, is a
// failed connection attempt with its error: nothing is ever sent in
// plaintext.
//
// # Failures and backoff
//
// A Sink connects on its first record and reconnects whenever a
// connection fails, waiting between attempts (WithBackoff: exponential,
// with random jitter, so that a fleet that lost its collector does not
// come back in step). Every dial, handshake, write and wait for an
// acknowledgement has a deadline (WithTimeout). WriteRecords and Write
// return only once their records are delivered: while the collector is
// down they keep trying, the core.Writer's buffers fill, and its Overflow
// policy decides what callers do (Block: they wait; Drop: their records
// are dropped, counted and noted). Each failed attempt goes to the error
// handler (WithErrorHandler). Close stops the retries: the call under way
// returns how many of its records were delivered, with an error.
//
// # Messages
//
// With the RFC5424 format (the default) each record is the MSG of an RFC
// 5424 message whose severity is the record's own level, read from the
// record without decoding it: the "level" of a JSON record (zap, zerolog,
// logrus, slog) or the level= of a text or logfmt one (logrus, slog);
// info if it has none. The Raw format sends the record alone. Either way
// a record's final newline is left out: the frame delimits the message.
//
// A record whose message is longer than WithMaxMessageSize (8 KiB by
// default, rsyslog's default maxMessageSize) is never sent: a collector
// would split it (rsyslog over TCP) or truncate it and still acknowledge
// it (rsyslog over RELP). It is counted (Stats.Rejected) and reported,
// with its length and the limit, in an error that wraps ErrTooLong.
//
// # Cost
//
// On the steady path, a connection up, a WriteRecords call allocates
// nothing: messages are formatted into buffers the Sink keeps (over RELP
// with TLS, crypto/tls allocates a little at each read of the socket).
package syslogsink
