package otlpsink

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReview2RedirectForwardsHeadersAndRecords: the collector (or whatever
// answers at the endpoint, such as a proxy or someone on a plain-http
// path) answers 307 with a Location on another host. The Sink's
// http.Client follows it and posts the records, with the WithHeaders
// headers (an API key, as the option's godoc suggests), to that host. Go
// strips only Authorization, Cookie and WWW-Authenticate on a redirect to
// another host; any other credential header, and every record, go to a
// host the user never configured. An OTLP exporter has no reason to follow
// a redirect: CheckRedirect could refuse it (http.ErrUseLastResponse).
func TestReview2RedirectForwardsHeadersAndRecords(t *testing.T) {
	var mu sync.Mutex
	var elsewhere []http.Header
	var bodies int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		elsewhere = append(elsewhere, r.Header.Clone())
		if len(b) > 0 {
			bodies++
		}
		mu.Unlock()
	}))
	defer other.Close()
	_, port, err := net.SplitHostPort(other.Listener.Addr().String())
	require.NoError(t, err)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		// "localhost" is another host than 127.0.0.1 to net/http.
		http.Redirect(w, r, "http://localhost:"+port+"/collect", http.StatusTemporaryRedirect)
	}))
	defer collector.Close()

	s := New(collector.URL, WithHeaders(map[string]string{"X-Api-Key": "secret-token", "Authorization": "Bearer secret"}),
		WithTimeout(2*time.Second), WithBackoff(10*time.Millisecond, 20*time.Millisecond))
	defer s.Close()
	n, err := s.WriteRecords(records(3, `{"level":"info","msg":"m%d"}`))
	assert.Equal(t, 3, n)
	t.Logf("WriteRecords: %v; stats %+v", err, s.Stats())

	mu.Lock()
	defer mu.Unlock()
	for _, h := range elsewhere {
		assert.Empty(t, h.Get("X-Api-Key"), "the API key was sent to a host the redirect named")
	}
	assert.Zero(t, bodies, "the records were posted to a host the redirect named")
	assert.Zero(t, s.Stats().Accepted, "records counted accepted on the answer of another host")
}

// TestReview2RedirectTurnsPostIntoGet: on a 301, 302 or 303 the
// http.Client follows with a GET and no body. An endpoint redirected to a
// page that answers a GET with 200 (an http-to-https redirect to a proxy's
// landing page, a login page) makes every request "succeed": the records
// are counted accepted and WriteRecords reports nothing, though no
// collector ever saw them.
func TestReview2RedirectTurnsPostIntoGet(t *testing.T) {
	var mu sync.Mutex
	var methods []string
	var posted int
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		methods = append(methods, r.Method)
		posted += len(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>welcome</html>")
	}))
	defer page.Close()
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, page.URL+"/landing", http.StatusFound)
	}))
	defer collector.Close()

	s := New(collector.URL, WithTimeout(2*time.Second), WithBackoff(10*time.Millisecond, 20*time.Millisecond))
	defer s.Close()
	n, err := s.WriteRecords(records(3, `{"level":"info","msg":"m%d"}`))
	assert.Equal(t, 3, n)
	mu.Lock()
	t.Logf("page got %v, %d bytes of body", methods, posted)
	mu.Unlock()
	assert.Error(t, err, "the records reached no collector, and WriteRecords says nothing")
	assert.Zero(t, s.Stats().Accepted, "records counted accepted: %+v", s.Stats())
}
