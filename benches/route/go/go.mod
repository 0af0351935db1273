module github.com/lbnet/lbnet/benches/route

go 1.25.0

require (
	github.com/lbnet/lbnet/go v0.0.0-00010101000000-000000000000
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
)

require golang.org/x/sys v0.10.0 // indirect

replace github.com/lbnet/lbnet/go => ../../../go
