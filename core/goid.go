package core

import "runtime"

// goid returns the id of the calling goroutine, as runtime.Stack prints
// it ("goroutine 18 [running]:"). It costs about a microsecond, so it is
// called only where a caller is about to wait.
func goid() uint64 {
	var buf [64]byte
	s := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(s) < len(prefix) {
		return 0
	}
	var id uint64
	for _, c := range s[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// onRunner reports whether the caller is the writer goroutine: the sink,
// the error handler or a notice format calling back into the Writer. Such
// a caller must not wait for room or for the writer goroutine, which is
// itself.
func (w *Writer) onRunner() bool {
	return goid() == w.runner.Load()
}
