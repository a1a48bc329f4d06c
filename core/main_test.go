package core

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// Writer a test creates must be closed, and a test whose sink blocks must
// release it and wait for the writer goroutine to exit.
//
// lumberjack starts a goroutine at its first rotation that lives as long
// as the process: it is not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}
