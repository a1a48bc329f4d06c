package syslogsink

import (
	"strconv"
	"time"
)

// A Facility is the syslog facility of RFC 5424 messages (RFC 5424,
// section 6.2.1).
type Facility int

// The facilities of RFC 5424.
const (
	Kern Facility = iota
	User
	Mail
	Daemon
	Auth
	Syslog
	LPR
	News
	UUCP
	Cron
	AuthPriv
	FTP
	NTP
	LogAudit
	LogAlert
	Clock
	Local0
	Local1
	Local2
	Local3
	Local4
	Local5
	Local6
	Local7
)

// A Severity is the syslog severity of a message (RFC 5424, section
// 6.2.1). A Sink takes it from each record's own level.
type Severity int

// The severities of RFC 5424, most severe first.
const (
	SeverityEmergency Severity = iota
	SeverityAlert
	SeverityCritical
	SeverityError
	SeverityWarning
	SeverityNotice
	SeverityInformational
	SeverityDebug
)

// A Header is the header of an RFC 5424 message. Empty string fields are
// sent as the nil value "-"; the caller keeps them within RFC 5424's
// characters and lengths (New does, for the fields it sets from options).
type Header struct {
	Facility       Facility
	Severity       Severity
	Timestamp      time.Time // the zero time is sent as "-"
	Hostname       string
	AppName        string
	ProcID         string
	MsgID          string
	StructuredData string // one or more SD-ELEMENTs, as they go on the wire
}

// rfc3339Micro is RFC 5424's TIMESTAMP: RFC 3339 with at most six digits
// of fraction, trailing zeros left out.
const rfc3339Micro = "2006-01-02T15:04:05.999999Z07:00"

// AppendRFC5424 appends to dst the RFC 5424 message of header h and
// message msg, and returns the extended slice:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
//
// PRI is Facility*8+Severity. The MSG is msg as it is: a caller that wants
// the UTF-8 BOM puts it there. An empty msg leaves out the MSG and the
// space before it. It does not allocate when dst has room.
func AppendRFC5424(dst []byte, h Header, msg []byte) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(h.Facility)*8+int64(h.Severity), 10)
	dst = append(dst, ">1 "...)
	if h.Timestamp.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = h.Timestamp.AppendFormat(dst, rfc3339Micro)
	}
	dst = appendField(dst, h.Hostname)
	dst = appendField(dst, h.AppName)
	dst = appendField(dst, h.ProcID)
	dst = appendField(dst, h.MsgID)
	dst = appendField(dst, h.StructuredData)
	if len(msg) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, msg...)
	}
	return dst
}

// appendField appends a space and s, or "-" for an empty s.
func appendField(dst []byte, s string) []byte {
	dst = append(dst, ' ')
	if s == "" {
		return append(dst, '-')
	}
	return append(dst, s...)
}

// headerField returns s as an RFC 5424 header field may hold it:
// printable US-ASCII without spaces, at most n bytes.
func headerField(s string, n int) string {
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
