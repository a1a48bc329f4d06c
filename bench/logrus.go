package bench

import (
	"io"

	"github.com/sirupsen/logrus"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/logrusasync"
)

// The logrus group: a logrus.Logger with the JSONFormatter over each
// output.
func init() {
	register("logrus", LoggerCases,
		&Output{Name: "discard", Title: "io.Discard", Discard: true, Open: func(_ io.Writer, c Case) Logger {
			return newLogrus(newLogrusLogger(io.Discard), c, nop, nop)
		}},
		&Output{Name: "file", Title: "*os.File", Open: func(w io.Writer, c Case) Logger {
			return newLogrus(newLogrusLogger(w), c, syncOf(w), nop)
		}},
		&Output{Name: "logrusasync", Title: "logrusasync (Hook.Install)", Open: func(w io.Writer, c Case) Logger {
			l := newLogrusLogger(io.Discard)
			h := logrusasync.NewHook(core.WithSink(w))
			h.Install(l) // the logger's JSONFormatter moves to the hook
			return statsLogger{newLogrus(l, c, h.Sync, h.Close), h.Stats}
		}},
	)
}

// newLogrusLogger returns a logrus.Logger that writes JSON to w.
func newLogrusLogger(w io.Writer) *logrus.Logger {
	l := logrus.New()
	l.Out = w
	l.Formatter = &logrus.JSONFormatter{}
	return l
}

// newLogrus returns a Logger that logs case c with l.
func newLogrus(l *logrus.Logger, c Case, sync, close func() error) *funcLogger {
	log := func() { l.Info(staticMessage) }
	if c == Fields {
		log = func() {
			l.WithFields(logrus.Fields{
				"method":      fMethod,
				"path":        fPath,
				"status":      fStatus,
				"bytes":       fBytes,
				"latency":     fLatency,
				"request_id":  fRequestID,
				"remote_addr": fRemoteAddr,
				"user_agent":  fUserAgent,
				"cached":      fCached,
				"error":       errUpstream,
			}).Info(fieldsMessage)
		}
	}
	return &funcLogger{log: log, sync: sync, close: close}
}
