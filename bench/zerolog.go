package bench

import (
	"io"
	"log"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/diode"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/zerologasync"
)

// The zerolog group: zerolog.New(w).With().Timestamp().Logger(), as in
// zerolog's README, over each output.
func init() {
	// The diode reports each set collision (an entry it overwrote) with
	// log.Println, up to thousands of lines a run. The harness counts lost
	// entries in the file, so the lines would only bury the results; and
	// nothing else in this module logs with package log.
	log.SetOutput(io.Discard)
	register("zerolog", LoggerCases,
		&Output{Name: "discard", Title: "io.Discard", Discard: true, Open: func(_ io.Writer, c Case) Logger {
			return newZerolog(io.Discard, c, nop, nop)
		}},
		&Output{Name: "asynclog-discard", Title: "asynclog → io.Discard", Discard: true, Open: func(_ io.Writer, c Case) Logger {
			lw := zerologasync.Writer(core.WithSink(io.Discard)) // the layer's own cost, apart from the sink's
			return statsLogger{newZerolog(lw, c, lw.Sync, lw.Close), lw.Stats}
		}},
		&Output{Name: "file", Title: "*os.File", Open: func(w io.Writer, c Case) Logger {
			return newZerolog(w, c, syncOf(w), nop)
		}},
		&Output{Name: "diode", Title: "diode (1000 slots, 10 ms poll)", Lossy: true, Open: func(w io.Writer, c Case) Logger {
			d := diode.NewWriter(w, 1000, 10*time.Millisecond, func(int) {}) // as in zerolog's README
			return newZerolog(d, c, syncOf(w), d.Close)
		}},
		&Output{Name: "zerologasync", Title: "zerologasync", Open: func(w io.Writer, c Case) Logger {
			lw := zerologasync.Writer(core.WithSink(w))
			return statsLogger{newZerolog(lw, c, lw.Sync, lw.Close), lw.Stats}
		}},
	)
}

// newZerolog returns a Logger that logs case c with zerolog to w.
func newZerolog(w io.Writer, c Case, sync, close func() error) *funcLogger {
	l := zerolog.New(w).With().Timestamp().Logger()
	log := func() { l.Info().Msg(staticMessage) }
	if c == Fields {
		log = func() {
			l.Info().
				Str("method", fMethod).
				Str("path", fPath).
				Int("status", fStatus).
				Int64("bytes", fBytes).
				Dur("latency", fLatency).
				Str("request_id", fRequestID).
				Str("remote_addr", fRemoteAddr).
				Str("user_agent", fUserAgent).
				Bool("cached", fCached).
				Err(errUpstream).
				Msg(fieldsMessage)
		}
	}
	return &funcLogger{log: log, sync: sync, close: close}
}
