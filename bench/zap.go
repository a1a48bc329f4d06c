package bench

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/zapasync"
)

// The zap group: a zap.Logger with the production JSON encoder (no
// sampling, no caller, so that every entry is written) over each output.
func init() {
	register("zap", LoggerCases,
		&Output{Name: "discard", Title: "io.Discard", Discard: true, Open: func(_ io.Writer, c Case) Logger {
			return newZap(zapcore.AddSync(io.Discard), c, nop)
		}},
		&Output{Name: "asynclog-discard", Title: "asynclog → io.Discard", Discard: true, Open: func(_ io.Writer, c Case) Logger {
			ws := zapasync.New(core.WithSink(io.Discard)) // the layer's own cost, apart from the sink's
			return statsLogger{newZap(ws, c, ws.Close), ws.Stats}
		}},
		&Output{Name: "file", Title: "*os.File (zapcore.Lock)", Open: func(w io.Writer, c Case) Logger {
			return newZap(zapcore.Lock(zapcore.AddSync(w)), c, nop) // as zap.Open and zap.NewProduction do
		}},
		&Output{Name: "buffered", Title: "BufferedWriteSyncer", Open: func(w io.Writer, c Case) Logger {
			ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(w)} // 256 kB, 30 s
			return newZap(ws, c, ws.Stop)
		}},
		&Output{Name: "channel", Title: "channel writer", Open: func(w io.Writer, c Case) Logger {
			cw := newChanWriter(w)
			return newZap(zapcore.AddSync(cw), c, cw.Close)
		}},
		&Output{Name: "zapasync", Title: "zapasync", Open: func(w io.Writer, c Case) Logger {
			ws := zapasync.New(core.WithSink(w))
			return statsLogger{newZap(ws, c, ws.Close), ws.Stats}
		}},
		&Output{Name: "zapasync-spool", Title: "zapasync with a spool", Open: func(w io.Writer, c Case) Logger {
			dir, err := os.MkdirTemp("", "asynclog-bench")
			if err != nil {
				panic(err)
			}
			ws := zapasync.New(core.WithSink(w), core.WithSpool(filepath.Join(dir, "bench.spool")))
			stop := func() error { return errors.Join(ws.Close(), os.RemoveAll(dir)) }
			return statsLogger{newZap(ws, c, stop), ws.Stats}
		}},
	)
}

// newZap returns a Logger that logs case c with zap to ws. Close syncs the
// logger and then calls stop.
func newZap(ws zapcore.WriteSyncer, c Case, stop func() error) *funcLogger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	l := zap.New(zapcore.NewCore(enc, ws, zapcore.InfoLevel))
	log := func() { l.Info(staticMessage) }
	if c == Fields {
		log = func() {
			l.Info(fieldsMessage,
				zap.String("method", fMethod),
				zap.String("path", fPath),
				zap.Int("status", fStatus),
				zap.Int64("bytes", fBytes),
				zap.Duration("latency", fLatency),
				zap.String("request_id", fRequestID),
				zap.String("remote_addr", fRemoteAddr),
				zap.String("user_agent", fUserAgent),
				zap.Bool("cached", fCached),
				zap.Error(errUpstream),
			)
		}
	}
	return &funcLogger{
		log:   log,
		sync:  l.Sync,
		close: func() error { return errors.Join(l.Sync(), stop()) },
	}
}
