package main

// Stand-in for the netlink import (import.go, another branch): the type its importer's Stats()
// returns, and the hook through which the gRPC service reads it. The coordinator replaces this
// file at merge and wires importStats to the running importer.

import "time"

// ImportStats are the netlink import's counters.
type ImportStats struct {
	Imported, Withdrawn, Errors uint64
	LastImport, LastWithdraw    time.Time
	LastError                   string
}

// importStats returns the running importer's statistics; nil, or false, means import is not
// configured.
var importStats func() (ImportStats, bool)
