package core

import (
	"io"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewConfigDefaults checks what New uses when no option is given.
func TestNewConfigDefaults(t *testing.T) {
	c := newConfig(nil)
	assert.Same(t, os.Stderr, c.sink)
	assert.Equal(t, DefaultBufferSize, c.bufferSize)
	assert.Equal(t, DefaultFlushInterval, c.flushInterval)
	assert.Equal(t, Block, c.overflow)
	assert.NotNil(t, c.onError)
	assert.Equal(t, DefaultSyncTimeout, c.syncTimeout)
	assert.Equal(t, systemClock{}, c.clock)
}

// TestNewConfigFixesBadInput checks that options out of range never fail
// but are replaced by their default or nearest bound.
func TestNewConfigFixesBadInput(t *testing.T) {
	cases := []struct {
		name  string
		opt   Option
		check func(t *testing.T, c config)
	}{
		{"buffer size 0", WithBufferSize(0), func(t *testing.T, c config) { assert.Equal(t, DefaultBufferSize, c.bufferSize) }},
		{"buffer size -5", WithBufferSize(-5), func(t *testing.T, c config) { assert.Equal(t, DefaultBufferSize, c.bufferSize) }},
		{"buffer size 1", WithBufferSize(1), func(t *testing.T, c config) { assert.Equal(t, MinBufferSize, c.bufferSize) }},
		{"buffer size min-1", WithBufferSize(MinBufferSize - 1), func(t *testing.T, c config) { assert.Equal(t, MinBufferSize, c.bufferSize) }},
		{"buffer size min", WithBufferSize(MinBufferSize), func(t *testing.T, c config) { assert.Equal(t, MinBufferSize, c.bufferSize) }},
		{"buffer size 1000", WithBufferSize(1000), func(t *testing.T, c config) { assert.Equal(t, 1000, c.bufferSize) }},
		{"buffer size max", WithBufferSize(MaxBufferSize), func(t *testing.T, c config) { assert.Equal(t, MaxBufferSize, c.bufferSize) }},
		{"buffer size max+1", WithBufferSize(MaxBufferSize + 1), func(t *testing.T, c config) { assert.Equal(t, MaxBufferSize, c.bufferSize) }},
		{"buffer size huge", WithBufferSize(math.MaxInt), func(t *testing.T, c config) { assert.Equal(t, MaxBufferSize, c.bufferSize) }},
		{"flush interval 0", WithFlushInterval(0), func(t *testing.T, c config) { assert.Equal(t, DefaultFlushInterval, c.flushInterval) }},
		{"flush interval -1s", WithFlushInterval(-time.Second), func(t *testing.T, c config) { assert.Equal(t, DefaultFlushInterval, c.flushInterval) }},
		{"flush interval 3ms", WithFlushInterval(3 * time.Millisecond), func(t *testing.T, c config) { assert.Equal(t, 3*time.Millisecond, c.flushInterval) }},
		{"nil sink", WithSink(nil), func(t *testing.T, c config) { assert.Same(t, os.Stderr, c.sink) }},
		{"sink", WithSink(io.Discard), func(t *testing.T, c config) { assert.Equal(t, io.Discard, c.sink) }},
		{"overflow 42", WithOverflow(Overflow(42)), func(t *testing.T, c config) { assert.Equal(t, Block, c.overflow) }},
		{"overflow -1", WithOverflow(Overflow(-1)), func(t *testing.T, c config) { assert.Equal(t, Block, c.overflow) }},
		{"overflow drop", WithOverflow(Drop), func(t *testing.T, c config) { assert.Equal(t, Drop, c.overflow) }},
		{"nil error handler", WithErrorHandler(nil), func(t *testing.T, c config) { assert.NotNil(t, c.onError) }},
		{"sync timeout 0", WithSyncTimeout(0), func(t *testing.T, c config) { assert.Equal(t, DefaultSyncTimeout, c.syncTimeout) }},
		{"sync timeout -1s", WithSyncTimeout(-time.Second), func(t *testing.T, c config) { assert.Equal(t, DefaultSyncTimeout, c.syncTimeout) }},
		{"sync timeout 50ms", WithSyncTimeout(50 * time.Millisecond), func(t *testing.T, c config) { assert.Equal(t, 50*time.Millisecond, c.syncTimeout) }},
		{"nil option", nil, func(t *testing.T, c config) { assert.Equal(t, newConfig(nil).bufferSize, c.bufferSize) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, newConfig([]Option{c.opt}))
		})
	}
}

// TestNewConfigLaterOptionWins checks that options apply in order, a later
// one overriding an earlier one of the same kind, nil options skipped.
func TestNewConfigLaterOptionWins(t *testing.T) {
	var called bool
	c := newConfig([]Option{
		WithBufferSize(4096), nil, WithBufferSize(8192),
		WithOverflow(Drop), WithOverflow(Block),
		WithErrorHandler(func(error) { called = true }), nil, WithErrorHandler(nil),
	})
	assert.Equal(t, 8192, c.bufferSize)
	assert.Equal(t, Block, c.overflow)
	require.NotNil(t, c.onError)
	c = newConfig([]Option{WithErrorHandler(nil), WithErrorHandler(func(error) { called = true })})
	c.onError(errSink)
	assert.True(t, called, "the last handler given is used")
}

// TestNewWithNilOptionWorks checks that New accepts nil options.
func TestNewWithNilOptionWorks(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, nil, WithSink(s), nil, withClock(newFakeClock()))
	r := rec("x", 3)
	_, err := w.Write(r)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, string(r), string(s.Data()))
}

// TestStatsBufferSize checks that Stats reports the buffer size configured,
// after defaults, bounds and rounding up to a multiple of 8.
func TestStatsBufferSize(t *testing.T) {
	for _, c := range []struct{ give, want int }{
		{0, DefaultBufferSize},
		{-5, DefaultBufferSize},
		{1, MinBufferSize},
		{100, 104},
		{1 << 16, 1 << 16},
	} {
		w := newWriter(t, WithSink(io.Discard), WithBufferSize(c.give), withClock(newFakeClock()))
		assert.Equal(t, c.want, w.Stats().BufferSize, "WithBufferSize(%d)", c.give)
	}
}

// TestMinBufferSizeWorks checks that a Writer with the smallest buffer
// delivers records of every size.
func TestMinBufferSizeWorks(t *testing.T) {
	s := &recSink{}
	w := newWriter(t, WithSink(s), WithBufferSize(1), withClock(newFakeClock()))
	var want [][]byte
	for n := 1; n <= 3*MinBufferSize; n += 7 {
		r := rec("m", n)
		_, err := w.Write(r)
		require.NoError(t, err)
		want = append(want, r)
	}
	require.NoError(t, w.Close())
	assertWholeRecords(t, s.Calls(), want)
}

// TestOverflowString checks the names of the overflow policies.
func TestOverflowString(t *testing.T) {
	assert.Equal(t, "block", Block.String())
	assert.Equal(t, "drop", Drop.String())
	assert.Equal(t, "Overflow(42)", Overflow(42).String())
	assert.Equal(t, "Overflow(-1)", Overflow(-1).String())
}
