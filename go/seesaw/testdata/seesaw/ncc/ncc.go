// Package ncc stands in for Seesaw's network control centre, which programs IPVS.
package ncc

import "github.com/google/seesaw/ipvs"

// IPVSAddService adds a service, as Seesaw's NCC does on an RPC from the engine.
func IPVSAddService(svc *ipvs.Service) error {
	return ipvs.AddService(*svc)
}

// IPVSGetServices lists services for the engine.
func IPVSGetServices() ([]*ipvs.Service, error) {
	return ipvs.GetServices()
}
