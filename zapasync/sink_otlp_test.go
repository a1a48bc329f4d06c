package zapasync_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/asynclog/asynclog/zapasync"
)

// TestOTLPSinkURL: an asynclog+otlp output path ships zap's entries to an
// OTLP/HTTP endpoint, under the URL's path. (otlpsink's tests check the
// encoding against the real collector; here the entries' text is looked
// for in the gunzipped protobuf.)
func TestOTLPSinkURL(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		require.NoError(t, err)
		b, err := io.ReadAll(zr)
		require.NoError(t, err)
		mu.Lock()
		bodies = append(bodies, b)
		paths = append(paths, r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
	}))
	defer srv.Close()
	logger, err := jsonConfig(strings.Replace(srv.URL, "http://", zapasync.SchemeOTLP+"://", 1) + "/base?buffer=64KiB&overflow=block").Build()
	require.NoError(t, err)
	for i := range 3 {
		logger.Info("shipped", zap.Int("n", i), zap.String("marker", "otlp-entry"))
	}
	require.NoError(t, logger.Sync())
	require.NoError(t, zapasync.CloseSinks())
	mu.Lock()
	defer mu.Unlock()
	all := bytes.Join(bodies, nil)
	require.Equal(t, 3, bytes.Count(all, []byte("otlp-entry")))
	require.Equal(t, 3, bytes.Count(all, []byte("shipped")))
	for _, p := range paths {
		require.Equal(t, "/base/v1/logs application/x-protobuf", p)
	}
}

func TestOTLPSinkURLErrors(t *testing.T) {
	for _, u := range []string{
		"asynclog+otlp:opaque",
		"asynclog+otlp://u@127.0.0.1:4318",
		"asynclog+otlp://127.0.0.1:4318#frag",
		"asynclog+otlp://127.0.0.1:4318?color=red",
		"asynclog+otlps://127.0.0.1:4318?overflow=sometimes",
	} {
		_, err := jsonConfig(u).Build()
		require.Error(t, err, u)
	}
}
