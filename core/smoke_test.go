package core

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestSmoke(t *testing.T) {
	var sink lockedBuf
	w := New(WithSink(&sink), WithBufferSize(256))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				fmt.Fprintf(w, "g%d-%d %s\n", g, i, bytes.Repeat([]byte("x"), i%300))
			}
		}()
	}
	wg.Wait()
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	t.Logf("%+v lines=%d", st, bytes.Count(sink.b.Bytes(), []byte("\n")))
}
