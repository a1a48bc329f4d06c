package core

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDropsAreVisible checks what a user sees of drops under Drop: with the
// sink stalled, a burst is partly dropped; when the sink recovers, a notice
// with the exact counts goes into the sink before the records that follow,
// the error handler gets one report matching ErrDropped with the same
// counts, and the expvar output is the Writer's Stats.
func TestDropsAreVisible(t *testing.T) {
	var log errorLog
	w, s, g := newGatedWriter(t, WithBufferSize(256), WithOverflow(Drop), WithNotices(JSONNotice),
		WithErrorHandler(log.handle), withClock(newFakeClock()))
	first := rec("first", 200) // past the high-water mark: the sink takes it and stalls
	_, err := w.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)
	for i := range 100 {
		_, err := w.Write(rec(fmt.Sprint("burst", i), 40))
		require.NoError(t, err)
	}
	dropped := w.Stats()
	require.Positive(t, dropped.DroppedRecords)
	g.open()
	require.NoError(t, w.Sync())

	var notice map[string]any
	for _, line := range strings.Split(string(s.Data()), "\n") {
		if strings.Contains(line, `"asynclog":"dropped"`) {
			require.Nil(t, notice, "one notice for one burst")
			require.NoError(t, json.Unmarshal([]byte(line), &notice))
		}
	}
	require.NotNil(t, notice, "no notice in the sink:\n%s", s.Data())
	assert.Equal(t, float64(dropped.DroppedRecords), notice["records"])
	assert.Equal(t, float64(dropped.DroppedBytes), notice["bytes"])
	assert.Equal(t, "warn", notice["level"])
	assert.Contains(t, notice["msg"], fmt.Sprintf("asynclog: dropped %d records (%d bytes) since ", dropped.DroppedRecords, dropped.DroppedBytes))

	var reports []error
	for _, err := range log.Errors() {
		if errors.Is(err, ErrDropped) {
			reports = append(reports, err)
		}
	}
	require.Len(t, reports, 1)
	assert.Contains(t, reports[0].Error(), fmt.Sprintf("%d records (%d bytes) since", dropped.DroppedRecords, dropped.DroppedBytes))

	name := fmt.Sprintf("asynclog-test-%p", w)
	expvar.Publish(name, w.StatsVar())
	var published, direct Stats
	require.NoError(t, json.Unmarshal([]byte(expvar.Get(name).String()), &published))
	require.NoError(t, json.Unmarshal([]byte(w.Stats().String()), &direct))
	assert.Equal(t, direct, published)
	assert.Equal(t, dropped.DroppedRecords, published.DroppedRecords)
}

// TestNoticesAtMostOnceASecond checks that drops that go on are reported
// once, then again only after a second, and that Close reports the rest.
func TestNoticesAtMostOnceASecond(t *testing.T) {
	var log errorLog
	w, s, g := newGatedWriter(t, WithBufferSize(128), WithOverflow(Drop), WithNotices(TextNotice),
		WithErrorHandler(log.handle), withClock(newFakeClock()))
	burst := func(tag string) {
		first := rec(tag, 100) // past the high-water mark: written at once
		_, err := w.Write(first)
		require.NoError(t, err)
		g.waitEntered(t)
		for i := range 20 {
			_, err := w.Write(rec(fmt.Sprint(tag, i), 40))
			require.NoError(t, err)
		}
	}
	burst("a")
	g.release <- struct{}{} // let one sink write through
	burst("b")
	g.open()
	require.NoError(t, w.Close())
	notices := strings.Count(string(s.Data()), "asynclog: dropped ")
	assert.Equal(t, 2, notices, "a notice when writing resumed, then the rest at Close:\n%s", s.Data())
	total := w.Stats().DroppedRecords
	var sum uint64
	for _, line := range strings.Split(string(s.Data()), "\n") {
		var n uint64
		if _, err := fmt.Sscanf(line, "asynclog: dropped %d records", &n); err == nil {
			sum += n
		}
	}
	assert.Equal(t, total, sum, "the notices add up to the drops")
}

// TestNoticeFormats checks the two notice formats.
func TestNoticeFormats(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 4, 5, 123e6, time.UTC)
	n := Notice{Kind: NoticeRecovered, Time: at.Add(time.Second), Records: 312, Bytes: 80125, Since: at,
		Spool: "app.spool", PID: 4242, Torn: 1, Repeated: 40}
	assert.Equal(t, "asynclog: recovered 312 records (80125 bytes) from spool app.spool left by process 4242, "+
		"logged since 2026-12-02T10:04:05.123Z; 1 torn record skipped; up to 40 records may appear twice\n", string(TextNotice(n)))
	var m map[string]any
	require.NoError(t, json.Unmarshal(JSONNotice(n), &m))
	assert.Equal(t, "recovered", m["asynclog"])
	assert.Equal(t, float64(1), m["torn"])
	assert.Equal(t, "2026-12-02T10:04:06.123Z", m["time"])
	d := Notice{Kind: NoticeDropped, Records: 3, Bytes: 30, Since: at}
	assert.Equal(t, "asynclog: dropped 3 records (30 bytes) since 2026-12-02T10:04:05.123Z", d.String())
}

// TestNoNoticeWithoutDrops checks that a Writer that drops nothing writes
// no notice, even with notices on, and that WithNotices(nil) writes none
// although it drops.
func TestNoNoticeWithoutDrops(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithNotices(JSONNotice))
	r := rec("only", 20)
	_, err := w.Write(r)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, string(r), string(s.Data()))

	w2, s2, g := newGatedWriter(t, WithBufferSize(64), WithOverflow(Drop), WithNotices(nil), withClock(newFakeClock()))
	first := rec("first", 50)
	_, err = w2.Write(first)
	require.NoError(t, err)
	g.waitEntered(t)
	for range 10 {
		_, err = w2.Write(rec("x", 50))
		require.NoError(t, err)
	}
	g.open()
	require.NoError(t, w2.Close())
	assert.Positive(t, w2.Stats().DroppedRecords)
	assert.NotContains(t, string(s2.Data()), "asynclog")
}
