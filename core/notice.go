package core

import (
	"encoding/json"
	"fmt"
	"time"
)

// A Notice is an event of the Writer's own that it writes into the sink,
// between records, so that whoever reads the log sees the seam: records
// dropped under Drop, or records recovered from a spool after a crash.
// WithNotices chooses how a notice is formatted, or turns notices off.
type Notice struct {
	Kind NoticeKind
	Time time.Time // when the notice was written

	// Dropped: the records discarded between Since and Time.
	// Recovered: the records a dead process left in the spool, logged at
	// or after Since.
	Records, Bytes uint64
	Since          time.Time

	// Recovered only.
	Spool    string // the spool's path
	PID      int    // the process that left it
	Torn     uint64 // records whose copy never finished, skipped
	Repeated uint64 // records the dead process may have written already (the sink call it died in, at most a step; see WithSpool): they may appear twice
}

// NoticeKind says what a Notice reports.
type NoticeKind int

const (
	// NoticeDropped reports records discarded under Drop. The Writer writes
	// it when writing resumes after drops, at most once a second, and at
	// Close.
	NoticeDropped NoticeKind = iota + 1

	// NoticeRecovered reports records recovered from a spool, written just
	// before them.
	NoticeRecovered
)

// String returns the notice as one line of text, without a newline:
//
//	asynclog: dropped 73079 records (19216538 bytes) since 2026-12-02T10:04:05.123Z
//	asynclog: recovered 312 records (80125 bytes) from spool app.spool left by process 4242, logged since 2026-12-02T10:04:05.123Z; 1 torn record skipped; up to 40 records may appear twice
func (n Notice) String() string {
	since := n.Since.UTC().Format(time.RFC3339Nano)
	switch n.Kind {
	case NoticeDropped:
		return fmt.Sprintf("asynclog: dropped %d records (%d bytes) since %s", n.Records, n.Bytes, since)
	case NoticeRecovered:
		s := fmt.Sprintf("asynclog: recovered %d records (%d bytes) from spool %s left by process %d, logged since %s",
			n.Records, n.Bytes, n.Spool, n.PID, since)
		if n.Torn > 0 {
			s += fmt.Sprintf("; %d torn %s skipped", n.Torn, plural(n.Torn, "record", "records"))
		}
		if n.Repeated > 0 {
			s += fmt.Sprintf("; up to %d records may appear twice", n.Repeated)
		}
		return s
	}
	return fmt.Sprintf("asynclog: notice %d", n.Kind)
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// JSONNotice formats n as one JSON object and a newline, with the keys
// that zap, zerolog, logrus and slog JSON output share or nearly share:
//
//	{"time":"2026-12-02T10:04:06.5Z","level":"warn","msg":"asynclog: dropped 73079 records (19216538 bytes) since 2026-12-02T10:04:05.123Z","asynclog":"dropped","records":73079,"bytes":19216538}
//
// It is the default of WithNotices.
func JSONNotice(n Notice) []byte {
	kind := "dropped"
	if n.Kind == NoticeRecovered {
		kind = "recovered"
	}
	p, _ := json.Marshal(struct {
		Time     string `json:"time"`
		Level    string `json:"level"`
		Msg      string `json:"msg"`
		Kind     string `json:"asynclog"`
		Records  uint64 `json:"records"`
		Bytes    uint64 `json:"bytes"`
		Torn     uint64 `json:"torn,omitempty"`
		Repeated uint64 `json:"repeated,omitempty"`
	}{n.Time.UTC().Format(time.RFC3339Nano), "warn", n.String(), kind, n.Records, n.Bytes, n.Torn, n.Repeated})
	return append(p, '\n')
}

// TextNotice formats n as its String and a newline, for text logs.
func TextNotice(n Notice) []byte {
	return []byte(n.String() + "\n")
}

// noticeInterval is the least time between two reports of drops.
const noticeInterval = time.Second

// A noticer reports drops: a notice into the sink and an error matching
// ErrDropped for the error handler, at most once per noticeInterval. It is
// used by the writer goroutine only.
type noticer struct {
	records, bytes uint64    // drops reported so far
	since          time.Time // when the last report was made, or the Writer started
	reported       bool      // a report was made: the next waits for noticeInterval
}

func (n *noticer) init() {
	n.since = time.Now()
}

// writeDue reports the drops since the last report, if there are any and
// the last report is old enough.
func (n *noticer) writeDue(w *Writer) {
	if w.stats.discardedRecords.Load() == n.records {
		return
	}
	if n.reported && time.Since(n.since) < noticeInterval {
		return
	}
	n.report(w)
}

// final reports the drops not yet reported, at Close.
func (n *noticer) final(w *Writer) {
	if w.stats.discardedRecords.Load() != n.records {
		n.report(w)
	}
}

func (n *noticer) report(w *Writer) {
	records, bytes := w.stats.discardedRecords.Load(), w.stats.discardedBytes.Load()
	note := Notice{Kind: NoticeDropped, Time: time.Now(), Records: records - n.records, Bytes: bytes - n.bytes, Since: n.since}
	n.records, n.bytes, n.since, n.reported = records, bytes, note.Time, true
	w.handle(fmt.Errorf("%w: %d records (%d bytes) since %s", ErrDropped, note.Records, note.Bytes, note.Since.UTC().Format(time.RFC3339Nano)))
	w.writeNotice(note, nil)
}

// writeNotice writes note into the sink, formatted by the notice option,
// after prefix, in a sink Write of its own (for a RecordWriter, a
// WriteRecords call of one record). Notices are not records: they count
// in Stats.Flushes only. A format that panics is reported, as a
// sink that panics is, and its notice left out.
func (w *Writer) writeNotice(note Notice, prefix []byte) {
	if w.cfg.notice == nil {
		return
	}
	p, err := safeFormat(w.cfg.notice, note)
	if err == nil && len(p) > 0 {
		p = append(prefix, p...)
		if w.records != nil {
			one := &w.records.single
			one[0] = p // a record of its own
			_, err = w.sinkRecordsIn(w.spool, one[:], nil, 0)
			one[0] = nil
		} else {
			err = w.sinkCall(p)
		}
	}
	if err != nil {
		w.report(fmt.Errorf("asynclog: writing a notice to the sink: %w", err))
	}
}

func safeFormat(format func(Notice) []byte, note Notice) (p []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w in the notice format: %v", ErrSinkPanic, r)
		}
	}()
	return format(note), nil
}
