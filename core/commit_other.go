//go:build !amd64 || !gc || race

package core

import "sync/atomic"

// storeRelease stores v at addr so that a reader that loads v with an
// atomic load also sees everything the caller stored before (see
// commit_amd64.go). Here it is sync/atomic's Store: on arm64 and the
// other 64-bit ports that is a store-release instruction already, under
// the race detector it makes the order visible to the detector, and a
// compiler other than gc does not assemble commit_amd64.s.
func storeRelease(addr *uint64, v uint64) {
	atomic.StoreUint64(addr, v)
}
