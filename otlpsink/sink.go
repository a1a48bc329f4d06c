package otlpsink

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/backoff"
)

// Errors a Sink returns, wrapped with what happened; check them with
// errors.Is.
var (
	// ErrClosed: the Sink is closed; the records not yet accepted were not
	// delivered.
	ErrClosed = errors.New("otlpsink: closed")
	// ErrRefused: the collector refused a request for good (a status not
	// worth retrying); its records are counted in Stats.Lost.
	ErrRefused = errors.New("otlpsink: request refused")
	// ErrPartialSuccess: the collector took a request but rejected some of
	// its records; they are counted in Stats.Rejected.
	ErrPartialSuccess = errors.New("otlpsink: records rejected by the collector")
	// ErrTooLarge: a record's encoding alone is longer than the request
	// limit; it is counted in Stats.Unrepresentable.
	ErrTooLarge = errors.New("otlpsink: record too large for a request")
)

// ScopeName is the instrumentation scope of the records a Sink sends.
const ScopeName = "github.com/asynclog/asynclog/otlpsink"

// A Sink sends records to an OpenTelemetry Collector, or any OTLP/HTTP
// logs endpoint, each record one LogRecord of the OpenTelemetry log data
// model (see the package documentation for the mapping). It is meant to
// be the sink of a core.Writer, which hands it the records of each write
// with their boundaries (core.RecordWriter) on the Writer's own goroutine,
// so that the encoding and the network never cost the caller of Write.
//
// A request that fails in a way worth retrying (a connection error, a
// timeout, 429, 502, 503, 504) is retried, after the backoff or the
// collector's Retry-After, until the collector takes it or Close is
// called: meanwhile the Writer's buffers fill and its Overflow policy
// decides (Block waits, Drop counts). Anything else is reported and
// counted (see Stats), never retried.
//
// Its methods are safe for concurrent use; requests are made one at a
// time.
type Sink struct {
	url      string
	urlErr   error
	cfg      config
	client   *http.Client
	resource []byte // ResourceLogs.resource, encoded once
	ctx      context.Context
	cancel   context.CancelFunc
	closing  sync.Once
	stats    stats

	mu      sync.Mutex // held by WriteRecords: one request at a time
	recs    []byte     // the encoded LogRecord fields of the present call
	ends    []int      // where each record's encoding ends in recs
	head    []byte
	body    bytes.Buffer
	zw      *gzip.Writer
	one     [1][]byte // Write's record
	backoff backoff.Backoff
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) bool
}

var (
	_ core.RecordWriter = (*Sink)(nil)
	_ io.WriteCloser    = (*Sink)(nil)
)

