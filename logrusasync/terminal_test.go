package logrusasync_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/creack/pty"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/logrusasync"
)

// infoInColour is how logrus's TextFormatter writes the level of an Info
// entry when it colours.
const infoInColour = "\x1b[36mINFO\x1b[0m"

// openTerminal opens a pseudo-terminal and returns its terminal end, the
// sink, and a function that returns what has been written to it so far,
// once a line has arrived. It skips the test where no pty can be opened.
func openTerminal(t *testing.T) (tty *os.File, line func() string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	lines := make(chan string, 1)
	go func() {
		// The reader ends when both ends are closed.
		var got []byte
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			got = append(got, buf[:n]...)
			if i := bytes.IndexByte(got, '\n'); i >= 0 {
				lines <- string(got[:i+1])
				got = got[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = tty.Close()
		_ = ptmx.Close()
		for range lines {
		}
	})
	return tty, func() string {
		l, ok := <-lines
		require.True(t, ok, "the terminal closed before a line arrived")
		return l
	}
}

func TestTextFormatterColoursOnTerminal(t *testing.T) {
	for _, tc := range []struct {
		name         string
		formatter    *logrus.TextFormatter
		formatterOut bool // FormatterOut is the terminal
		colour       bool
	}{
		{"FormatterOut", new(logrus.TextFormatter), true, true},
		{"no FormatterOut", new(logrus.TextFormatter), false, false},
		{"DisableColors", &logrus.TextFormatter{DisableColors: true}, true, false},
		{"ForceColors", &logrus.TextFormatter{ForceColors: true}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tty, line := openTerminal(t)
			hook := logrusasync.NewHook(core.WithSink(tty))
			defer hook.Close()
			if tc.formatterOut {
				hook.FormatterOut = tty
			}
			logger := logrus.New()
			logger.SetFormatter(tc.formatter)
			hook.Install(logger)

			logger.WithField("k", "v").Info("to the terminal")
			require.NoError(t, hook.Sync())

			got := line()
			assert.Contains(t, got, "to the terminal")
			if tc.colour {
				assert.Contains(t, got, infoInColour)
			} else {
				assert.NotContains(t, got, "\x1b[")
			}
		})
	}
}

func TestFormatterOutNotTerminal(t *testing.T) {
	// FormatterOut that is a file: no colours, as logrus writing there.
	f := createFile(t)
	hook := logrusasync.NewHook(core.WithSink(f))
	hook.FormatterOut = f
	logger := logrus.New()
	logger.SetReportCaller(true)
	hook.Install(logger)
	// Fires after the hook: the entry's own logger is back once Fire
	// returns.
	var checked bytes.Buffer
	logger.AddHook(entryLoggerHook{t: t, want: logger, out: &checked})

	logger.Info("to a file")
	require.NoError(t, hook.Close())

	got := readFile(t, f.Name())
	assert.Contains(t, got, `msg="to a file"`)
	assert.NotContains(t, got, "\x1b[")
	// The entry's caller is still reported through the stand-in logger.
	assert.Contains(t, got, "func=")
	assert.Equal(t, "ok", checked.String())
}

// entryLoggerHook checks, when it fires after the logrusasync hook, that
// the entry's Logger is the one it was logged with.
type entryLoggerHook struct {
	t    *testing.T
	want *logrus.Logger
	out  io.Writer
}

func (entryLoggerHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h entryLoggerHook) Fire(e *logrus.Entry) error {
	if assert.Same(h.t, h.want, e.Logger) {
		_, _ = io.WriteString(h.out, "ok")
	}
	return nil
}
