package otlpsink

import (
	"bytes"
	"encoding/hex"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Mapping a record to an OTLP LogRecord.
//
// A record that is one JSON object, as zap, zerolog, logrus and slog write
// them, is scanned once, left to right, and each member is encoded as it
// is met, straight into the request buffer:
//
//	time, ts, timestamp, @timestamp  -> time_unix_nano (an RFC 3339 string,
//	                                    or a number of seconds, milliseconds,
//	                                    microseconds or nanoseconds since 1970)
//	level, lvl, severity             -> severity_number and severity_text
//	msg, message                     -> body
//	trace_id, traceId, traceid       -> trace_id (32 hex digits)
//	span_id, spanId, spanid          -> span_id (16 hex digits)
//	anything else                    -> an attribute
//
// Only the first member of each kind maps; a later one with the same role,
// or one whose value does not parse (a time that is not a time, an id that
// is not hex of the right length), is an attribute like the rest. Values
// keep their JSON type: a string is a string, a number with no fraction or
// exponent that fits in an int64 is an int, any other number a double,
// true and false bools, an array an array value, an object a kvlist value,
// null an empty value. observed_time_unix_nano is the time the sink
// encoded the record.
//
// Anything else (text, logfmt, JSON that does not parse) is a string body,
// the whole record less its trailing newline, with its severity taken from
// a level=, lvl= or severity= pair, or a zap console level between tabs.
// Invalid UTF-8 becomes U+FFFD, since protobuf strings are UTF-8.

// maxDepth bounds the nesting of arrays and objects the scanner follows;
// a deeper record is sent as text.
const maxDepth = 64

// appendRecord appends rec, encoded as a LogRecord in the log_records
// field of a ScopeLogs, to b.
func appendRecord(b []byte, rec []byte, observed uint64) []byte {
	rec = trimNewline(rec)
	b, start := beginMessage(b, scopeLogsLogRecords)
	b = appendFixed64Field(b, logObservedTime, observed)
	if out, ok := appendJSONRecord(b, rec); ok {
		return endMessage(out, start)
	}
	// The JSON attempt wrote only past len(b): b, as it was, drops it.
	b = appendTextRecord(b, rec)
	return endMessage(b, start)
}

func trimNewline(rec []byte) []byte {
	if n := len(rec); n > 0 && rec[n-1] == '\n' {
		rec = rec[:n-1]
		if n := len(rec); n > 0 && rec[n-1] == '\r' {
			rec = rec[:n-1]
		}
	}
	return rec
}

// appendTextRecord encodes a record that is not a JSON object: a string
// body and a sniffed severity.
func appendTextRecord(b []byte, rec []byte) []byte {
	if lvl := sniffLevel(rec); lvl != nil {
		if num := severityOf(lvl); num != 0 {
			b = appendVarintField(b, logSeverityNumber, uint64(num))
			b = appendUTF8Field(b, logSeverityText, lvl)
		}
	}
	b, body := beginMessage(b, logBody)
	b = appendUTF8Field(b, anyString, rec)
	return endMessage(b, body)
}

// appendUTF8Field appends s as a string field, with invalid UTF-8 replaced
// by U+FFFD.
func appendUTF8Field(b []byte, field int, s []byte) []byte {
	if utf8.Valid(s) {
		return appendBytesField(b, field, s)
	}
	return appendBytesField(b, field, bytes.ToValidUTF8(s, []byte("\uFFFD")))
}

// sniffLevel finds a record's level in text: the value of a level=, lvl=
// or severity= pair (quoted or not), or a zap console encoder's level,
// the second tab-separated column.
func sniffLevel(rec []byte) []byte {
	for _, key := range [...]string{"level=", "lvl=", "severity="} {
		i := 0
		for {
			j := bytes.Index(rec[i:], []byte(key))
			if j < 0 {
				break
			}
			j += i
			if j == 0 || rec[j-1] == ' ' || rec[j-1] == '\t' {
				v := rec[j+len(key):]
				if len(v) > 0 && v[0] == '"' {
					v = v[1:]
					if k := bytes.IndexByte(v, '"'); k >= 0 {
						return v[:k]
					}
					return nil
				}
				if k := bytes.IndexAny(v, " \t"); k >= 0 {
					v = v[:k]
				}
				return v
			}
			i = j + len(key)
		}
	}
	if i := bytes.IndexByte(rec, '\t'); i >= 0 {
		v := rec[i+1:]
		if k := bytes.IndexByte(v, '\t'); k > 0 {
			if v = v[:k]; severityOf(v) != 0 {
				return v
			}
		}
	}
	return nil
}

// severityOf maps a level name to an OTLP SeverityNumber (1-24), or 0 if
// it is not a level it knows. Names are matched without regard to case.
// slog's levels with an offset ("INFO+2", "ERROR-1") move by the offset,
// as slog's levels are 4 apart as OTLP's are.
func severityOf(lvl []byte) int {
	name, off := lvl, 0
	if i := bytes.IndexAny(lvl, "+-"); i > 0 {
		n, err := strconv.Atoi(string(lvl[i:]))
		if err != nil {
			return 0
		}
		name, off = lvl[:i], n
	}
	var num int
	switch {
	case equalFold(name, "trace"):
		num = 1
	case equalFold(name, "debug"), equalFold(name, "dbg"):
		num = 5
	case equalFold(name, "info"), equalFold(name, "inf"), equalFold(name, "information"):
		num = 9
	case equalFold(name, "notice"):
		num = 10
	case equalFold(name, "warn"), equalFold(name, "warning"), equalFold(name, "wrn"):
		num = 13
	case equalFold(name, "error"), equalFold(name, "err"), equalFold(name, "eror"):
		num = 17
	case equalFold(name, "dpanic"):
		num = 19
	case equalFold(name, "critical"), equalFold(name, "crit"), equalFold(name, "fatal"), equalFold(name, "ftl"):
		num = 21
	case equalFold(name, "panic"), equalFold(name, "alert"):
		num = 22
	case equalFold(name, "emergency"), equalFold(name, "emerg"):
		num = 23
	default:
		return 0
	}
	return min(max(num+off, 1), 24)
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// A scanner reads one JSON value at a time from a record and encodes it.
type scanner struct {
	s   []byte
	i   int
	bad bool
}

// appendJSONRecord encodes rec as a LogRecord's fields if it is one JSON
// object, and reports whether it was; when it was not, what it appended
// past len(b) is garbage to drop.
func appendJSONRecord(b []byte, rec []byte) ([]byte, bool) {
	sc := scanner{s: rec}
	sc.skipSpace()
	if !sc.consume('{') {
		return b, false
	}
	var haveTime, haveLevel, haveBody, haveTrace, haveSpan bool
	sc.skipSpace()
	if !sc.consume('}') {
		for {
			key, ok := sc.member()
			if !ok {
				return b, false
			}
			mapped := false
			switch role := roleOf(key); {
			case role == roleTime && !haveTime:
				if ns, ok := sc.timeValue(); ok {
					b = appendFixed64Field(b, logTime, ns)
					haveTime, mapped = true, true
				}
			case role == roleLevel && !haveLevel:
				if lvl, ok := sc.plainString(); ok {
					if num := severityOf(lvl); num != 0 {
						b = appendVarintField(b, logSeverityNumber, uint64(num))
					}
					b = appendBytesField(b, logSeverityText, lvl)
					haveLevel, mapped = true, true
				}
			case role == roleBody && !haveBody:
				var body int
				b, body = beginMessage(b, logBody)
				if b, ok = sc.appendValue(b, 0); !ok {
					return b, false
				}
				b = endMessage(b, body)
				haveBody, mapped = true, true
			case role == roleTrace && !haveTrace:
				var id [16]byte
				if sc.hexID(id[:]) {
					b = appendBytesField(b, logTraceID, id[:])
					haveTrace, mapped = true, true
				}
			case role == roleSpan && !haveSpan:
				var id [8]byte
				if sc.hexID(id[:]) {
					b = appendBytesField(b, logSpanID, id[:])
					haveSpan, mapped = true, true
				}
			}
			if !mapped {
				var kv int
				b, kv = beginMessage(b, logAttributes)
				if b, ok = appendJSONString(b, kvKey, key); !ok {
					return b, false
				}
				var v int
				b, v = beginMessage(b, kvValue)
				if b, ok = sc.appendValue(b, 0); !ok {
					return b, false
				}
				b = endMessage(endMessage(b, v), kv)
			}
			sc.skipSpace()
			if sc.consume('}') {
				break
			}
			if !sc.consume(',') {
				return b, false
			}
		}
	}
	sc.skipSpace()
	return b, sc.i == len(sc.s) && !sc.bad
}

type role int

const (
	roleAttr role = iota
	roleTime
	roleLevel
	roleBody
	roleTrace
	roleSpan
)

// roleOf says what a top-level key maps to; key is the raw JSON string,
// quotes included (a key with escapes is always an attribute).
func roleOf(key []byte) role {
	switch string(key) {
	case `"time"`, `"ts"`, `"timestamp"`, `"@timestamp"`:
		return roleTime
	case `"level"`, `"lvl"`, `"severity"`:
		return roleLevel
	case `"msg"`, `"message"`:
		return roleBody
	case `"trace_id"`, `"traceId"`, `"traceid"`:
		return roleTrace
	case `"span_id"`, `"spanId"`, `"spanid"`:
		return roleSpan
	}
	return roleAttr
}

func (sc *scanner) skipSpace() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) consume(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// member reads the key of an object's member at sc.i, as rawString
// returns it, and the colon after it, and moves to the member's value.
func (sc *scanner) member() ([]byte, bool) {
	sc.skipSpace()
	key, ok := sc.rawString()
	if !ok {
		return nil, false
	}
	sc.skipSpace()
	if !sc.consume(':') {
		return nil, false
	}
	sc.skipSpace()
	return key, true
}

// rawString returns the JSON string at sc.i, quotes and escapes as they
// are, and moves past it.
func (sc *scanner) rawString() ([]byte, bool) {
	if !sc.consume('"') {
		return nil, false
	}
	start := sc.i - 1
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '"':
			sc.i++
			return sc.s[start:sc.i], true
		case c == '\\':
			sc.i += 2
		case c < 0x20:
			return nil, false
		default:
			sc.i++
		}
	}
	return nil, false
}

