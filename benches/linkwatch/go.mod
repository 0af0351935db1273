module github.com/lbnet/lbnet/benches/linkwatch

go 1.24

require (
	github.com/lbnet/lbnet/go v0.0.0
	github.com/vishvananda/netlink v1.3.1
	golang.org/x/sys v0.10.0
)

require github.com/vishvananda/netns v0.0.5 // indirect

replace github.com/lbnet/lbnet/go => ../../go
