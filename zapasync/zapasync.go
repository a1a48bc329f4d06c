package zapasync

import (
	"go.uber.org/zap/zapcore"

	"github.com/asynclog/asynclog/core"
)

// A WriteSyncer is a zapcore.WriteSyncer that writes through a core.Writer.
// It is safe for concurrent use.
//
// Its fields are settings that only NewCore reads. Set them after New and
// before the first entry is logged; do not change them afterwards.
type WriteSyncer struct {
	// NoDropLevel is the lowest level NewCore never drops: under
	// core.Drop, an entry at or above it waits for room instead. New sets
	// it to zapcore.ErrorLevel. It has no effect under core.Block, nor on a
	// core made by zapcore.NewCore, which cannot tell the WriteSyncer the
	// level.
	NoDropLevel zapcore.Level

	// SyncLevel is the lowest level at which NewCore syncs after writing
	// an entry, so that the entry and everything before it are in the
	// sink before Write returns; such entries are never dropped either.
	// New sets it to zapcore.DPanicLevel, the level from which zap's own
	// core syncs.
	SyncLevel zapcore.Level

	w *core.Writer
}

// New returns a WriteSyncer over a new core.Writer configured by opts. The
// caller must Close it to flush what is buffered and stop the core's
// goroutine; Close does not close the sink.
func New(opts ...core.Option) *WriteSyncer {
	return &WriteSyncer{
		NoDropLevel: zapcore.ErrorLevel,
		SyncLevel:   zapcore.DPanicLevel,
		w:           core.New(opts...),
	}
}

// Write copies p, one encoded entry, into the core's buffers, as
// core.Writer.Write does. zap does not tell it the entry's level: under
// core.Drop it may drop any entry; see NewCore.
func (s *WriteSyncer) Write(p []byte) (int, error) {
	return s.w.Write(p)
}

// Sync returns once every entry written before it has been handed to the
// sink and the sink has been synced, as core.Writer.Sync does. zap calls it
// after DPanic, Panic and Fatal entries, and logger.Sync calls it.
func (s *WriteSyncer) Sync() error {
	return s.w.Sync()
}

// Close flushes what is buffered, syncs the sink and stops the core's
// goroutine, as core.Writer.Close does. Entries logged after Close are
// refused with core.ErrClosed, which zap reports on its ErrorOutput.
func (s *WriteSyncer) Close() error {
	return s.w.Close()
}

// Stats returns the core's counters.
func (s *WriteSyncer) Stats() core.Stats {
	return s.w.Stats()
}

// StatsVar returns an expvar.Var of the core's counters, for
// expvar.Publish, as core.Writer.StatsVar does.
func (s *WriteSyncer) StatsVar() core.StatsVar {
	return s.w.StatsVar()
}

// writeLevel writes p, an entry at level lvl: an entry at or above
// NoDropLevel or SyncLevel is never dropped.
func (s *WriteSyncer) writeLevel(lvl zapcore.Level, p []byte) (int, error) {
	if lvl >= s.NoDropLevel || lvl >= s.SyncLevel {
		return s.w.WriteWait(p)
	}
	return s.w.Write(p)
}

var _ zapcore.WriteSyncer = (*WriteSyncer)(nil)

// NewCore is zapcore.NewCore for a WriteSyncer: it returns a
// zapcore.Core that encodes entries enabled by enab with enc and writes
// them to ws. Unlike zapcore.NewCore, it passes each entry's level on, so
// that entries at or above ws.NoDropLevel are never dropped under
// core.Drop, and it syncs after entries at or above ws.SyncLevel.
func NewCore(enc zapcore.Encoder, ws *WriteSyncer, enab zapcore.LevelEnabler) zapcore.Core {
	return &ioCore{LevelEnabler: enab, enc: enc, out: ws}
}

// ioCore is zap's ioCore with a level-aware write.
type ioCore struct {
	zapcore.LevelEnabler
	enc zapcore.Encoder
	out *WriteSyncer
}

// Level returns the minimum enabled level, for zapcore.LevelOf.
func (c *ioCore) Level() zapcore.Level {
	return zapcore.LevelOf(c.LevelEnabler)
}

// With returns a copy of c whose encoder holds fields.
func (c *ioCore) With(fields []zapcore.Field) zapcore.Core {
	clone := &ioCore{LevelEnabler: c.LevelEnabler, enc: c.enc.Clone(), out: c.out}
	for i := range fields {
		fields[i].AddTo(clone.enc)
	}
	return clone
}

// Check adds c to ce if c is enabled at the entry's level.
func (c *ioCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// Write encodes the entry and writes it by level, syncing at SyncLevel.
func (c *ioCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	buf, err := c.enc.EncodeEntry(ent, fields)
	if err != nil {
		return err
	}
	_, err = c.out.writeLevel(ent.Level, buf.Bytes())
	buf.Free()
	if err != nil {
		return err
	}
	if ent.Level >= c.out.SyncLevel {
		// The process may be about to panic or exit.
		return c.out.Sync()
	}
	return nil
}

// Sync syncs the WriteSyncer.
func (c *ioCore) Sync() error {
	return c.out.Sync()
}
