package otlpsink

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// Sink and core.Writer a test creates is closed, and every collector it
// starts is stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
