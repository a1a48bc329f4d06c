package otlpsink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The four loggers, each writing JSON records with one field of every
// type in fieldTypes, a goroutine number g and a sequence number seq, at
// the levels info, warn and error in turn.

var loggerNames = []string{"zap", "zerolog", "logrus", "slog"}

// fixedTime and fixedDuration are the values of the time and duration
// fields.
var (
	fixedTime     = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	fixedDuration = 1500 * time.Millisecond
	errBoom       = errors.New("boom: \"quoted\"\nsecond line")
)

// fieldTypes is, for each field the loggers log, the OTLP value type each
// logger's record gives it: what its JSON says (zap writes times and
// durations as seconds, zerolog durations as milliseconds, logrus and slog
// durations as nanoseconds).
var fieldTypes = map[string]map[string]string{
	"s":     {"zap": "string", "zerolog": "string", "logrus": "string", "slog": "string"},
	"i":     {"zap": "int", "zerolog": "int", "logrus": "int", "slog": "int"},
	"f":     {"zap": "double", "zerolog": "double", "logrus": "double", "slog": "double"},
	"b":     {"zap": "bool", "zerolog": "bool", "logrus": "bool", "slog": "bool"},
	"t":     {"zap": "double", "zerolog": "string", "logrus": "string", "slog": "string"},
	"d":     {"zap": "double", "zerolog": "int", "logrus": "int", "slog": "int"},
	"o":     {"zap": "kvlist", "zerolog": "kvlist", "logrus": "kvlist", "slog": "kvlist"},
	"arr":   {"zap": "array", "zerolog": "array", "logrus": "array", "slog": "array"},
	"error": {"zap": "string", "zerolog": "string", "logrus": "string", "slog": "string"},
}

// typeOf names the OTLP value type of a normalized value.
func typeOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "int"
	case float64:
		return "double"
	case bool:
		return "bool"
	case map[string]any:
		return "kvlist"
	case []any:
		return "array"
	case nil:
		return "empty"
	}
	return fmt.Sprintf("%T", v)
}

type nested struct{}

func (nested) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddInt("a", 1)
	enc.AddString("b", "x")
	return nil
}

// newLogger returns a function that logs record seq of goroutine g with
// the named logger into w, each record in one Write.
func newLogger(name string, w io.Writer) func(g, seq int) {
	level := func(seq int) int { return seq % 3 } // info, warn, error
	switch name {
	case "zap":
		l := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zap.DebugLevel))
		return func(g, seq int) {
			fields := []zap.Field{
				zap.Int("g", g), zap.Int("seq", seq),
				zap.String("s", "str"), zap.Int("i", 42), zap.Float64("f", 1.5), zap.Bool("b", true),
				zap.Time("t", fixedTime), zap.Duration("d", fixedDuration), zap.Object("o", nested{}),
				zap.Ints("arr", []int{1, 2, 3}), zap.Error(errBoom),
			}
			[]func(string, ...zap.Field){l.Info, l.Warn, l.Error}[level(seq)]("hello", fields...)
		}
	case "zerolog":
		l := zerolog.New(w).With().Timestamp().Logger()
		return func(g, seq int) {
			e := []func() *zerolog.Event{l.Info, l.Warn, l.Error}[level(seq)]()
			e.Int("g", g).Int("seq", seq).
				Str("s", "str").Int("i", 42).Float64("f", 1.5).Bool("b", true).
				Time("t", fixedTime).Dur("d", fixedDuration).Dict("o", zerolog.Dict().Int("a", 1).Str("b", "x")).
				Ints("arr", []int{1, 2, 3}).Err(errBoom).Msg("hello")
		}
	case "logrus":
		l := logrus.New()
		l.Out = w
		l.Formatter = &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano}
		return func(g, seq int) {
			e := l.WithFields(logrus.Fields{
				"g": g, "seq": seq,
				"s": "str", "i": 42, "f": 1.5, "b": true,
				"t": fixedTime, "d": fixedDuration, "o": map[string]any{"a": 1, "b": "x"},
				"arr": []int{1, 2, 3}, "error": errBoom,
			})
			[]func(...any){e.Info, e.Warn, e.Error}[level(seq)]("hello")
		}
	case "slog":
		l := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
		return func(g, seq int) {
			[]func(string, ...any){l.Info, l.Warn, l.Error}[level(seq)]("hello",
				"g", g, "seq", seq,
				"s", "str", "i", 42, "f", 1.5, "b", true,
				"t", fixedTime, "d", fixedDuration, slog.Group("o", "a", 1, "b", "x"),
				"arr", []int{1, 2, 3}, "error", errBoom)
		}
	}
	panic("no logger " + name)
}

