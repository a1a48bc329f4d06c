// Package otlpsink ships records to an OpenTelemetry Collector, or any
// OTLP/HTTP logs endpoint, each record one LogRecord of the OpenTelemetry
// log data model. It is a sink for asynclog's core.Writer: the loggers'
// callers copy records into the Writer's buffers and return, and the
// Writer's goroutine hands them to the Sink, which encodes and sends them,
// so neither the encoding nor the network ever costs a caller.
//
//	sink := otlpsink.New("http://127.0.0.1:4318")
//	w := core.New(core.WithSink(sink), core.WithSpool("/var/lib/app/log.spool"))
//	defer sink.Close() // after w.Close
//	defer w.Close()
//
// # Records
//
// A record that is a JSON object, as zap, zerolog, logrus and slog write
// them, maps member by member: its time (time, ts, timestamp or
// @timestamp; RFC 3339, or a number since 1970) to time_unix_nano, its
// level (level, lvl or severity) to severity_number and severity_text,
// its message (msg or message) to the body, trace_id/traceId and
// span_id/spanId in hex to the record's trace and span ids, and every
// other member to an attribute of the type the JSON says: strings,
// integers (a number with no fraction or exponent that fits in an int64),
// doubles, bools, arrays, objects (kvlist values) and null (an empty
// value). observed_time_unix_nano is always set, to when the Sink encoded
// the record. Any other record (text, logfmt, a zap console line) is a
// string body with its severity sniffed from a level= pair or a console
// level column. Levels map as trace 1, debug 5, info 9, warn 13, error 17,
// dpanic 19, fatal 21, panic 22, with slog's offsets ("INFO+2" is 11).
//
// The records are encoded straight into reused buffers, in protobuf by
// hand, with the standard library only: no gRPC, no protobuf module, and
// no allocation per record on the way.
//
// # Delivery
//
// Each WriteRecords call is sent in as few requests as the request limit
// allows (WithMaxRequestSize), gzipped, one at a time, and returns when
// the collector has answered for every record:
//
//   - 2xx: the records are accepted, less those the collector rejects in
//     a partial success, which are counted (Stats.Rejected), reported with
//     the collector's message (ErrPartialSuccess) and never sent again.
//   - A connection error, a timeout (WithTimeout), 429, 502, 503 or 504:
//     the request is retried, after the collector's Retry-After if it gave
//     one and otherwise after an exponential backoff with jitter
//     (WithBackoff), until the collector takes it or Close is called. So,
//     while the collector is down, the Writer's buffers fill and its
//     Overflow policy applies: Block makes callers wait, Drop drops and
//     counts; with a spool, nothing accepted is lost even if the process
//     dies meanwhile, since the core sends the records of an unfinished
//     call again at the next start.
//   - 413: the request is split in halves, and each sent again; a single
//     record the collector will not take is lost.
//   - Any other status (400, 401, 403, 404 …): the records are lost,
//     counted (Stats.Lost) and reported (ErrRefused), never retried.
//
// A record is delivered at least once: a request the collector wrote but
// did not answer (it was killed, or the answer timed out) is sent again,
// and its records arrive twice.
package otlpsink
