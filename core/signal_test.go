package core

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lingering returns a Writer that, once it has written its first record,
// leaves the next ones in its buffer for an hour: only a Sync writes them.
func lingering(t *testing.T, sink *recSink) *Writer {
	t.Helper()
	w := newWriter(t, WithSink(sink), WithFlushInterval(time.Hour))
	_, err := w.Write(rec("first", 20))
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	return w
}

// TestSyncAll checks that SyncAll writes and syncs the records of every
// open Writer, returns the errors of all of them, and leaves out the
// Writers already closed.
func TestSyncAll(t *testing.T) {
	sinks := []*recSink{{}, {}, {}}
	var writers []*Writer
	for _, s := range sinks {
		writers = append(writers, lingering(t, s))
	}
	failing := &recSink{}
	bad := lingering(t, failing)
	failing.write = func([]byte) (int, error) { return 0, errSink }
	closed := newWriter(t, WithSink(&recSink{}))
	require.NoError(t, closed.Close())

	for i, w := range append(writers, bad) {
		for k := range 10 {
			_, err := w.Write(rec(string(rune('a'+i))+string(rune('0'+k)), 30))
			require.NoError(t, err)
		}
	}
	for _, s := range sinks {
		assert.Len(t, s.Calls(), 1, "only the first record is written before SyncAll")
	}

	err := SyncAll()
	require.ErrorIs(t, err, errSink)
	for i, s := range sinks {
		want := [][]byte{rec("first", 20)}
		for k := range 10 {
			want = append(want, rec(string(rune('a'+i))+string(rune('0'+k)), 30))
		}
		assert.Equal(t, string(bytes.Join(want, nil)), string(s.Data()), "sink %d", i)
		events := s.Events()
		assert.Equal(t, "sync", events[len(events)-1], "sink %d", i)
	}
	assert.Equal(t, uint64(10), bad.Stats().LostRecords)
	assert.NoError(t, SyncAll(), "the error was returned once")
}

// TestSyncAllNone checks that SyncAll with no open Writer does nothing.
func TestSyncAllNone(t *testing.T) {
	assert.NoError(t, SyncAll())
}

// TestHandleSignalsStop checks that stop undoes HandleSignals: its
// goroutine ends (the package's leak check would fail otherwise) and a
// second stop does nothing.
func TestHandleSignalsStop(t *testing.T) {
	stop := HandleSignals(os.Interrupt)
	stop()
	stop()
	stop = HandleSignals() // the defaults
	stop()
}
