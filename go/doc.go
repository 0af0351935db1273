// Package lbnetgo is the root of lbnet's Go bindings; the packages below it (ipvs, linkwatch,
// routeexport, xdplb) link libipvs_ffi through cgo.
package lbnetgo
