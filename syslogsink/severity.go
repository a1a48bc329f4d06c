package syslogsink

import "bytes"

var (
	jsonLevelKey = []byte(`"level":`)
	textLevelKey = []byte(`level=`)
)

// severityOf returns the severity of a record from its own level, found
// without decoding the record: the first "level" key of a JSON record
// (zap, zerolog, logrus and slog's JSON handler write one, "level":"info"
// or "level":"INFO"), or the first level= of a text or logfmt line
// (logrus's text formatter, slog's text handler). Level names are matched
// without regard to case and by their start, so that slog's "WARN+2"
// counts as a warning. A record with no level it knows is
// SeverityInformational.
func severityOf(record []byte) Severity {
	var v []byte
	if i := firstNonSpace(record); i < len(record) && record[i] == '{' {
		j := bytes.Index(record, jsonLevelKey)
		if j < 0 {
			return SeverityInformational
		}
		v = record[j+len(jsonLevelKey):]
		for len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if len(v) == 0 || v[0] != '"' {
			return SeverityInformational
		}
		v = v[1:]
	} else {
		off := 0
		for {
			j := bytes.Index(record[off:], textLevelKey)
			if j < 0 {
				return SeverityInformational
			}
			j += off
			if j == 0 || record[j-1] == ' ' || record[j-1] == '\t' {
				v = record[j+len(textLevelKey):]
				break
			}
			off = j + len(textLevelKey)
		}
		if len(v) > 0 && v[0] == '"' {
			v = v[1:]
		}
	}
	return severityName(v)
}

func firstNonSpace(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// severityName maps the start of a level name to a severity.
func severityName(v []byte) Severity {
	var w [8]byte
	n := 0
	for n < len(v) && n < len(w) {
		c := v[n]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c < 'a' || c > 'z' {
			break
		}
		w[n] = c
		n++
	}
	switch string(w[:n]) {
	case "trace", "debug":
		return SeverityDebug
	case "info", "information":
		return SeverityInformational
	case "notice":
		return SeverityNotice
	case "warn", "warning":
		return SeverityWarning
	case "error", "err":
		return SeverityError
	case "dpanic", "crit", "critical":
		return SeverityCritical
	case "panic", "alert":
		return SeverityAlert
	case "fatal", "emerg":
		return SeverityEmergency
	}
	return SeverityInformational
}
