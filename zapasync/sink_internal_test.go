package zapasync

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/internal/logtest"
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
		{"asynclog:app.log?maxwrite=100MiB", sinkTarget{path: "app.log", maxWriteSize: 100 << 20}},
		{"asynclog:app.log?spool=app.spool", sinkTarget{path: "app.log", spool: "app.spool"}},
		{"asynclog:app.log?spool=/run/app/app.spool", sinkTarget{path: "app.log", spool: filepath.FromSlash("/run/app/app.spool")}},
		// Percent-decoded as a path is: '+' stands for itself.
		{"asynclog:app.log?spool=my%20app+1%26%25.spool", sinkTarget{path: "app.log", spool: "my app+1&%.spool"}},
		{"asynclog:app.log?overflow=drop&&maxwrite=4KiB&spool=s", sinkTarget{path: "app.log", overflow: "drop", maxWriteSize: 4 << 10, spool: "s"}},
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

func TestSinkOptions(t *testing.T) {
	// The options of a URL's query reach the core: here, the bound on its
	// writes.
	u, err := url.Parse("asynclog:app.log?maxwrite=100&flush=1h&buffer=4KiB")
	require.NoError(t, err)
	target, err := parseSinkURL(u)
	require.NoError(t, err)
	sink := logtest.NewRecordingSink()
	ws := New(append(target.options(), core.WithSink(sink))...)
	defer ws.Close()
	assert.Equal(t, 4<<10, ws.Stats().BufferSize)

	// The first record is written at once; the others wait for the
	// Sync, and are then written two to a call, 80 bytes, where without
	// the bound the 360 bytes would go in one.
	record := func(i int) []byte {
		return []byte(fmt.Sprintf("{\"i\":%d,\"pad\":\"%s\"}\n", i, strings.Repeat("p", 23)))
	}
	require.Len(t, record(0), 40)
	_, err = ws.Write(record(0))
	require.NoError(t, err)
	sink.AwaitWrites(t, 1)
	var want bytes.Buffer
	want.Write(record(0))
	for i := 1; i < 10; i++ {
		_, err = ws.Write(record(i))
		require.NoError(t, err)
		want.Write(record(i))
	}
	require.NoError(t, ws.Sync())

	writes := sink.Writes()
	for _, p := range writes {
		assert.LessOrEqual(t, len(p), 100)
	}
	assert.Len(t, writes, 6)
	assert.Equal(t, want.String(), string(sink.Bytes()))
}

// countingSink counts the bytes written to it.
type countingSink struct{ n int }

func (s *countingSink) Write(p []byte) (int, error) {
	s.n += len(p)
	return len(p), nil
}
