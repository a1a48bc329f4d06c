package core

import "syscall"

// mapPopulate faults the spool's pages in when it is mapped, rather than
// in the first Write to touch each one.
const mapPopulate = syscall.MAP_POPULATE