// New returns a Sink that sends to the OTLP/HTTP endpoint at the base URL
// endpoint, such as "http://127.0.0.1:4318" or "https://otel.example.com";
// records go to its path /v1/logs. An endpoint with no scheme is taken as
// http. New never fails: an endpoint that is not a URL is an error of
// every write.
func New(endpoint string, opts ...Option) *Sink {
	cfg := defaultConfig()
	cfg.resource = []Attr{{Key: "service.name", Value: filepath.Base(os.Args[0])}}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Sink{cfg: cfg, backoff: backoff.Backoff{Min: cfg.backoffMin, Max: cfg.backoffMax}, now: time.Now, sleep: sleep}
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	s.url = strings.TrimRight(endpoint, "/") + "/v1/logs"
	if _, err := http.NewRequest(http.MethodPost, s.url, nil); err != nil {
		s.urlErr = fmt.Errorf("otlpsink: endpoint %q: %w", endpoint, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.tls
	tr.MaxIdleConnsPerHost = 1
	s.client = &http.Client{Transport: tr, Timeout: cfg.timeout,
		// A redirect is not followed: it would carry the records, and the
		// headers (credentials), to another endpoint. Its status is
		// reported as any other that is not retried.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.gzip {
		s.zw, _ = gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	}

	// ResourceLogs.resource and ScopeLogs.scope, which every request
	// repeats.
	b, res := beginMessage(nil, resourceLogsResource)
	for _, a := range cfg.resource {
		var kv, v int
		b, kv = beginMessage(b, resourceAttributes)
		b = appendStringField(b, kvKey, a.Key)
		b, v = beginMessage(b, kvValue)
		b = appendStringField(b, anyString, a.Value)
		b = endMessage(endMessage(b, v), kv)
	}
	b = endMessage(b, res)
	s.resource = b
	return s
}

// Stats returns the Sink's counters.
func (s *Sink) Stats() Stats { return s.stats.load() }

// Write sends p as one record, as WriteRecords sends records: it is the
// io.Writer of a logger that writes one record per call, and a core.Writer
// never calls it (it hands a RecordWriter everything with WriteRecords,
// what it recovers from a spool too). A record with newlines inside (a
// multi-line message in text) stays whole. Write returns len(p) once the
// record is handled (with an error if the collector did not take it), or
// 0 and an error if Close ended it first.
func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.one[0] = p
	n, err := s.writeRecords(s.one[:])
	s.one[0] = nil
	if n == 1 {
		return len(p), err
	}
	return 0, err
}

// WriteRecords sends records, each one LogRecord, in as few requests as
// the request limit allows, and returns when the collector has answered
// for all of them: n is len(records), and err, if not nil, reports the
// records the collector rejected or refused, or that could not be sent
// (they are counted in Stats and will not be sent again). Only Close ends
// it early: then n counts the records handled before, and err wraps
// ErrClosed.
//
// Under a core.Writer, whose error handler gets err, the records the
// collector rejected or refused are counted in this Sink's Stats (Rejected,
// Lost), not in the Writer's LostRecords: they may sit between records it
// took, and n counts records from the start.
func (s *Sink) WriteRecords(records [][]byte) (n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeRecords(records)
}

func (s *Sink) writeRecords(records [][]byte) (int, error) {
	if s.ctx.Err() != nil {
		return 0, ErrClosed
	}
	if s.urlErr != nil {
		s.stats.lost.Add(uint64(len(records)))
		return len(records), s.urlErr
	}
	var errs []error
	observed := uint64(s.now().UnixNano())
	s.recs, s.ends = s.recs[:0], s.ends[:0]
	for _, r := range records {
		before := len(s.recs)
		s.recs = appendRecord(s.recs, r, observed)
		if size := len(s.recs) - before; size > s.cfg.maxRequest {
			s.recs = s.recs[:before]
			s.stats.unrepresentable.Add(1)
			errs = append(errs, fmt.Errorf("%w: %d bytes encoded, over the limit of %d", ErrTooLarge, size, s.cfg.maxRequest))
		}
		s.ends = append(s.ends, len(s.recs))
	}
	for done := 0; done < len(records); {
		hi := done + 1
		for hi < len(records) && s.ends[hi]-s.start(done) <= s.cfg.maxRequest {
			hi++
		}
		s.stats.sent.Add(uint64(s.count(done, hi)))
		n, err := s.send(done, hi)
		done += n
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrClosed) {
				return done, errors.Join(errs...)
			}
		}
	}
	return len(records), errors.Join(errs...)
}

// start is where the encoding of record i begins in s.recs.
func (s *Sink) start(i int) int {
	if i == 0 {
		return 0
	}
	return s.ends[i-1]
}

// count is the number of records in [lo, hi) with an encoding (not
// dropped as unrepresentable).
func (s *Sink) count(lo, hi int) int {
	n := 0
	for i := lo; i < hi; i++ {
		if s.ends[i] > s.start(i) {
			n++
		}
	}
	return n
}

// send sends records [lo, hi) until the collector answers for them, and
// returns how many of them are handled: hi-lo, unless Close ended it.
func (s *Sink) send(lo, hi int) (int, error) {
	count := s.count(lo, hi)
	if count == 0 {
		return hi - lo, nil
	}
	for try := 0; ; try++ {
		if try > 0 {
			s.stats.retries.Add(1)
		}
		res := s.post(s.recs[s.start(lo):s.ends[hi-1]])
		switch {
		case res.closed:
			return 0, fmt.Errorf("%w: %d records not delivered", ErrClosed, count)
		case res.ok:
			s.backoff.Reset()
			rejected := min(max(res.rejected, 0), int64(count))
			s.stats.accepted.Add(uint64(int64(count) - rejected))
			if res.rejected > 0 || res.message != "" {
				s.stats.rejected.Add(uint64(rejected))
				return hi - lo, fmt.Errorf("%w: %d of %d: %s", ErrPartialSuccess, res.rejected, count, res.message)
			}
			return hi - lo, nil
		case res.status == http.StatusRequestEntityTooLarge && count > 1:
			s.backoff.Reset()
			s.stats.splits.Add(1)
			mid := lo + (hi-lo)/2
			for s.count(lo, mid) == 0 {
				mid++
			}
			n, err1 := s.send(lo, mid)
			if n < mid-lo {
				return n, err1
			}
			m, err2 := s.send(mid, hi)
			return n + m, errors.Join(err1, err2)
		case res.retry:
			wait := res.retryAfter
			if wait <= 0 {
				wait = s.backoff.Next()
			}
			if !s.sleep(s.ctx, wait) {
				return 0, fmt.Errorf("%w: %d records not delivered (%v)", ErrClosed, count, res.err)
			}
		default:
			s.backoff.Reset()
			s.stats.lost.Add(uint64(count))
			return hi - lo, fmt.Errorf("%w: %d records lost: %w", ErrRefused, count, res.err)
		}
	}
}

