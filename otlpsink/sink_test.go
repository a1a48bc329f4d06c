package otlpsink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

// A fakeCollector is an httptest server that decodes every request and
// answers with what answer returns for it.
type fakeCollector struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []decodedRequest
	header []http.Header
	answer func(n int, req decodedRequest, w http.ResponseWriter) bool // true: the records were taken
	taken  []received
}

func newFakeCollector(t testing.TB, answer func(n int, req decodedRequest, w http.ResponseWriter) bool) *fakeCollector {
	fc := &fakeCollector{t: t, answer: answer}
	fc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/logs" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad request line or type", http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
			body, err = gunzipIf(body)
		}
		var req decodedRequest
		if err == nil {
			req, err = decodeRequest(body)
		}
		if !assert.NoError(t, err) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fc.mu.Lock()
		n := len(fc.reqs)
		fc.reqs = append(fc.reqs, req)
		fc.header = append(fc.header, r.Header.Clone())
		fc.mu.Unlock()
		ok := true
		if fc.answer != nil {
			ok = fc.answer(n, req, w)
		}
		if ok {
			fc.mu.Lock()
			for _, rec := range req.Records {
				fc.taken = append(fc.taken, rec.received())
			}
			fc.mu.Unlock()
		}
	}))
	t.Cleanup(fc.srv.Close)
	return fc
}

func (fc *fakeCollector) requests() []decodedRequest {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]decodedRequest(nil), fc.reqs...)
}

func (fc *fakeCollector) received() []received {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]received(nil), fc.taken...)
}

// newTestSink returns a Sink to url that records its waits instead of
// sleeping, and is closed at the end of the test.
func newTestSink(t testing.TB, url string, opts ...Option) (*Sink, *[]time.Duration) {
	s := New(url, opts...)
	var mu sync.Mutex
	waits := &[]time.Duration{}
	s.sleep = func(ctx context.Context, d time.Duration) bool {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err() == nil
	}
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, waits
}

func records(n int, format string) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = fmt.Appendf(nil, format+"\n", i)
	}
	return recs
}

func bodies(rs []received) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.Body
	}
	return out
}

func TestLoggersMapped(t *testing.T) {
	for _, name := range loggerNames {
		t.Run(name, func(t *testing.T) {
			fc := newFakeCollector(t, nil)
			s, _ := newTestSink(t, fc.srv.URL, WithResource(Attr{"deployment.environment", "test"}))
			var rec recorder
			log := newLogger(name, &rec)
			for i := range 6 {
				log(0, i)
			}
			n, err := s.WriteRecords(rec.records)
			require.NoError(t, err)
			require.Equal(t, len(rec.records), n)
			got := fc.received()
			require.Len(t, got, len(rec.records))
			for i := range got {
				requireMapped(t, name, rec.records[i], got[i])
			}
			reqs := fc.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, ScopeName, reqs[0].Scope)
			require.Equal(t, map[string]any{"service.name": "otlpsink.test", "deployment.environment": "test"}, reqs[0].Resource)
			st := s.Stats()
			require.Equal(t, Stats{Sent: 6, Accepted: 6, Requests: 1}, st)
		})
	}
}

