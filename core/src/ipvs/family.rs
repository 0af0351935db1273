//! Resolving the IPVS generic netlink family id through the controller (`nlctrl`).
//!
//! The id is assigned when the `ip_vs` module registers the family and changes when the module
//! is reloaded; the kernel answers `ENOENT` for a family name it does not know (IPVS absent or
//! not loaded).

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;

use netlink_packet_generic::constants::CTRL_ATTR_FAMILY_ID;
/// `GENL_ID_CTRL`: the controller's fixed family id (netlink-packet-generic's).
pub use netlink_packet_generic::constants::GENL_ID_CTRL;

use super::attr::FAMILY_NAME;
use crate::error::{Error, ErrorKind, NetlinkOperation, Origin, Result};
use crate::netlink::attr::attrs;
use crate::netlink::message::genl_body;
use crate::netlink::Socket;

const RESOLVE_FAMILY: Origin = Origin::Netlink(NetlinkOperation::ResolveFamily);

/// Encodes `CTRL_CMD_GETFAMILY` for family `name`.
pub fn getfamily_request(name: &str) -> Vec<u8> {
    let genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_string())],
    });
    let mut msg = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(genl));
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// Reads `CTRL_ATTR_FAMILY_ID` from a `CTRL_CMD_NEWFAMILY` reply.
pub fn parse_family_id(msg: &[u8]) -> Result<u16> {
    let (_, body) = genl_body(msg)?;
    for a in attrs(body) {
        let (k, v) = a?;
        if k == CTRL_ATTR_FAMILY_ID {
            let b: [u8; 2] = v.try_into().map_err(|_| {
                Error::malformed(RESOLVE_FAMILY, "CTRL_ATTR_FAMILY_ID is not 2 bytes")
            })?;
            return Ok(u16::from_ne_bytes(b));
        }
    }
    Err(Error::malformed(
        RESOLVE_FAMILY,
        "controller reply lacks CTRL_ATTR_FAMILY_ID",
    ))
}

/// Asks the controller for the id of the IPVS family. A missing family (no IPVS in this
/// kernel, module not loaded) is [`ErrorKind::NotAvailable`].
pub fn resolve(sock: &mut Socket) -> Result<u16> {
    let mut req = getfamily_request(FAMILY_NAME);
    let mut id = None;
    let r = sock.request(&mut req, |_, m| {
        id = Some(parse_family_id(m)?);
        Ok(())
    });
    match r {
        Ok(()) => {
            id.ok_or_else(|| Error::malformed(RESOLVE_FAMILY, "controller sent no reply for IPVS"))
        }
        Err(e) if e.errno() == libc::ENOENT => Err(e
            .with_kind(ErrorKind::NotAvailable)
            .with_context("generic netlink family IPVS not found (no ip_vs in this kernel)")),
        Err(e) => Err(e.with_context("resolve generic netlink family IPVS")),
    }
}
