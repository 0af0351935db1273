//go:build !race

package ipvs

// raceEnabled: the race detector is on (it changes what allocates, so allocation counts are
// not checked).
const raceEnabled = false
