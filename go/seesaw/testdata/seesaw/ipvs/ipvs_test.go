package ipvs

import (
	"net"
	"testing"
)

func TestToNL(t *testing.T) {
	if n := toNL(&Service{Address: net.ParseIP("1.2.3.4")}); n.AddrFamily != 2 {
		t.Fatalf("family %d", n.AddrFamily)
	}
}
