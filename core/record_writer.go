package core

// A RecordWriter is a sink that takes records with their boundaries: a
// network sink that frames each record as a message of its protocol, or
// acknowledges records one by one. When the sink given to New implements
// it, the writer goroutine calls WriteRecords instead of Write, handing it
// the records of one sink write (within WithMaxWriteSize) as slices into
// the buffer, in order, each one record whole. The Writer's own notices
// are records too.
//
// WriteRecords returns how many records, from the start of records, the
// sink has delivered; with a nil error that must be all of them. The rest
// of a failed call are counted lost and reported, as the bytes of a
// failed Write are. With a spool (WithSpool), the spool's progress moves
// only past the records a call returned as delivered, so that a record
// not yet acknowledged when the process dies is written again by the next
// New with that spool: at least once.
//
// The slices are valid only during the call: the sink must copy what it
// keeps. WriteRecords is called from one goroutine at a time, and may
// block (a sink that retries until its peer answers makes the buffers
// fill, and the Writer's Overflow policy decide).
type RecordWriter interface {
	WriteRecords(records [][]byte) (n int, err error)
}