// A result is the outcome of one request.
type result struct {
	ok         bool          // 2xx
	rejected   int64         // with ok: records rejected in a partial success
	message    string        // with ok: the partial success's message
	retry      bool          // worth retrying
	retryAfter time.Duration // with retry: the collector's Retry-After, if any
	closed     bool          // Close ended it
	status     int           // the HTTP status, if the collector answered
	err        error         // what went wrong, unless ok
}

// post sends one request with recs, the encoded log_records fields.
func (s *Sink) post(recs []byte) result {
	s.stats.requests.Add(1)
	body := s.encodeRequest(recs)
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if s.zw != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range s.cfg.headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if s.ctx.Err() != nil {
			return result{closed: true, err: err}
		}
		return result{retry: true, err: fmt.Errorf("otlpsink: %w", err)}
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil && s.ctx.Err() != nil {
		return result{closed: true, err: err}
	}
	res := result{status: resp.StatusCode}
	if 200 <= resp.StatusCode && resp.StatusCode < 300 {
		// The records were taken, even if the answer was cut short.
		res.ok = true
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf") {
			res.rejected, res.message, _ = partialSuccess(answer)
		}
		return res
	}
	why := strings.TrimSpace(string(answer))
	if msg, ok := statusText(answer); ok && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf") {
		why = msg
	}
	if len(why) > 512 {
		why = why[:512] + "…"
	}
	res.err = fmt.Errorf("otlpsink: collector answered %s: %s", resp.Status, why)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		res.retry = true
		res.retryAfter = retryAfter(resp.Header.Get("Retry-After"), s.now())
	}
	return res
}

// encodeRequest returns the body of a request with recs: an
// ExportLogsServiceRequest with one ResourceLogs and one ScopeLogs,
// gzipped unless WithGzip(false).
func (s *Sink) encodeRequest(recs []byte) []byte {
	scopeLen := len(scopeField) + len(recs)
	resLen := len(s.resource) + 1 + varintLen(uint64(scopeLen)) + scopeLen
	h := appendVarint(appendTag(s.head[:0], requestResourceLogs, wireBytes), uint64(resLen))
	h = append(h, s.resource...)
	h = appendVarint(appendTag(h, resourceLogsScopeLogs, wireBytes), uint64(scopeLen))
	h = append(h, scopeField...)
	s.head = h
	s.body.Reset()
	if s.zw == nil {
		s.body.Write(h)
		s.body.Write(recs)
		return s.body.Bytes()
	}
	s.zw.Reset(&s.body)
	_, _ = s.zw.Write(h)
	_, _ = s.zw.Write(recs)
	_ = s.zw.Close()
	return s.body.Bytes()
}

// scopeField is ScopeLogs.scope: the InstrumentationScope named ScopeName.
var scopeField = func() []byte {
	b, sc := beginMessage(nil, scopeLogsScope)
	b = appendStringField(b, scopeName, ScopeName)
	return endMessage(b, sc)
}()

// retryAfter parses a Retry-After header: a number of seconds or an HTTP
// date. It returns 0 for none.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil {
		return time.Duration(max(secs, 0)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// sleep waits d, or less if ctx ends first, and reports whether it waited
// all of d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close stops the Sink: a request under way is abandoned and no retry
// follows, so that a WriteRecords call retrying a collector that is down
// returns at once, with ErrClosed, counting only the records handled
// before. Later calls return ErrClosed. Close waits for that call to
// return; it is idempotent and always returns nil.
//
// Close a core.Writer over the Sink first, so that what it holds is sent
// while the Sink still can; if the collector is down, the Writer's Close
// gives up after its sync timeout, and the Sink's Close then ends the
// retries (with a spool, the records not delivered are sent again by the
// next Writer on it).
func (s *Sink) Close() error {
	s.closing.Do(func() {
		s.cancel()
		s.mu.Lock()
		s.client.CloseIdleConnections()
		s.mu.Unlock()
	})
	return nil
}
