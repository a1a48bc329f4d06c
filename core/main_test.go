package core

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// Writer a test creates must be closed, and a test whose sink blocks must
// release it and wait for the writer goroutine to exit.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
