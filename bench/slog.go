package bench

import (
	"context"
	"io"
	"log/slog"

	"github.com/asynclog/asynclog/core"
)

// The slog group: slog.New(slog.NewJSONHandler(w, nil)) over each output.
// Entries are logged with LogAttrs, slog's fastest form.
func init() {
	register("slog", LoggerCases,
		&Output{Name: "discard", Title: "io.Discard", Discard: true, Open: func(_ io.Writer, c Case) Logger {
			return newSlog(io.Discard, c, nop, nop)
		}},
		&Output{Name: "file", Title: "*os.File", Open: func(w io.Writer, c Case) Logger {
			return newSlog(w, c, syncOf(w), nop)
		}},
		&Output{Name: "core", Title: "core.Writer", Open: func(w io.Writer, c Case) Logger {
			cw := core.New(core.WithSink(w))
			return statsLogger{newSlog(cw, c, cw.Sync, cw.Close), cw.Stats}
		}},
	)
}

// newSlog returns a Logger that logs case c with slog's JSON handler to w.
func newSlog(w io.Writer, c Case, sync, close func() error) *funcLogger {
	l := slog.New(slog.NewJSONHandler(w, nil))
	ctx := context.Background()
	log := func() { l.LogAttrs(ctx, slog.LevelInfo, staticMessage) }
	if c == Fields {
		log = func() {
			l.LogAttrs(ctx, slog.LevelInfo, fieldsMessage,
				slog.String("method", fMethod),
				slog.String("path", fPath),
				slog.Int("status", fStatus),
				slog.Int64("bytes", fBytes),
				slog.Duration("latency", fLatency),
				slog.String("request_id", fRequestID),
				slog.String("remote_addr", fRemoteAddr),
				slog.String("user_agent", fUserAgent),
				slog.Bool("cached", fCached),
				slog.Any("error", errUpstream),
			)
		}
	}
	return &funcLogger{log: log, sync: sync, close: close}
}
