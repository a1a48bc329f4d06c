package syslogsink

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const bom = "\xEF\xBB\xBF"

// TestAppendRFC5424Examples: the four examples of RFC 5424, section 6.5,
// byte for byte.
func TestAppendRFC5424Examples(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	sd := `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]`
	cases := []struct {
		name string
		h    Header
		msg  string
		want string
	}{{
		"example 1",
		Header{Facility: Auth, Severity: SeverityCritical, Timestamp: utc(2003, 10, 11, 22, 14, 15, 3_000_000),
			Hostname: "mymachine.example.com", AppName: "su", MsgID: "ID47"},
		bom + "'su root' failed for lonvick on /dev/pts/8",
		"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + bom + "'su root' failed for lonvick on /dev/pts/8",
	}, {
		"example 2",
		Header{Facility: Local4, Severity: SeverityNotice,
			Timestamp: time.Date(2003, 8, 24, 5, 14, 15, 3_000, time.FixedZone("", -7*3600)),
			Hostname:  "192.0.2.1", AppName: "myproc", ProcID: "8710"},
		"%% It's time to make the do-nuts.",
		"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
	}, {
		"example 3",
		Header{Facility: Local4, Severity: SeverityNotice, Timestamp: utc(2003, 10, 11, 22, 14, 15, 3_000_000),
			Hostname: "mymachine.example.com", AppName: "evntslog", MsgID: "ID47", StructuredData: sd},
		bom + "An application event log entry...",
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " + sd + " " + bom + "An application event log entry...",
	}, {
		"example 4",
		Header{Facility: Local4, Severity: SeverityNotice, Timestamp: utc(2003, 10, 11, 22, 14, 15, 3_000_000),
			Hostname: "mymachine.example.com", AppName: "evntslog", MsgID: "ID47",
			StructuredData: sd + `[examplePriority@32473 class="high"]`},
		"",
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " + sd + `[examplePriority@32473 class="high"]`,
	}, {
		"no timestamp, all nil",
		Header{Facility: Kern, Severity: SeverityEmergency},
		"x",
		"<0>1 - - - - - - x",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, string(AppendRFC5424(nil, c.h, []byte(c.msg))))
			prefix := []byte("keep:")
			assert.Equal(t, "keep:"+c.want, string(AppendRFC5424(prefix, c.h, []byte(c.msg))))
		})
	}
}

func TestAppendRFC5424Allocs(t *testing.T) {
	h := Header{Facility: User, Severity: SeverityWarning, Timestamp: time.Now(), Hostname: "h", AppName: "a", ProcID: "1"}
	buf := make([]byte, 0, 512)
	msg := []byte(`{"level":"warn"}`)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = AppendRFC5424(buf[:0], h, msg) }))
}

func TestHeaderField(t *testing.T) {
	assert.Equal(t, "my_app_", headerField("my app\n", 48))
	assert.Equal(t, "abc", headerField("abcdef", 3))
	assert.Equal(t, "caf__", headerField("café", 48))
}

// TestSeverityOf: the level of each logger's records, JSON and text.
func TestSeverityOf(t *testing.T) {
	cases := []struct {
		record string
		want   Severity
	}{
		// zap's JSON encoder
		{`{"level":"debug","ts":1.5,"msg":"m"}`, SeverityDebug},
		{`{"level":"info","ts":1.5,"msg":"m"}`, SeverityInformational},
		{`{"level":"warn","ts":1.5,"msg":"m"}`, SeverityWarning},
		{`{"level":"error","ts":1.5,"msg":"m"}`, SeverityError},
		{`{"level":"dpanic","ts":1.5,"msg":"m"}`, SeverityCritical},
		{`{"level":"panic","ts":1.5,"msg":"m"}`, SeverityAlert},
		{`{"level":"fatal","ts":1.5,"msg":"m"}`, SeverityEmergency},
		// zerolog
		{`{"level":"trace","time":"t","message":"m"}`, SeverityDebug},
		{`{"level":"warn","time":"t","message":"m"}`, SeverityWarning},
		// logrus's JSON formatter: keys sorted, fields first
		{`{"a":"level=error","level":"warning","msg":"m","time":"t"}`, SeverityWarning},
		// slog's JSON handler
		{`{"time":"t","level":"INFO","msg":"m"}`, SeverityInformational},
		{`{"time":"t","level":"WARN+2","msg":"m"}`, SeverityWarning},
		{`{"time":"t","level":"ERROR","msg":"m"}`, SeverityError},
		{`{"time":"t","level":"DEBUG-4","msg":"m"}`, SeverityDebug},
		{`{"time":"t", "level": "ERROR","msg":"m"}`, SeverityError},
		// a level inside a string value of a JSON record is escaped
		{`{"msg":"\"level\":\"error\"","level":"info"}`, SeverityInformational},
		// logrus's text formatter, slog's text handler, logfmt
		{`time="t" level=warning msg=m`, SeverityWarning},
		{`time=t level=ERROR msg=m`, SeverityError},
		{`level=debug msg=m`, SeverityDebug},
		{`time=t level="error" msg=m`, SeverityError},
		{`time=t sublevel=error level=warn`, SeverityWarning},
		// none
		{`plain text`, SeverityInformational},
		{`{"msg":"no level"}`, SeverityInformational},
		{`{"level":3}`, SeverityInformational},
		{`level=whatever`, SeverityInformational},
		{``, SeverityInformational},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, severityOf([]byte(c.record)), "%s", c.record)
	}
}

// TestRecentSpan: it counts the records of the last unconfirmedSpan
// bytes, and at least those.
func TestRecentSpan(t *testing.T) {
	var r recentSpan
	for range 1000 {
		r.add(200)
	}
	assert.EqualValues(t, 1000, r.total())
	// Far more than the span: the count stays about the span's records.
	for range 200_000 {
		r.add(200)
	}
	perSpan := uint64(unconfirmedSpan / 200)
	assert.GreaterOrEqual(t, r.total(), perSpan)
	assert.LessOrEqual(t, r.total(), perSpan+perSpan/spanBuckets+1)
	// A huge frame pushes everything before it out, but itself.
	r.add(2 * unconfirmedSpan)
	assert.EqualValues(t, 1, r.total())
	r.reset()
	assert.Zero(t, r.total())
}
