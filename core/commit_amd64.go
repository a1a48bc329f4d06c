//go:build amd64 && gc && !race

package core

// storeRelease stores v at addr with a plain MOV: on amd64 a store is never
// made visible to another core before the stores that precede it in
// program order (the processor keeps stores in order, TSO), so a reader
// that loads v (an atomic load is a plain MOV too) also sees everything
// the caller stored before. It is what a release store is, without the
// full fence of the XCHG that sync/atomic's Store compiles to: that fence
// makes the caller wait until the record it has just copied is in its
// cache, which, when the record's cache lines were last written on another
// core, is most of what a Write costs. The compiler does not move memory
// operations across a call to an assembly function, so the record's copy,
// which precedes the call, stays before the store.
//
// Under the race detector, storeRelease is sync/atomic's Store (see
// commit_other.go), so that the detector sees the order it gives.
//
//go:noescape
func storeRelease(addr *uint64, v uint64)