// plainString returns the contents of the string at sc.i if it has no
// escapes (a level), and moves past it; otherwise it moves nowhere.
func (sc *scanner) plainString() ([]byte, bool) {
	i := sc.i
	raw, ok := sc.rawString()
	if !ok || bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
		sc.i = i
		return nil, false
	}
	return raw[1 : len(raw)-1], true
}

// hexID decodes the string at sc.i into id if it is len(id)*2 hex digits
// and not all zeros (the invalid id), and moves past it; otherwise it
// moves nowhere.
func (sc *scanner) hexID(id []byte) bool {
	i := sc.i
	s, ok := sc.plainString()
	if ok && len(s) == 2*len(id) {
		if _, err := hex.Decode(id, s); err == nil && !allZero(id) {
			return true
		}
	}
	sc.i = i
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// timeValue reads a time at sc.i, a string in RFC 3339 (or zap's ISO 8601,
// with no colon in the offset) or a number since the Unix epoch, and
// returns it in nanoseconds; otherwise it moves nowhere.
func (sc *scanner) timeValue() (uint64, bool) {
	i := sc.i
	if sc.i < len(sc.s) && sc.s[sc.i] == '"' {
		if s, ok := sc.plainString(); ok {
			str := unsafe.String(unsafe.SliceData(s), len(s)) // not kept: parsed at once
			for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
				// UnixNano is defined up to 2262 only: a later time is
				// not taken (it would wrap into another, plausible one).
				if t, err := time.Parse(layout, str); err == nil && t.After(time.Unix(0, 0)) && !t.After(lastNano) {
					return uint64(t.UnixNano()), true
				}
			}
		}
		sc.i = i
		return 0, false
	}
	num, ok := sc.number()
	if ok {
		if ns, ok := epochNanos(num); ok {
			return ns, true
		}
	}
	sc.i = i
	return 0, false
}

