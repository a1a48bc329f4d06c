package core

import "sync/atomic"

// Stats holds a Writer's cumulative counters, as returned by Writer.Stats.
//
// Every record given to Write is either accepted (Records) or refused
// (DroppedRecords). Every accepted record is
// eventually either written (WrittenRecords) or lost in a sink Write that
// failed (LostRecords). Accepted records are counted when the writer
// goroutine takes their buffer, so once Sync or Close has returned,
// Records == WrittenRecords + LostRecords exactly.
type Stats struct {
	Records, Bytes               uint64 // accepted by Write
	WrittenRecords, WrittenBytes uint64 // handed to the sink by a successful sink Write
	DroppedRecords, DroppedBytes uint64 // refused: no room under Drop, too large under Drop, or after Close
	LostRecords, LostBytes       uint64 // inside a sink Write that failed
	Flushes                      uint64 // sink Write calls
	Waits                        uint64 // Writes that had to wait for room (Block)
	SinkErrors                   uint64 // errors and panics from the sink's Write and Sync
	BufferSize                   int    // bytes in each of the two buffers, after defaults
}

// counters are the atomics behind Stats. Apart from the drop and wait
// counters they are changed only by whoever writes to the sink, once per
// sink Write, so the fast path of Write never touches them.
type counters struct {
	records, bytes               atomic.Uint64
	writtenRecords, writtenBytes atomic.Uint64
	droppedRecords, droppedBytes atomic.Uint64
	lostRecords, lostBytes       atomic.Uint64
	flushes, waits, sinkErrors   atomic.Uint64
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

func (c *counters) snapshot() Stats {
	return Stats{
		Records:        c.records.Load(),
		Bytes:          c.bytes.Load(),
		WrittenRecords: c.writtenRecords.Load(),
		WrittenBytes:   c.writtenBytes.Load(),
		DroppedRecords: c.droppedRecords.Load(),
		DroppedBytes:   c.droppedBytes.Load(),
		LostRecords:    c.lostRecords.Load(),
		LostBytes:      c.lostBytes.Load(),
		Flushes:        c.flushes.Load(),
		Waits:          c.waits.Load(),
		SinkErrors:     c.sinkErrors.Load(),
	}
}
