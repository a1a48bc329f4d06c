package otlpsink

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzMapRecord checks the scanner against encoding/json: any input
// encodes to a LogRecord that decodes; a valid JSON object keeps, as
// attributes in order, every member that has no role (not a time, level,
// message or id key), with the value encoding/json reads; anything else,
// or an object nested deeper than maxDepth, is a string body.
func FuzzMapRecord(f *testing.F) {
	var rec recorder
	for _, name := range loggerNames {
		newLogger(name, &rec)(1, 2)
	}
	for _, r := range rec.records {
		f.Add(r)
	}
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":-1.5e3}`, `{"msg":"x","msg":"y"}`, `{"m\u0073g":"\ud83d\ude00\ud800\u0041"}`,
		`level=info x`, `{"a":1`, `[1,2]`, `{"n":123456789012345678901234567890}`, `{"t":1e400}`, `{"time":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := appendRecord(nil, in, 1)
		var recs []decodedRecord
		require.NoError(t, fields(b, func(f, w int, v uint64, d []byte) error {
			r, err := decodeRecord(d)
			recs = append(recs, r)
			return err
		}))
		require.Len(t, recs, 1)
		got := recs[0]
		members, depth, ok := jsonMembers(trimNewline(in))
		if !ok || !utf8.Valid(in) {
			return // text, or strings whose invalid bytes the two replace differently
		}
		if depth > maxDepth {
			require.Equal(t, string(bytes.ToValidUTF8(trimNewline(in), []byte("\uFFFD"))), got.Body)
			return
		}
		var want, have []decodedKV
		for _, m := range members {
			if roleOf([]byte(strconv.Quote(m.Key))) == roleAttr {
				want = append(want, m)
			}
		}
		for _, kv := range got.Attrs {
			if roleOf([]byte(strconv.Quote(kv.Key))) == roleAttr {
				have = append(have, decodedKV{kv.Key, normalize(kv.Value)})
			}
		}
		require.Equal(t, want, have, "%q", in)
	})
}

// jsonMembers reads a JSON object with encoding/json: its members in
// order, values normalized as the sink types them, and its nesting depth.
func jsonMembers(in []byte) (members []decodedKV, depth int, ok bool) {
	if !json.Valid(in) {
		return nil, 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	tok, err := dec.Token()
	if d, isDelim := tok.(json.Delim); err != nil || !isDelim || d != '{' {
		return nil, 0, false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, 0, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, 0, false
		}
		depth = max(depth, nesting(raw))
		var v any
		vd := json.NewDecoder(bytes.NewReader(raw))
		vd.UseNumber()
		if err := vd.Decode(&v); err != nil {
			return nil, depth, true // deeper than encoding/json goes
		}
		members = append(members, decodedKV{k.(string), typed(v)})
	}
	return members, depth, true
}

// typed is normalize, with a number too large for a double kept as its
// text, as the sink keeps it.
func typed(v any) any {
	switch v := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil && errors.Is(err, strconv.ErrRange) {
			if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
				return string(v)
			}
		}
	case map[string]any:
		for k, x := range v {
			v[k] = typed(x)
		}
		return normalize(v)
	case []any:
		for i, x := range v {
			v[i] = typed(x)
		}
		return normalize(v)
	}
	return normalize(v)
}

// nesting is the depth of arrays and objects in a JSON value.
func nesting(raw []byte) int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	d, most := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			most = max(most, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}
