package core

import (
	"encoding/json"
	"sync/atomic"
)

// Stats holds a Writer's cumulative counters, as returned by Writer.Stats.
//
// Every record given to Write is either accepted (Records) or refused
// (DroppedRecords). Every accepted record is eventually either written
// (WrittenRecords) or lost in a sink Write that failed, or left
// undelivered by a WriteRecords call that failed (LostRecords).
// Accepted records are counted when the writer goroutine takes them from
// their buffer, so once Sync or Close has returned, Records ==
// WrittenRecords + LostRecords exactly. Records recovered from a spool are
// counted apart, in the Recovered fields, and not in the others.
type Stats struct {
	Records        uint64 `json:"records"`         // accepted by Write
	Bytes          uint64 `json:"bytes"`           //
	WrittenRecords uint64 `json:"written_records"` // handed to the sink by a successful sink Write, or delivered by WriteRecords
	WrittenBytes   uint64 `json:"written_bytes"`   //
	DroppedRecords uint64 `json:"dropped_records"` // refused: no room under Drop, too long under Drop, or after Close
	DroppedBytes   uint64 `json:"dropped_bytes"`   //
	LostRecords    uint64 `json:"lost_records"`    // inside a sink Write that failed, or not delivered by a WriteRecords call that failed
	LostBytes      uint64 `json:"lost_bytes"`      //
	Flushes        uint64 `json:"flushes"`         // sink Write (or WriteRecords) calls, notices included
	Waits          uint64 `json:"waits"`           // Writes that had to wait in line for room (Block, WriteWait)
	SinkErrors     uint64 `json:"sink_errors"`     // errors and panics from the sink's Write (or WriteRecords) and Sync

	// Records a dead process left in the spool, written to the sink by New
	// (see WithSpool): whole records recovered; Repeated, the records it
	// may have written already (the sink call it died in, at most a step
	// of 1 MiB), which may appear twice; and Torn records, whose copy
	// never finished, skipped. A recovery that outlives New (see
	// WithSyncTimeout) goes on counting after New has returned.
	RecoveredRecords uint64 `json:"recovered_records"`
	RecoveredBytes   uint64 `json:"recovered_bytes"`
	RepeatedRecords  uint64 `json:"repeated_records"`
	TornRecords      uint64 `json:"torn_records"`

	BufferSize  int `json:"buffer_size"`  // the configured size of each buffer, after defaults
	BufferBytes int `json:"buffer_bytes"` // bytes the two buffers hold now: they grow up to BufferSize
}

// String returns s in JSON, as expvar shows it.
func (s Stats) String() string {
	p, _ := json.Marshal(s)
	return string(p)
}

// StatsVar is an expvar.Var of a Writer's Stats: publish them with
//
//	expvar.Publish("asynclog", w.StatsVar())
//
// and /debug/vars shows them, read afresh at every request.
type StatsVar struct{ w *Writer }

// StatsVar returns an expvar.Var of w's Stats.
func (w *Writer) StatsVar() StatsVar { return StatsVar{w} }

// String returns the Writer's Stats in JSON.
func (v StatsVar) String() string { return v.w.Stats().String() }

// counters are the atomics behind Stats. Apart from the drop and wait
// counters they are changed only by the writer goroutine, once per sink
// Write, so the fast path of Write never touches them.
type counters struct {
	records, bytes               atomic.Uint64
	writtenRecords, writtenBytes atomic.Uint64
	droppedRecords, droppedBytes atomic.Uint64
	lostRecords, lostBytes       atomic.Uint64
	flushes, waits, sinkErrors   atomic.Uint64

	// The records of droppedRecords discarded under Drop, not refused
	// after Close: what the drop notices report.
	discardedRecords, discardedBytes atomic.Uint64

	// Set by the recovery of a spool (see recovery), which may finish
	// after New has returned.
	recoveredRecords, recoveredBytes, repeatedRecords, tornRecords atomic.Uint64
}

func (c *counters) accepted(records uint64, bytes int) {
	c.records.Add(records)
	c.bytes.Add(uint64(bytes))
}

func (c *counters) written(records uint64, bytes int) {
	c.writtenRecords.Add(records)
	c.writtenBytes.Add(uint64(bytes))
}

func (c *counters) lost(records uint64, bytes int) {
	c.lostRecords.Add(records)
	c.lostBytes.Add(uint64(bytes))
}

func (c *counters) dropped(bytes int) {
	c.droppedRecords.Add(1)
	c.droppedBytes.Add(uint64(bytes))
}

func (c *counters) discarded(bytes int) {
	c.dropped(bytes)
	c.discardedRecords.Add(1)
	c.discardedBytes.Add(uint64(bytes))
}

func (c *counters) snapshot() Stats {
	return Stats{
		Records:          c.records.Load(),
		Bytes:            c.bytes.Load(),
		WrittenRecords:   c.writtenRecords.Load(),
		WrittenBytes:     c.writtenBytes.Load(),
		DroppedRecords:   c.droppedRecords.Load(),
		DroppedBytes:     c.droppedBytes.Load(),
		LostRecords:      c.lostRecords.Load(),
		LostBytes:        c.lostBytes.Load(),
		Flushes:          c.flushes.Load(),
		Waits:            c.waits.Load(),
		SinkErrors:       c.sinkErrors.Load(),
		RecoveredRecords: c.recoveredRecords.Load(),
		RecoveredBytes:   c.recoveredBytes.Load(),
		RepeatedRecords:  c.repeatedRecords.Load(),
		TornRecords:      c.tornRecords.Load(),
	}
}
