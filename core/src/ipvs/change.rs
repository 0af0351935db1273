//! One item of a batch sent with `Handle::apply`.

use std::net::IpAddr;

use super::destination::Destination;
use super::service::{Service, ServiceKey};

/// A change to the IPVS table, applied in order with others in one `sendmsg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a service (`IPVS_CMD_NEW_SERVICE`).
    NewService(Service),
    /// Edit a service (`IPVS_CMD_SET_SERVICE`).
    UpdateService(Service),
    /// Delete a service and its destinations (`IPVS_CMD_DEL_SERVICE`).
    DeleteService(ServiceKey),
    /// Add a destination to a service (`IPVS_CMD_NEW_DEST`).
    NewDestination(ServiceKey, Destination),
    /// Edit a destination (`IPVS_CMD_SET_DEST`).
    UpdateDestination(ServiceKey, Destination),
    /// Delete the destination at an address and port (`IPVS_CMD_DEL_DEST`).
    DeleteDestination(ServiceKey, IpAddr, u16),
    /// Zero one service's counters (`IPVS_CMD_ZERO` with a service).
    Zero(ServiceKey),
    /// Zero every counter (`IPVS_CMD_ZERO` without a service).
    ZeroAll,
}