// A recorder is an io.Writer that keeps each Write as one record.
type recorder struct {
	mu      sync.Mutex
	records [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.records = append(r.records, bytes.Clone(p))
	r.mu.Unlock()
	return len(p), nil
}

// An expected record: what a LogRecord must hold for a JSON record, read
// from the record with encoding/json, independently of the sink's scanner.
type expected struct {
	Time           uint64
	SeverityNumber int
	SeverityText   string
	Body           string
	Attrs          map[string]any // normalized: see normalize
}

func expect(t testing.TB, rec []byte) expected {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "%s", rec)
	var e expected
	for _, k := range []string{"ts", "time"} {
		switch v := m[k].(type) {
		case json.Number:
			f, err := strconv.ParseFloat(string(v), 64)
			require.NoError(t, err)
			e.Time = uint64(f * 1e9)
			delete(m, k)
		case string:
			tm, err := time.Parse(time.RFC3339Nano, v)
			require.NoError(t, err, "%s", rec)
			e.Time = uint64(tm.UnixNano())
			delete(m, k)
		}
	}
	e.SeverityText = m["level"].(string)
	e.SeverityNumber = map[string]int{"info": 9, "warn": 13, "warning": 13, "error": 17}[strings.ToLower(e.SeverityText)]
	delete(m, "level")
	for _, k := range []string{"msg", "message"} {
		if v, ok := m[k].(string); ok {
			e.Body = v
			delete(m, k)
		}
	}
	e.Attrs = normalize(m).(map[string]any)
	return e
}

// normalize turns a value decoded from JSON (with UseNumber), from the
// request decoder or from the collector's output into the same Go types:
// string, int64, float64, bool, []any, map[string]any, nil.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	case []decodedKV:
		out := make(map[string]any, len(v))
		for _, kv := range v {
			out[kv.Key] = normalize(kv.Value)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// A received record: a LogRecord as decoded from a request or read from
// the collector's output, normalized.
type received struct {
	Time, Observed uint64
	SeverityNumber int
	SeverityText   string
	Body           any
	Attrs          map[string]any
	TraceID        string // hex
	SpanID         string // hex
}

func (r decodedRecord) received() received {
	return received{
		Time: r.Time, Observed: r.Observed,
		SeverityNumber: r.SeverityNumber, SeverityText: r.SeverityText,
		Body: normalize(r.Body), Attrs: normalize(r.Attrs).(map[string]any),
		TraceID: fmt.Sprintf("%x", r.TraceID), SpanID: fmt.Sprintf("%x", r.SpanID),
	}
}

// requireMapped checks that got is the LogRecord for the JSON record rec
// of the named logger: its time, severity, body and every field, of the
// type fieldTypes gives.
func requireMapped(t testing.TB, logger string, rec []byte, got received) {
	t.Helper()
	e := expect(t, rec)
	if logger == "zap" {
		// A float64 of seconds is good to about 256 ns; the sink reads
		// the digits exactly.
		require.InDelta(t, float64(e.Time), float64(got.Time), 1e3, "%s", rec)
	} else {
		require.Equal(t, e.Time, got.Time, "%s", rec)
	}
	require.NotZero(t, got.Observed)
	require.Equal(t, e.SeverityNumber, got.SeverityNumber, "%s", rec)
	require.Equal(t, e.SeverityText, got.SeverityText, "%s", rec)
	require.Equal(t, e.Body, got.Body, "%s", rec)
	require.Equal(t, e.Attrs, got.Attrs, "%s", rec)
	for field, types := range fieldTypes {
		require.Equal(t, types[logger], typeOf(got.Attrs[field]), "field %q of %s", field, rec)
	}
	require.Equal(t, map[string]any{"a": int64(1), "b": "x"}, got.Attrs["o"])
	require.Equal(t, []any{int64(1), int64(2), int64(3)}, got.Attrs["arr"])
	require.Equal(t, errBoom.Error(), got.Attrs["error"])
}

// errorLog keeps the errors a core.Writer or a test's goroutines report.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}
