package otlpsink

import "unsafe"

// unsafePointer is the address of a mapped 8-byte counter, for atomics.
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
