//go:build review

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
