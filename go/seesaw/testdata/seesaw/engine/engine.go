// Package engine stands in for Seesaw's engine, which builds ipvs values and sends them to NCC.
package engine

import (
	"bytes"
	"encoding/gob"

	"github.com/google/seesaw/ipvs"
)

// Encode gob-encodes a service, as net/rpc does between the engine and NCC.
func Encode(svc *ipvs.Service) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(svc)
	return b.Bytes(), err
}
