package zapasync_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/asynclog/asynclog/zapasync"
)

// octetCollector accepts one connection of RFC 6587 octet-counted
// messages and returns its address and a function that waits for the
// connection to end and returns the messages.
func octetCollector(t *testing.T) (string, func() []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var msgs []string
	var wg sync.WaitGroup
	wg.Go(func() {
		defer l.Close()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			size, err := r.ReadString(' ')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(size))
			if !assert.NoError(t, err) {
				return
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			msgs = append(msgs, string(b))
		}
	})
	t.Cleanup(func() { l.Close() })
	return l.Addr().String(), func() []string {
		wg.Wait()
		return msgs
	}
}

// TestCollectorScheme: a zap.Config whose output path is an
// asynclog+syslog URL sends each entry as one message, whole, in order,
// and CloseSinks closes the connection.
func TestCollectorScheme(t *testing.T) {
	addr, messages := octetCollector(t)
	logger, err := jsonConfig(zapasync.SchemeSyslog + "://" + addr + "?format=raw&buffer=64KiB&overflow=block").Build()
	require.NoError(t, err)
	for i := range 1000 {
		logger.Info("entry", zap.Int("seq", i))
	}
	logger.Warn("last")
	require.NoError(t, logger.Sync())
	require.NoError(t, zapasync.CloseSinks())
	msgs := messages()
	require.Len(t, msgs, 1001)
	for i, m := range msgs[:1000] {
		var e struct {
			Level string
			Msg   string
			Seq   int
		}
		require.NoError(t, json.Unmarshal([]byte(m), &e), "%q", m)
		assert.Equal(t, "info", e.Level)
		assert.Equal(t, i, e.Seq)
		assert.False(t, strings.HasSuffix(m, "\n"))
	}
	assert.Contains(t, msgs[1000], `"level":"warn"`)
}

// TestCollectorSchemeRFC5424: the default format, with the facility and
// app name of the query; the severity is the entry's level.
func TestCollectorSchemeRFC5424(t *testing.T) {
	addr, messages := octetCollector(t)
	logger, err := jsonConfig(zapasync.SchemeSyslog + "://" + addr + "?facility=local0&app=shop&hostname=web-1").Build()
	require.NoError(t, err)
	logger.Error("failed")
	require.NoError(t, logger.Sync())
	require.NoError(t, zapasync.CloseSinks())
	msgs := messages()
	require.Len(t, msgs, 1)
	assert.Regexp(t, `^<131>1 \S+ web-1 shop \d+ - - \{"level":"error",.*"msg":"failed"\}$`, msgs[0])
}

func TestCollectorURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"asynclog+relp://127.0.0.1", "no port"},
		{"asynclog+relp://127.0.0.1:1/path", "a path is not allowed"},
		{"asynclog+relp://u@127.0.0.1:1", "a user is not allowed"},
		{"asynclog+relp://127.0.0.1:1#x", "a fragment is not allowed"},
		{"asynclog+relp:opaque", "want asynclog+relp://host:port"},
		{"asynclog+syslog://127.0.0.1:1?format=xml", "format=xml: want rfc5424 or raw"},
		{"asynclog+syslog://127.0.0.1:1?facility=local9", "facility=local9"},
		{"asynclog+syslog://127.0.0.1:1?window=0", "window=0"},
		{"asynclog+syslog://127.0.0.1:1?maxmsg=big", "maxmsg=big"},
		{"asynclog+syslog://127.0.0.1:1?tls=maybe", "tls=maybe: want on or off"},
		{"asynclog+syslog://127.0.0.1:1?ca=x.pem", "ca= without tls=on"},
		{"asynclog+syslog://127.0.0.1:1?tls=on&cert=c.pem", "cert= and key= go together"},
		{"asynclog+syslog://127.0.0.1:1?tls=on&ca=/nonexistent.pem", "ca=/nonexistent.pem"},
		{"asynclog+syslog://127.0.0.1:1?color=red", `unknown parameter "color"`},
		{"asynclog:app.log?format=raw", `unknown parameter "format": want buffer, flush, overflow, maxwrite or spool`},
	} {
		_, err := jsonConfig(tc.url).Build()
		if assert.Error(t, err, tc.url) {
			assert.Contains(t, err.Error(), tc.want, tc.url)
		}
	}
}

// TestCollectorSchemeDown: a collector that refuses connections: the
// sink retries, Sync is bounded by the core's sync timeout, and
// CloseSinks stops the retries, reporting what was not delivered.
func TestCollectorSchemeDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	logger, err := jsonConfig(zapasync.SchemeRELP + "://" + addr + "?overflow=drop").Build()
	require.NoError(t, err)
	logger.Info("never delivered")
	require.Error(t, logger.Sync())
	require.Error(t, zapasync.CloseSinks())
}
