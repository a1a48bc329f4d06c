//go:build race

package syslogsink

// raceEnabled: the race detector is on, and changes what allocates.
const raceEnabled = true
