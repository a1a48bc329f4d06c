package otlpsink

import (
	"encoding/binary"
	"math"
)

// The protobuf wire format, as much of it as OTLP logs need: varints,
// fixed64 and fixed32 numbers and length-delimited fields (strings, bytes
// and embedded messages). Every function appends to a byte slice that the
// caller reuses, so that encoding a record allocates nothing once the
// buffers have grown.
//
// An embedded message's length comes before its bytes, and is known only
// after them: beginMessage reserves one byte for it, endMessage writes it
// there and, for a message of 128 bytes or more, moves the message up by
// the extra bytes its length needs. Most attributes are shorter than that.

// Wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// The field numbers of opentelemetry-proto's collector/logs/v1,
// logs/v1, resource/v1 and common/v1 messages, named
// message_field.
const (
	// ExportLogsServiceRequest
	requestResourceLogs = 1
	// ExportLogsServiceResponse
	responsePartialSuccess = 1
	// ExportLogsPartialSuccess
	partialRejected     = 1
	partialErrorMessage = 2
	// google.rpc.Status, the body of a failed request
	statusCode    = 1
	statusMessage = 2

	// ResourceLogs
	resourceLogsResource  = 1
	resourceLogsScopeLogs = 2
	// Resource
	resourceAttributes = 1
	// ScopeLogs
	scopeLogsScope      = 1
	scopeLogsLogRecords = 2
	// InstrumentationScope
	scopeName    = 1
	scopeVersion = 2

	// LogRecord
	logTime           = 1
	logSeverityNumber = 2
	logSeverityText   = 3
	logBody           = 5
	logAttributes     = 6
	logTraceID        = 9
	logSpanID         = 10
	logObservedTime   = 11

	// KeyValue
	kvKey   = 1
	kvValue = 2
	// AnyValue
	anyString = 1
	anyBool   = 2
	anyInt    = 3
	anyDouble = 4
	anyArray  = 5
	anyKVList = 6
	anyBytes  = 7
	// ArrayValue and KeyValueList
	listValues = 1
)

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// varintLen is the number of bytes appendVarint writes for v.
func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendTag(b []byte, field, wire int) []byte {
	return appendVarint(b, uint64(field)<<3|uint64(wire))
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	return appendVarint(appendTag(b, field, wireVarint), v)
}

func appendFixed64Field(b []byte, field int, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(appendTag(b, field, wireFixed64), v)
}

func appendDoubleField(b []byte, field int, v float64) []byte {
	return appendFixed64Field(b, field, math.Float64bits(v))
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = appendVarint(appendTag(b, field, wireBytes), uint64(len(v)))
	return append(b, v...)
}

func appendStringField(b []byte, field int, v string) []byte {
	b = appendVarint(appendTag(b, field, wireBytes), uint64(len(v)))
	return append(b, v...)
}

// beginMessage appends the tag of a length-delimited field and one byte
// for its length, and returns where the field's bytes start, for
// endMessage.
func beginMessage(b []byte, field int) ([]byte, int) {
	b = append(appendTag(b, field, wireBytes), 0)
	return b, len(b)
}

// endMessage writes the length of the field begun at start, the bytes
// from start to the end of b, in the byte reserved before them.
func endMessage(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	extra := varintLen(uint64(n)) - 1
	for range extra {
		b = append(b, 0)
	}
	copy(b[start+extra:], b[start:start+n])
	appendVarint(b[start-1:start-1], uint64(n))
	return b
}

// A protoReader reads the fields of one message, for the collector's
// responses.
type protoReader struct {
	b   []byte
	err bool
}

// next returns the next field's number and wire type, and its value: v for
// a varint or a fixed number, data for a length-delimited field. ok is
// false at the end of the message or at malformed input (then r.err).
func (r *protoReader) next() (field, wire int, v uint64, data []byte, ok bool) {
	if len(r.b) == 0 {
		return 0, 0, 0, nil, false
	}
	tag, ok := r.varint()
	if !ok {
		return 0, 0, 0, nil, false
	}
	field, wire = int(tag>>3), int(tag&7)
	switch wire {
	case wireVarint:
		v, ok = r.varint()
	case wireFixed64:
		if ok = len(r.b) >= 8; ok {
			v, r.b = binary.LittleEndian.Uint64(r.b), r.b[8:]
		}
	case wireFixed32:
		if ok = len(r.b) >= 4; ok {
			v, r.b = uint64(binary.LittleEndian.Uint32(r.b)), r.b[4:]
		}
	case wireBytes:
		var n uint64
		if n, ok = r.varint(); ok {
			if ok = n <= uint64(len(r.b)); ok {
				data, r.b = r.b[:n], r.b[n:]
			}
		}
	default:
		ok = false
	}
	if !ok {
		r.err = true
	}
	return field, wire, v, data, ok
}

func (r *protoReader) varint() (uint64, bool) {
	var v uint64
	for i := 0; i < 10 && i < len(r.b); i++ {
		c := r.b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.b = r.b[i+1:]
			return v, true
		}
	}
	r.err = true
	return 0, false
}

// partialSuccess decodes an ExportLogsServiceResponse: how many records
// the collector rejected and why.
func partialSuccess(body []byte) (rejected int64, msg string, ok bool) {
	r := protoReader{b: body}
	for {
		field, wire, _, data, more := r.next()
		if !more {
			break
		}
		if field != responsePartialSuccess || wire != wireBytes {
			continue
		}
		pr := protoReader{b: data}
		for {
			f, w, v, d, more := pr.next()
			if !more {
				break
			}
			switch {
			case f == partialRejected && w == wireVarint:
				rejected = int64(v)
			case f == partialErrorMessage && w == wireBytes:
				msg = string(d)
			}
		}
		if pr.err {
			return 0, "", false
		}
	}
	return rejected, msg, !r.err
}

// statusText decodes the message of a google.rpc.Status, the body the
// collector answers a failed OTLP/HTTP request with.
func statusText(body []byte) (string, bool) {
	r := protoReader{b: body}
	var msg string
	for {
		field, wire, _, data, more := r.next()
		if !more {
			break
		}
		if field == statusMessage && wire == wireBytes {
			msg = string(data)
		}
	}
	return msg, !r.err && msg != ""
}
