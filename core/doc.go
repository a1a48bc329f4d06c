// Package core is the asynchronous writer behind asynclog's adapters for
// zap, zerolog, logrus and slog, and an io.Writer in its own right, usable
// by anything that writes whole records.
//
// # Design
//
// A Writer owns two buffers. Callers copy their records into the active
// one; a single background goroutine, the writer goroutine, hands the
// other one to the sink. Memory stays at two buffers whatever the sink
// does: they start at 64 KiB and grow, when one fills up between two
// swaps, up to the configured size.
//
// A buffer is a run of frames, each an 8-byte header and a record (see
// the buffer type for the protocol). A caller reserves a frame with one
// atomic add on the buffer's state word, copies its record in, and
// commits it by storing the header, last, into its own reserved bytes:
// one shared word per record, no lock, no channel operation, no system
// call and no allocation while the buffer has room. The writer goroutine,
// once it has sealed a buffer, walks its frames in order, waits at any
// whose copy is not finished, and hands the records, without their
// headers, to the sink in as few Write calls as the max write size allows
// (WithMaxWriteSize). A sink that implements RecordWriter gets the
// records instead, with their boundaries, as slices into the buffer,
// moved nowhere. Because the frames say where each record starts and
// ends and whether its copy finished, the same buffers, kept in a file,
// are a crash-safe spool (WithSpool).
//
// # Flushing
//
// The writer goroutine writes as soon as there is something to write and
// it is free: the first record after a pause wakes it and goes to the sink
// at once; while records keep coming it swaps the active buffer out once
// per flush interval (1 ms by default), or at once when the buffer passes
// its high-water mark (half full, or 512 KiB for larger buffers), so that
// a record spends about one sink write, or one interval, in memory, and a
// flat-out load is written in large batches. After a pause it looks a few
// more times, then sleeps until the next record: callers pay for a
// wake-up only for the first record after such a sleep, and an idle
// Writer uses no CPU.
//
// # Waiting
//
// When a record does not fit, the policy decides (see Overflow). Under
// Drop it is discarded and counted, never waited for. Under Block, and for
// WriteWait, the caller joins a line: at every swap the records of the
// callers in line are copied into the fresh buffer, in arrival order,
// before it becomes active, so nobody who comes later takes their room,
// and a caller waits at most for the sink writes of the buffers ahead of
// it. A record too long for a buffer waits in the same line and is written
// alone, whole, by the writer goroutine after everything buffered before
// it. The writer goroutine makes every sink call, so Close waits for all
// of them.
//
// # Guarantees
//
// Each Write is one record. A record reaches the sink whole, inside a
// single sink Write call, never split and never interleaved with another
// (for a RecordWriter, as one slice of one WriteRecords call).
// If one Write returns before another begins, its record reaches the sink
// first. The sink is called from one goroutine at a time.
//
// Sync is a barrier: when it returns, every record whose Write returned
// before Sync was called has been handed to the sink, and the sink's Sync
// method, if it has one, has been called. Close does the same for every
// record accepted before it and then stops the Writer.
//
// What can still be lost: records discarded under Drop (counted in
// Stats.DroppedRecords, reported to the error handler and, in a notice,
// in the sink); records in a sink Write that failed (counted in
// Stats.LostRecords and reported); and, without a spool, records accepted
// but not yet written when the process dies without Sync or Close: about
// one flush interval of them. With a spool, a record is safe once Write
// has returned, whatever ends the process, short of a crash of the kernel
// or a power loss.
//
// # Reentrancy
//
// The sink, the error handler and a notice format run on the writer
// goroutine (or, while a spool is recovered, on the recovery's goroutine,
// which the writer goroutine waits for). They may log through the same
// Writer: such a record is accepted if there is room and otherwise
// dropped and counted, never waited for; Sync and Close called from there return ErrReentrant at
// once. SyncAll called from there syncs the other Writers, and not this
// one, nor one whose own writer goroutine waits for this one's: a writer
// goroutine never waits for itself.
package core
