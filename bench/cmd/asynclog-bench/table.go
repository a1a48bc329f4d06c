package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A table renders as aligned text or as Markdown.
type table struct {
	title  string
	notes  []string // lines printed under the title
	header []string
	rows   [][]string
	left   int // the first left columns are aligned left, the others right
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// text writes t as aligned columns.
func (t *table) text(w io.Writer) {
	width := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	fmt.Fprintf(w, "\n%s\n", t.title)
	for _, n := range t.notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < t.left {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.header)
	rule := make([]string, len(width))
	for i, n := range width {
		rule[i] = strings.Repeat("-", n)
	}
	line(rule)
	for _, row := range t.rows {
		line(row)
	}
}

// markdown writes t as a Markdown table under a level-3 heading.
func (t *table) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
	for _, n := range t.notes {
		fmt.Fprintf(w, "%s\n", n)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
	}
	header := make([]string, len(t.header))
	for i, c := range t.header {
		header[i] = mdEscape.Replace(c)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	align := make([]string, len(t.header))
	for i := range align {
		align[i] = "---:"
		if i < t.left {
			align[i] = "---"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = mdEscape.Replace(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// mdEscape escapes the characters of table cells that Markdown would read.
var mdEscape = strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`)

// fmtDur formats a duration with three significant digits.
func fmtDur(d time.Duration) string { return fmtNs(float64(d)) }

// fmtNs formats a time in nanoseconds, such as go test's ns/op, with three
// significant digits.
func fmtNs(ns float64) string {
	switch {
	case ns < 1e3:
		return sig3(ns) + " ns"
	case ns < 1e6:
		return sig3(ns/1e3) + " µs"
	case ns < 1e9:
		return sig3(ns/1e6) + " ms"
	}
	return sig3(ns/1e9) + " s"
}

// sig3 formats x with three significant digits (or none after the point).
func sig3(x float64) string {
	switch {
	case x < 10:
		return fmt.Sprintf("%.2f", x)
	case x < 100:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.0f", x)
}

// fmtCount formats a count or rate with a k or M suffix.
func fmtCount(x float64) string {
	switch {
	case x >= 1e6:
		return sig3(x/1e6) + "M"
	case x >= 1e3:
		return sig3(x/1e3) + "k"
	}
	return fmt.Sprintf("%.0f", x)
}

// fmtBytes formats a byte count in binary units.
func fmtBytes(n int64) string {
	x := float64(n)
	switch {
	case x >= 1<<30:
		return sig3(x/(1<<30)) + " GiB"
	case x >= 1<<20:
		return sig3(x/(1<<20)) + " MiB"
	case x >= 1<<10:
		return sig3(x/(1<<10)) + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}

// fmtRatio formats a ratio such as 1.35×.
func fmtRatio(x float64) string {
	switch {
	case x == 0:
		return "0×"
	case x < 0.01:
		return fmt.Sprintf("%.4f×", x)
	case x < 10:
		return fmt.Sprintf("%.2f×", x)
	}
	return fmt.Sprintf("%.0f×", x)
}

// fmtRatio3 formats a ratio with three decimals, for targets decided by
// the second one.
func fmtRatio3(x float64) string {
	if x < 0.01 || x >= 10 {
		return fmtRatio(x)
	}
	return strconv.FormatFloat(x, 'f', 3, 64) + "×"
}

// fmtLoss formats the entries a run lost: a count and its share.
func fmtLoss(r *runs) string {
	lost := r.Lost()
	switch {
	case lost < 0:
		return "—"
	case lost == 0:
		return "0"
	}
	return fmt.Sprintf("%s (%.1f%%)", fmtCount(float64(lost)), 100*float64(lost)/float64(r.Calls()))
}
