package zapasync

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
)

func TestParseSinkURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want sinkTarget
	}{
		{"asynclog:///var/log/app.log", sinkTarget{path: filepath.FromSlash("/var/log/app.log")}},
		{"asynclog:/var/log/app.log", sinkTarget{path: filepath.FromSlash("/var/log/app.log")}},
		{"asynclog://localhost/var/log/app.log", sinkTarget{path: filepath.FromSlash("/var/log/app.log")}},
		{"asynclog:app.log", sinkTarget{path: "app.log"}},
		{"asynclog:../logs/app.log", sinkTarget{path: filepath.FromSlash("../logs/app.log")}},
		{"asynclog:stdout", sinkTarget{stream: os.Stdout}},
		{"asynclog:stderr?overflow=drop", sinkTarget{stream: os.Stderr, overflow: "drop"}},
		{"asynclog:///stdout", sinkTarget{path: filepath.FromSlash("/stdout")}}, // a file
		{"asynclog:app.log?buffer=1MiB&flush=50ms&overflow=block",
			sinkTarget{path: "app.log", bufferSize: 1 << 20, flush: 50 * time.Millisecond, overflow: "block"}},
		{"asynclog:app.log?buffer=512KiB", sinkTarget{path: "app.log", bufferSize: 512 << 10}},
		{"asynclog:app.log?buffer=1GiB", sinkTarget{path: "app.log", bufferSize: 1 << 30}},
		{"asynclog:app.log?buffer=4096B", sinkTarget{path: "app.log", bufferSize: 4096}},
		{"asynclog:app.log?buffer=4096", sinkTarget{path: "app.log", bufferSize: 4096}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			require.NoError(t, err)
			got, err := parseSinkURL(u)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSinkFactoryDefaults(t *testing.T) {
	dir := t.TempDir()
	// The defaults hold a sink, which the URL's replaces, and a buffer
	// size, which a query overrides.
	var unused countingSink
	factory := sinkFactory([]core.Option{core.WithBufferSize(64 << 10), core.WithSink(&unused)})
	open := func(rawURL string) *sink {
		u, err := url.Parse(rawURL)
		require.NoError(t, err)
		s, err := factory(u)
		require.NoError(t, err)
		return s.(*sink)
	}

	def := open("asynclog:///" + filepath.ToSlash(filepath.Join(dir, "default.log")))
	over := open("asynclog:///" + filepath.ToSlash(filepath.Join(dir, "override.log")) + "?buffer=1MiB")
	assert.Equal(t, 64<<10, def.Stats().BufferSize)
	assert.Equal(t, 1<<20, over.Stats().BufferSize)

	_, err := def.Write([]byte("{}\n"))
	require.NoError(t, err)
	require.NoError(t, def.Close())
	require.NoError(t, def.Close()) // idempotent
	require.NoError(t, over.Close())
	assert.Zero(t, unused.n)
	data, err := os.ReadFile(filepath.Join(dir, "default.log"))
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(data))
	// The file is closed.
	_, err = def.file.Write([]byte("late"))
	require.ErrorIs(t, err, os.ErrClosed)
}

// countingSink counts the bytes written to it.
type countingSink struct{ n int }

func (s *countingSink) Write(p []byte) (int, error) {
	s.n += len(p)
	return len(p), nil
}
