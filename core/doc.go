// Package core is the asynchronous writer behind asynclog's adapters for
// zap, zerolog and logrus, and an io.Writer in its own right, usable by
// log/slog or anything else that writes whole records.
//
// # Design
//
// A Writer owns two buffers of fixed size. Callers copy their records into
// the active one; a single background goroutine, the writer goroutine,
// hands the other one to the sink in one large Write. Memory stays at two
// buffers whatever the sink does.
//
// Callers reserve space with one atomic add on the active buffer's state
// word, copy, and commit with one atomic add on its commit word. They take
// no lock, make no channel operation or system call and allocate nothing
// while the buffer has room. The comment on the buffer type describes the
// protocol; in short, the state word holds the reserved offset and a sealed
// bit, so that sealing a buffer and reserving in it are ordered by the same
// word, and the commit word counts the records and bytes copied in, so that
// the writer goroutine knows when the last copy into a sealed buffer is
// done and how many records it holds.
//
// The writer goroutine swaps the buffers when the active one passes its
// high-water mark (half full, or 512 KiB for larger buffers, so that the
// part callers touch stays in cache and the rest is headroom), when the flush interval has passed with
// records waiting, on Sync and on Close. Callers wake it rarely: when a
// record crosses the high-water mark (and then the caller yields its
// processor, so that on a busy machine the swap happens at once rather than
// after the caller's time slice), when a record lands in an empty buffer
// with no flush timer running, and when a record does not fit. An idle
// Writer runs no timer and uses no CPU.
//
// When both buffers are full the policy decides (see Overflow). Under Block,
// a caller that finds the spare buffer sealed but not yet taken by the
// writer goroutine, which on a loaded machine may wait milliseconds for a
// processor, writes it to the sink itself rather than sleep; a caller that
// finds it being written waits for it. Under Drop the record is discarded
// and counted. Records longer than half a buffer do not go through the
// buffers under Block: the caller writes what is buffered, then its
// record, so that no record is split and none starves.
//
// # Guarantees
//
// Each Write is one record. A record reaches the sink whole, inside a
// single sink Write call, never split and never interleaved with another.
// If one Write returns before another begins, its record reaches the sink
// first. The sink is called from one goroutine at a time.
//
// Sync is a barrier: when it returns, every record whose Write returned
// before Sync was called has been handed to the sink, and the sink's Sync
// method, if it has one, has been called. Close does the same for every
// record accepted before it and then stops the Writer.
//
// What can still be lost: records discarded under Drop (each one counted in
// Stats.DroppedRecords); records in a sink Write that failed (counted in
// Stats.LostRecords and reported to the error handler); and records
// accepted but not yet synced when the process dies without calling Sync
// or Close: on SIGKILL, on os.Exit without a Sync, or when a panic in
// another goroutine kills the process before a flush. The adapters sync
// before Fatal and Panic for that reason.
package core
