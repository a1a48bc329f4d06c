package otlpsink

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
)

// A test's decoder of the requests a Sink sends, written from
// opentelemetry-proto's field numbers, independently of the encoder. The
// tests against the real collector check the same mapping a second way.

type decodedRequest struct {
	Resource map[string]any
	Scope    string
	Records  []decodedRecord
}

type decodedRecord struct {
	Time, Observed uint64
	SeverityNumber int
	SeverityText   string
	Body           any
	Attrs          []decodedKV
	TraceID        []byte
	SpanID         []byte
}

type decodedKV struct {
	Key   string
	Value any
}

// gunzipIf returns body unzipped if it is gzip.
func gunzipIf(body []byte) ([]byte, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func decodeRequest(body []byte) (decodedRequest, error) {
	var req decodedRequest
	err := fields(body, func(f, w int, v uint64, d []byte) error {
		if f != requestResourceLogs {
			return fmt.Errorf("request field %d", f)
		}
		return fields(d, func(f, w int, v uint64, d []byte) error {
			switch f {
			case resourceLogsResource:
				req.Resource = map[string]any{}
				return fields(d, func(f, w int, v uint64, d []byte) error {
					kv, err := decodeKV(d)
					req.Resource[kv.Key] = kv.Value
					return err
				})
			case resourceLogsScopeLogs:
				return fields(d, func(f, w int, v uint64, d []byte) error {
					switch f {
					case scopeLogsScope:
						return fields(d, func(f, w int, v uint64, d []byte) error {
							if f == scopeName {
								req.Scope = string(d)
							}
							return nil
						})
					case scopeLogsLogRecords:
						rec, err := decodeRecord(d)
						req.Records = append(req.Records, rec)
						return err
					}
					return fmt.Errorf("scope logs field %d", f)
				})
			}
			return fmt.Errorf("resource logs field %d", f)
		})
	})
	return req, err
}

func decodeRecord(b []byte) (decodedRecord, error) {
	var r decodedRecord
	err := fields(b, func(f, w int, v uint64, d []byte) error {
		switch {
		case f == logTime && w == wireFixed64:
			r.Time = v
		case f == logObservedTime && w == wireFixed64:
			r.Observed = v
		case f == logSeverityNumber && w == wireVarint:
			r.SeverityNumber = int(v)
		case f == logSeverityText && w == wireBytes:
			r.SeverityText = string(d)
		case f == logBody && w == wireBytes:
			val, err := decodeAny(d)
			r.Body = val
			return err
		case f == logAttributes && w == wireBytes:
			kv, err := decodeKV(d)
			r.Attrs = append(r.Attrs, kv)
			return err
		case f == logTraceID && w == wireBytes:
			r.TraceID = d
		case f == logSpanID && w == wireBytes:
			r.SpanID = d
		default:
			return fmt.Errorf("log record field %d wire %d", f, w)
		}
		return nil
	})
	return r, err
}

func decodeKV(b []byte) (decodedKV, error) {
	var kv decodedKV
	err := fields(b, func(f, w int, v uint64, d []byte) error {
		switch f {
		case kvKey:
			kv.Key = string(d)
		case kvValue:
			val, err := decodeAny(d)
			kv.Value = val
			return err
		default:
			return fmt.Errorf("key value field %d", f)
		}
		return nil
	})
	return kv, err
}

// decodeAny returns an AnyValue as a string, bool, int64, float64, []byte,
// []any (an array), []decodedKV (a kvlist) or nil (empty).
func decodeAny(b []byte) (any, error) {
	var val any
	n := 0
	err := fields(b, func(f, w int, v uint64, d []byte) error {
		n++
		switch f {
		case anyString:
			val = string(d)
		case anyBool:
			val = v != 0
		case anyInt:
			val = int64(v)
		case anyDouble:
			val = math.Float64frombits(v)
		case anyBytes:
			val = d
		case anyArray:
			list := []any{}
			err := fields(d, func(f, w int, v uint64, d []byte) error {
				x, err := decodeAny(d)
				list = append(list, x)
				return err
			})
			val = list
			return err
		case anyKVList:
			list := []decodedKV{}
			err := fields(d, func(f, w int, v uint64, d []byte) error {
				kv, err := decodeKV(d)
				list = append(list, kv)
				return err
			})
			val = list
			return err
		default:
			return fmt.Errorf("any value field %d", f)
		}
		return nil
	})
	if n > 1 {
		return nil, fmt.Errorf("any value with %d fields", n)
	}
	return val, err
}

func fields(b []byte, each func(field, wire int, v uint64, data []byte) error) error {
	r := protoReader{b: b}
	for {
		f, w, v, d, ok := r.next()
		if !ok {
			break
		}
		if err := each(f, w, v, d); err != nil {
			return err
		}
	}
	if r.err {
		return fmt.Errorf("malformed protobuf")
	}
	return nil
}