func TestMapping(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want received
	}{
		{"text with a logfmt level", `time=2024-01-02 level=warning msg="disk full"` + "\n",
			received{SeverityNumber: 13, SeverityText: "warning", Body: `time=2024-01-02 level=warning msg="disk full"`}},
		{"zap console", "2024-01-02T03:04:05.000Z\tERROR\tmain.go:1\tfailed\n",
			received{SeverityNumber: 17, SeverityText: "ERROR", Body: "2024-01-02T03:04:05.000Z\tERROR\tmain.go:1\tfailed"}},
		{"text with no level", "plain words\n", received{Body: "plain words"}},
		{"truncated JSON is text", `{"level":"info","msg":"cut`, received{Body: `{"level":"info","msg":"cut`}},
		{"JSON with trailing garbage is text", `{"msg":"a"} x`, received{Body: `{"msg":"a"} x`}},
		{"invalid UTF-8", "bad \xff byte", received{Body: "bad \uFFFD byte"}},
		{"slog level with offset", `{"level":"INFO+2","msg":"m"}`, received{SeverityNumber: 11, SeverityText: "INFO+2", Body: "m"}},
		{"zap dpanic", `{"level":"dpanic","msg":"m"}`, received{SeverityNumber: 19, SeverityText: "dpanic", Body: "m"}},
		{"unknown level keeps its text", `{"level":"chatty","msg":"m"}`, received{SeverityText: "chatty", Body: "m"}},
		{"trace and span ids", `{"msg":"m","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
			received{Body: "m", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}},
		{"camelCase ids", `{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}`,
			received{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}},
		{"an id that is not hex is an attribute", `{"trace_id":"xyz","span_id":"0000000000000000"}`,
			received{Attrs: map[string]any{"trace_id": "xyz", "span_id": "0000000000000000"}}},
		{"a second message is an attribute", `{"msg":"a","message":"b"}`, received{Body: "a", Attrs: map[string]any{"message": "b"}}},
		{"a time that is not a time is an attribute", `{"time":"yesterday"}`, received{Attrs: map[string]any{"time": "yesterday"}}},
		{"time: RFC 3339 with an offset", `{"time":"2024-05-06T09:08:09.5+02:00"}`, received{Time: uint64(time.Date(2024, 5, 6, 7, 8, 9, 5e8, time.UTC).UnixNano())}},
		{"time: zap ISO 8601", `{"ts":"2024-05-06T07:08:09.123Z"}`, received{Time: uint64(time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC).UnixNano())}},
		{"time: zap ISO 8601 offset", `{"ts":"2024-05-06T09:08:09.123+0200"}`, received{Time: uint64(time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC).UnixNano())}},
		{"time: float seconds exactly", `{"ts":1714979289.123456789}`, received{Time: 1714979289123456789}},
		{"time: unix seconds", `{"time":1714979289}`, received{Time: 1714979289e9}},
		{"time: unix ms", `{"time":1714979289123}`, received{Time: 1714979289123e6}},
		{"time: unix µs", `{"time":1714979289123456}`, received{Time: 1714979289123456e3}},
		{"time: unix ns", `{"time":1714979289123456789}`, received{Time: 1714979289123456789}},
		{"escapes", `{"msg":"a\"b\\c\n\u00e9\ud83d\ude00\/","k\u0065y":"v"}`, received{Body: "a\"b\\c\né😀/", Attrs: map[string]any{"key": "v"}}},
		{"numbers", `{"a":-0,"b":9223372036854775807,"c":9223372036854775808,"d":1e3,"e":-2.5E-3,"f":1e999}`,
			received{Attrs: map[string]any{"a": int64(0), "b": int64(9223372036854775807), "c": 9223372036854775808.0, "d": 1000.0, "e": -0.0025, "f": "1e999"}}},
		{"nesting, null and empty containers", `{"o":{"p":{"q":[true,false,null,{}]}},"n":null,"e":[]}`,
			received{Attrs: map[string]any{"o": map[string]any{"p": map[string]any{"q": []any{true, false, nil, map[string]any{}}}}, "n": nil, "e": []any{}}}},
		{"a body that is not a string keeps its type", `{"msg":{"k":1}}`, received{Body: map[string]any{"k": int64(1)}}},
		{"whitespace", " { \"msg\" : \"m\" , \"k\" : [ 1 , 2 ] } \r\n", received{Body: "m", Attrs: map[string]any{"k": []any{int64(1), int64(2)}}}},
		{"a long attribute", `{"k":"` + strings.Repeat("x", 300) + `"}`, received{Attrs: map[string]any{"k": strings.Repeat("x", 300)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendRecord(nil, []byte(tt.rec), 7)
			var req decodedRequest
			require.NoError(t, fields(b, func(f, w int, v uint64, d []byte) error {
				require.Equal(t, scopeLogsLogRecords, f)
				rec, err := decodeRecord(d)
				req.Records = append(req.Records, rec)
				return err
			}))
			require.Len(t, req.Records, 1)
			got := req.Records[0].received()
			require.Equal(t, uint64(7), got.Observed)
			got.Observed = 0
			if tt.want.Attrs == nil {
				tt.want.Attrs = map[string]any{}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestEndMessageLongLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		b, start := beginMessage([]byte{9}, 3)
		for i := range n {
			b = append(b, byte(i))
		}
		b = endMessage(b, start)
		r := protoReader{b: b[1:]}
		f, w, _, d, ok := r.next()
		require.True(t, ok)
		require.Equal(t, 3, f)
		require.Equal(t, wireBytes, w)
		require.Len(t, d, n)
		for i := range d {
			if d[i] != byte(i) {
				t.Fatalf("byte %d of %d moved wrong", i, n)
			}
		}
		require.Empty(t, r.b)
	}
}

func TestAppendRecordAllocs(t *testing.T) {
	var rec recorder
	for _, name := range loggerNames {
		newLogger(name, &rec)(1, 1)
	}
	b := make([]byte, 0, 64<<10)
	allocs := testing.AllocsPerRun(100, func() {
		b = b[:0]
		for _, r := range rec.records {
			b = appendRecord(b, r, 1)
		}
	})
	// A time with a numeric offset costs time.Parse a zone; these records
	// are in UTC.
	require.Zero(t, allocs)
}

func TestGzipHeadersAndPlain(t *testing.T) {
	fc := newFakeCollector(t, nil)
	s, _ := newTestSink(t, fc.srv.URL, WithHeaders(map[string]string{"Authorization": "Bearer t"}))
	_, err := s.WriteRecords(records(3, "r%d"))
	require.NoError(t, err)
	plain, _ := newTestSink(t, strings.TrimPrefix(fc.srv.URL, "http://")+"/", WithGzip(false))
	n, err := plain.Write([]byte("one\n"))
	require.NoError(t, err)
	require.Equal(t, 4, n)
	n, err = plain.Write([]byte("two\nthree\n\nfour"))
	require.NoError(t, err)
	require.Equal(t, 15, n)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	require.Len(t, fc.header, 3)
	require.Equal(t, "gzip", fc.header[0].Get("Content-Encoding"))
	require.Equal(t, "Bearer t", fc.header[0].Get("Authorization"))
	require.Empty(t, fc.header[1].Get("Content-Encoding"))
	require.Equal(t, []any{"r0", "r1", "r2", "one", "two\nthree\n\nfour"}, bodies(fc.taken), "Write: one record per call, newlines inside kept")
}

func TestBadRequestIsLost(t *testing.T) {
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		if n == 0 {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(appendStringField(appendVarintField(nil, statusCode, 3), statusMessage, "malformed log record"))
			return false
		}
		return true
	})
	s, waits := newTestSink(t, fc.srv.URL)
	n, err := s.WriteRecords(records(5, "a%d"))
	require.Equal(t, 5, n, "refused records are handled, not resent")
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, "400 Bad Request: malformed log record")
	n, err = s.WriteRecords(records(2, "b%d"))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Empty(t, *waits)
	require.Equal(t, []any{"b0", "b1"}, bodies(fc.received()))
	require.Equal(t, Stats{Sent: 7, Accepted: 2, Lost: 5, Requests: 2}, s.Stats())
}

func TestTooLargeSplits(t *testing.T) {
	// The collector takes at most 3 records a request, and refuses any
	// record with "huge" in it.
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		huge := false
		for _, r := range req.Records {
			huge = huge || strings.Contains(r.Body.(string), "huge")
		}
		if len(req.Records) > 3 || huge {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return false
		}
		return true
	})
	s, waits := newTestSink(t, fc.srv.URL)
	recs := records(10, "r%d")
	recs[6] = []byte("huge\n")
	n, err := s.WriteRecords(recs)
	require.Equal(t, 10, n)
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, "1 records lost")
	want := []any{}
	for i, r := range recs {
		if i != 6 {
			want = append(want, strings.TrimSpace(string(r)))
		}
	}
	require.Equal(t, want, bodies(fc.received()), "every record but the huge one, once, in order")
	st := s.Stats()
	require.Equal(t, uint64(9), st.Accepted)
	require.Equal(t, uint64(1), st.Lost)
	require.Equal(t, uint64(10), st.Sent)
	require.Positive(t, st.Splits)
	require.Zero(t, st.Retries)
	require.Empty(t, *waits)
}

func TestRequestLimitAndUnrepresentable(t *testing.T) {
	fc := newFakeCollector(t, nil)
	s, _ := newTestSink(t, fc.srv.URL, WithMaxRequestSize(1)) // raised to 1 KiB
	recs := records(40, "record %03d "+strings.Repeat("x", 80))
	recs[20] = []byte(strings.Repeat("y", 2000))
	n, err := s.WriteRecords(recs)
	require.Equal(t, 40, n)
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, "2018 bytes encoded, over the limit of 1024")
	reqs := fc.requests()
	require.Greater(t, len(reqs), 3)
	for _, r := range reqs {
		require.LessOrEqual(t, len(r.Records), 1024/90+1)
	}
	require.Len(t, fc.received(), 39)
	require.Equal(t, uint64(1), s.Stats().Unrepresentable)
	require.Equal(t, uint64(39), s.Stats().Accepted)
}

func TestRetryAfterAndThrottling(t *testing.T) {
	statuses := []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests}
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		if n < len(statuses) {
			switch n {
			case 0:
				w.Header().Set("Retry-After", "7")
			case 4:
				w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
			}
			w.WriteHeader(statuses[n])
			return false
		}
		return true
	})
	s, waits := newTestSink(t, fc.srv.URL, WithBackoff(time.Second, 4*time.Second))
	s.backoff.Rand = func(n int64) int64 { return n - 1 } // the top of each step
	n, err := s.WriteRecords(records(3, "r%d"))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Len(t, *waits, 5)
	require.Equal(t, 7*time.Second, (*waits)[0], "Retry-After in seconds")
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, (*waits)[1:4], "exponential backoff")
	require.InDelta(t, float64(30*time.Second), float64((*waits)[4]), float64(2*time.Second), "Retry-After as a date")
	require.Equal(t, []any{"r0", "r1", "r2"}, bodies(fc.received()))
	require.Equal(t, Stats{Sent: 3, Accepted: 3, Requests: 6, Retries: 5}, s.Stats())
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s, waits := newTestSink(t, "http://"+addr)
	var srv *http.Server
	var got atomic.Int32
	tries := 0
	s.sleep = func(ctx context.Context, d time.Duration) bool {
		*waits = append(*waits, d)
		if tries++; tries == 3 { // the collector comes up after 3 refused tries
			ln, err := net.Listen("tcp", addr)
			require.NoError(t, err)
			srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
			})}
			go func() { _ = srv.Serve(ln) }()
		}
		return true
	}
	n, err := s.WriteRecords(records(2, "r%d"))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, int32(1), got.Load())
	require.Len(t, *waits, 3)
	require.Equal(t, uint64(3), s.Stats().Retries)
	require.NoError(t, srv.Close())
}

func TestPartialSuccess(t *testing.T) {
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "application/x-protobuf")
		var ps []byte
		ps, start := beginMessage(ps, responsePartialSuccess)
		ps = appendVarintField(ps, partialRejected, 2)
		ps = appendStringField(ps, partialErrorMessage, "two records too old")
		_, _ = w.Write(endMessage(ps, start))
		return true
	})
	s, waits := newTestSink(t, fc.srv.URL)
	n, err := s.WriteRecords(records(5, "r%d"))
	require.Equal(t, 5, n)
	require.ErrorIs(t, err, ErrPartialSuccess)
	require.ErrorContains(t, err, "2 of 5: two records too old")
	require.Empty(t, *waits)
	require.Len(t, fc.requests(), 1, "never resent")
	require.Equal(t, Stats{Sent: 5, Accepted: 3, Rejected: 2, Requests: 1}, s.Stats())
}

func TestCloseStopsRetries(t *testing.T) {
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	})
	s := New(fc.srv.URL, WithBackoff(time.Millisecond, 2*time.Millisecond))
	type ret struct {
		n   int
		err error
	}
	done := make(chan ret)
	go func() {
		n, err := s.WriteRecords(records(4, "r%d"))
		done <- ret{n, err}
	}()
	require.Eventually(t, func() bool { return len(fc.requests()) >= 3 }, 10*time.Second, time.Millisecond)
	require.NoError(t, s.Close())
	r := <-done
	require.Zero(t, r.n)
	require.ErrorIs(t, r.err, ErrClosed)
	n, err := s.WriteRecords(records(1, "after"))
	require.Zero(t, n)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, s.Close())
	require.Zero(t, s.Stats().Accepted)
}

func TestNewNeverFails(t *testing.T) {
	s := New("http://bad host:99")
	defer s.Close()
	n, err := s.WriteRecords(records(2, "r%d"))
	require.Equal(t, 2, n)
	require.Error(t, err)
	require.Equal(t, uint64(2), s.Stats().Lost)
}

func TestConcurrentWritesAndStats(t *testing.T) {
	fc := newFakeCollector(t, nil)
	s, _ := newTestSink(t, fc.srv.URL)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				_, err := s.Write(fmt.Appendf(nil, "g%d-%d", g, i))
				assert.NoError(t, err)
				_ = s.Stats()
			}
		}()
	}
	wg.Wait()
	got := fc.received()
	require.Len(t, got, 200)
	last := map[byte]int{}
	for _, r := range got {
		var g, i int
		_, err := fmt.Sscanf(r.Body.(string), "g%d-%d", &g, &i)
		require.NoError(t, err)
		if prev, ok := last[byte(g)]; ok {
			require.Equal(t, prev+1, i, "each goroutine's records in order")
		}
		last[byte(g)] = i
	}
}

func TestTLS(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused below
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	s, _ := newTestSink(t, srv.URL, WithTLS(&tls.Config{RootCAs: pool}))
	_, err := s.WriteRecords(records(1, "r%d"))
	require.NoError(t, err)
	require.Equal(t, int32(1), got.Load())

	// Without the CA the certificate is not trusted: a connection error,
	// retried until Close.
	untrusting, waits := newTestSink(t, srv.URL)
	untrusting.sleep = func(ctx context.Context, d time.Duration) bool {
		*waits = append(*waits, d)
		return len(*waits) < 2
	}
	n, err := untrusting.WriteRecords(records(1, "r%d"))
	require.Zero(t, n)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorContains(t, err, "certificate")
	require.Equal(t, int32(1), got.Load())
}

func TestTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		if n == 0 {
			<-release // longer than the sink waits
		}
		return true
	})
	defer close(release)
	s, waits := newTestSink(t, fc.srv.URL, WithTimeout(50*time.Millisecond))
	n, err := s.WriteRecords(records(2, "r%d"))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Len(t, *waits, 1)
	require.Equal(t, Stats{Sent: 2, Accepted: 2, Requests: 2, Retries: 1}, s.Stats())
}

// TestCoreCloseThenSinkClose: with the collector answering 503, a
// core.Writer's Close gives up after its sync timeout while the sink
// retries; the Sink's Close then ends the retries, and the writer
// goroutine with them (goleak checks it), the records counted lost.
func TestCoreCloseThenSinkClose(t *testing.T) {
	fc := newFakeCollector(t, func(n int, req decodedRequest, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	})
	s := New(fc.srv.URL, WithBackoff(time.Millisecond, 5*time.Millisecond))
	var errs errorLog
	w := core.New(core.WithSink(s), core.WithSyncTimeout(200*time.Millisecond), core.WithErrorHandler(errs.add))
	for i := range 10 {
		_, err := fmt.Fprintf(w, "record %d\n", i)
		require.NoError(t, err)
	}
	require.ErrorIs(t, w.Close(), core.ErrTimeout)
	require.NoError(t, s.Close())
	// The writer goroutine counts the records lost, then reports.
	require.Eventually(t, func() bool { return w.Stats().LostRecords == 10 && len(errs.all()) > 0 }, 10*time.Second, time.Millisecond)
	require.Zero(t, s.Stats().Accepted)
	require.Positive(t, s.Stats().Retries)
	closed := false
	for _, err := range errs.all() {
		closed = closed || errors.Is(err, ErrClosed)
	}
	require.True(t, closed, "%v", errs.all())
}

// TestRetryRateBounded: against a peer that drops every connection, the
// sink's tries follow the backoff, with real waits: a bounded number in a
// second, not a loop.
func TestRetryRateBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepts atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()
	s := New("http://"+ln.Addr().String(), WithBackoff(20*time.Millisecond, 100*time.Millisecond))
	go func() {
		time.Sleep(time.Second)
		s.Close()
	}()
	n, err := s.WriteRecords(records(1, "r%d"))
	require.Zero(t, n)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, ln.Close())
	<-done
	// Waits of at least 10, 20, 40, 50, 50 … ms: at most about 22 tries in
	// the second (and the transport may retry a dropped connection once).
	tries := s.Stats().Retries + 1
	require.Greater(t, tries, uint64(2))
	require.LessOrEqual(t, tries, uint64(25))
	require.LessOrEqual(t, accepts.Load(), int32(2*tries))
}
