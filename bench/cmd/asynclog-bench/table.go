package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A table renders as Markdown with padded columns, which reads as well in
// a terminal as in a browser.
type table struct {
	title  string
	notes  []string // lines printed under the title
	header []string
	rows   [][]string
	left   int // the first left columns are aligned left, the others right
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write writes t under a level-3 heading.
func (t *table) write(w io.Writer) {
	width := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c), 3)
		}
	}
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
	for _, n := range t.notes {
		fmt.Fprintf(w, "%s\n\n", n)
	}
	line := func(row []string, pad func(i int, c string) string) {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = pad(i, c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	align := func(i int, c string) string {
		pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
		if i < t.left {
			return c + pad
		}
		return pad + c
	}
	line(t.header, align)
	line(t.header, func(i int, _ string) string {
		if i < t.left {
			return strings.Repeat("-", width[i])
		}
		return strings.Repeat("-", width[i]-1) + ":"
	})
	for _, row := range t.rows {
		line(row, align)
	}
}

// fmtDur formats a duration with three significant digits.
func fmtDur(d time.Duration) string { return fmtNs(float64(d)) }

// fmtNs formats nanoseconds, such as go test's ns/op.
func fmtNs(ns float64) string { return scaled(ns, 1000, " ns", " µs", " ms", " s") }

// fmtCount formats a count or rate with a k or M suffix.
func fmtCount(x float64) string { return scaled(x, 1000, "", "k", "M") }

// fmtBytes formats a byte count in binary units.
func fmtBytes(n int64) string { return scaled(float64(n), 1024, " B", " KiB", " MiB", " GiB") }

// scaled formats x in the largest of units, each step times the last, that
// it reaches, with three significant digits, or none after the point for
// a whole number of the first unit.
func scaled(x, step float64, units ...string) string {
	i := 0
	for ; x >= step && i < len(units)-1; i++ {
		x /= step
	}
	switch {
	case i == 0 && x == math.Trunc(x), x >= 100:
		return fmt.Sprintf("%.0f%s", x, units[i])
	case x >= 10:
		return fmt.Sprintf("%.1f%s", x, units[i])
	}
	return fmt.Sprintf("%.2f%s", x, units[i])
}

// fmtRatio formats a ratio with three significant digits, such as 0.953×.
func fmtRatio(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) + "×" }

// fmtLoss formats the entries a run lost: a count and its share.
func fmtLoss(lost, calls int64) string {
	switch {
	case lost < 0:
		return "—"
	case lost == 0:
		return "0"
	}
	return fmt.Sprintf("%s (%.1f%%)", fmtCount(float64(lost)), 100*float64(lost)/float64(calls))
}