// lastNano is the last time whose UnixNano is defined, in 2262.
var lastNano = time.Unix(0, math.MaxInt64)

// scaled returns n*unit nanoseconds, if a uint64 holds them (up to 2554):
// a time past that is not taken, rather than wrapped into another one.
func scaled(n int64, unit uint64) (uint64, bool) {
	if uint64(n) > math.MaxUint64/unit {
		return 0, false
	}
	return uint64(n) * unit, true
}

// epochNanos reads a JSON number as a time since the Unix epoch: with a
// fraction or an exponent, in seconds (zap's default); a whole number in
// seconds, milliseconds, microseconds or nanoseconds by its size (zerolog's
// TimeFieldFormat choices).
func epochNanos(num []byte) (uint64, bool) {
	if n, ok := parseInt(num); ok {
		switch {
		case n <= 0:
			return 0, false
		case n < 1e11:
			return scaled(n, 1e9)
		case n < 1e14:
			return scaled(n, 1e6)
		case n < 1e17:
			return scaled(n, 1e3)
		default:
			return uint64(n), true
		}
	}
	// Seconds with a fraction: the whole seconds and the fraction's digits
	// exactly, since a float64 of 1.7e9 seconds is only good to 256 ns.
	if dot := bytes.IndexByte(num, '.'); dot > 0 && !bytes.ContainsAny(num, "eE-") {
		sec, ok := parseInt(num[:dot])
		if !ok || sec <= 0 || sec > math.MaxInt64/1_000_000_000-1 {
			return 0, false
		}
		var frac uint64
		digits := num[dot+1:]
		for k := range 9 {
			frac *= 10
			if k < len(digits) {
				frac += uint64(digits[k] - '0')
			}
		}
		return uint64(sec)*1e9 + frac, true
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64)
	if err != nil || f <= 0 || f >= math.MaxInt64/1e9 {
		return 0, false
	}
	return uint64(f * 1e9), true
}

// parseInt parses a JSON integer (no fraction, no exponent) that fits in
// an int64.
func parseInt(num []byte) (int64, bool) {
	neg := len(num) > 0 && num[0] == '-'
	digits := num
	if neg {
		digits = num[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// number returns the JSON number at sc.i and moves past it.
func (sc *scanner) number() ([]byte, bool) {
	start := sc.i
	sc.consume('-')
	digits := func() int {
		n := 0
		for sc.i < len(sc.s) && '0' <= sc.s[sc.i] && sc.s[sc.i] <= '9' {
			sc.i++
			n++
		}
		return n
	}
	if n := digits(); n == 0 || (n > 1 && sc.s[sc.i-n] == '0') {
		return nil, false
	}
	if sc.consume('.') && digits() == 0 {
		return nil, false
	}
	if sc.consume('e') || sc.consume('E') {
		if !sc.consume('+') {
			sc.consume('-')
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return sc.s[start:sc.i], true
}

// appendValue encodes the JSON value at sc.i as the fields of an AnyValue.
func (sc *scanner) appendValue(b []byte, depth int) ([]byte, bool) {
	if depth > maxDepth || sc.i >= len(sc.s) {
		return b, false
	}
	switch c := sc.s[sc.i]; c {
	case '"':
		raw, ok := sc.rawString()
		if !ok {
			return b, false
		}
		return appendJSONString(b, anyString, raw)
	case '{':
		sc.i++
		b, list := beginMessage(b, anyKVList)
		sc.skipSpace()
		if !sc.consume('}') {
			for {
				key, ok := sc.member()
				if !ok {
					return b, false
				}
				var kv, v int
				b, kv = beginMessage(b, listValues)
				if b, ok = appendJSONString(b, kvKey, key); !ok {
					return b, false
				}
				b, v = beginMessage(b, kvValue)
				if b, ok = sc.appendValue(b, depth+1); !ok {
					return b, false
				}
				b = endMessage(endMessage(b, v), kv)
				sc.skipSpace()
				if sc.consume('}') {
					break
				}
				if !sc.consume(',') {
					return b, false
				}
			}
		}
		return endMessage(b, list), true
	case '[':
		sc.i++
		b, list := beginMessage(b, anyArray)
		sc.skipSpace()
		if !sc.consume(']') {
			for {
				sc.skipSpace()
				var v int
				var ok bool
				b, v = beginMessage(b, listValues)
				if b, ok = sc.appendValue(b, depth+1); !ok {
					return b, false
				}
				b = endMessage(b, v)
				sc.skipSpace()
				if sc.consume(']') {
					break
				}
				if !sc.consume(',') {
					return b, false
				}
			}
		}
		return endMessage(b, list), true
	case 't':
		if bytes.HasPrefix(sc.s[sc.i:], []byte("true")) {
			sc.i += 4
			return appendVarintField(b, anyBool, 1), true
		}
	case 'f':
		if bytes.HasPrefix(sc.s[sc.i:], []byte("false")) {
			sc.i += 5
			return appendVarintField(b, anyBool, 0), true
		}
	case 'n':
		if bytes.HasPrefix(sc.s[sc.i:], []byte("null")) {
			sc.i += 4
			return b, true // an empty AnyValue
		}
	default:
		num, ok := sc.number()
		if !ok {
			return b, false
		}
		if n, ok := parseInt(num); ok {
			return appendVarintField(b, anyInt, uint64(n)), true
		}
		f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64)
		if err != nil && !math.IsInf(f, 0) {
			return b, false
		}
		// A number beyond float64's range is kept as its text.
		if math.IsInf(f, 0) {
			return appendBytesField(b, anyString, num), true
		}
		return appendDoubleField(b, anyDouble, f), true
	}
	return b, false
}

// appendJSONString appends the JSON string raw (quotes included) as a
// string field, its escapes decoded.
func appendJSONString(b []byte, field int, raw []byte) ([]byte, bool) {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return appendUTF8Field(b, field, s), true
	}
	b, start := beginMessage(b, field)
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				j = len(s) - i
			}
			b = append(b, s[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(s) {
			return b, false
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return b, false
			}
			i += 6
			if utf16IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok = hex4(s[i+2:])
				}
				if ok && 0xdc00 <= r2 && r2 < 0xe000 && r < 0xdc00 {
					r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return b, false
		}
		i += 2
	}
	if !utf8.Valid(b[start:]) {
		fixed := bytes.ToValidUTF8(b[start:], []byte("\uFFFD"))
		b = append(b[:start], fixed...)
	}
	return endMessage(b, start), true
}

func utf16IsSurrogate(r rune) bool { return 0xd800 <= r && r < 0xe000 }

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
