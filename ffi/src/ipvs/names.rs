//! Fixed-size, NUL-terminated name fields (scheduler, persistence engine, interface) in C structs.

use std::ffi::c_char;

use lbnet::Error;

use crate::common::{ARG, OUTPUT};

/// Size of a scheduler name field including its NUL (`IP_VS_SCHEDNAME_MAXLEN`).
pub const LBNET_IPVS_SCHED_NAME_LEN: usize = 16;
/// Size of a persistence engine name field including its NUL (`IP_VS_PENAME_MAXLEN`).
pub const LBNET_IPVS_PE_NAME_LEN: usize = 16;
/// Size of an interface name field including its NUL (`IP_VS_IFNAME_MAXLEN`, `IFNAMSIZ`).
pub const LBNET_IPVS_IFNAME_LEN: usize = 16;

/// Reads a name from a fixed array: it must hold a NUL (so at most `N - 1` bytes of text) and be
/// UTF-8. Returns `EINVAL` otherwise, naming `field`.
pub(crate) fn read_name<const N: usize>(arr: &[c_char; N], field: &str) -> Result<String, Error> {
    let bytes: Vec<u8> = arr.iter().map(|&c| c as u8).collect();
    let len = bytes.iter().position(|&b| b == 0).ok_or_else(|| {
        Error::invalid(
            ARG,
            format!(
                "{field} is not NUL-terminated within its {N} bytes (at most {} characters)",
                N - 1
            ),
        )
    })?;
    std::str::from_utf8(&bytes[..len])
        .map(str::to_owned)
        .map_err(|_| Error::invalid(ARG, format!("{field} is not valid UTF-8")))
}

/// Like [`read_name`], but an empty name is `EINVAL` too.
pub(crate) fn read_required_name<const N: usize>(
    arr: &[c_char; N],
    field: &str,
) -> Result<String, Error> {
    let s = read_name(arr, field)?;
    if s.is_empty() {
        return Err(Error::invalid(ARG, format!("{field} is empty")));
    }
    Ok(s)
}

/// Writes `s` into a fixed array, NUL-padded. Text the kernel sent longer than `N - 1` bytes is
/// a malformed reply (`EBADMSG`).
pub(crate) fn write_name<const N: usize>(s: &str, field: &str) -> Result<[c_char; N], Error> {
    if s.len() >= N || s.as_bytes().contains(&0) {
        return Err(Error::malformed(
            OUTPUT,
            format!(
                "{field} '{}' does not fit in {N} bytes with its NUL",
                s.escape_debug()
            ),
        ));
    }
    let mut out = [0 as c_char; N];
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = b as c_char;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(s: &[u8]) -> [c_char; 16] {
        let mut a = [0 as c_char; 16];
        for (o, b) in a.iter_mut().zip(s) {
            *o = *b as c_char;
        }
        a
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(read_name(&arr(b"wlc"), "s").unwrap(), "wlc");
        assert_eq!(read_name(&arr(b""), "s").unwrap(), "");
        assert_eq!(
            read_required_name(&arr(b""), "s").unwrap_err().errno(),
            libc::EINVAL
        );
        assert_eq!(read_name(&arr(b"0123456789abcde"), "s").unwrap().len(), 15);
        let e = read_name(&arr(b"0123456789abcdef"), "sched_name").unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert!(e.to_string().contains("sched_name"), "{e}");
        assert_eq!(
            read_name(&arr(b"\xffab"), "s").unwrap_err().errno(),
            libc::EINVAL
        );
        let w: [c_char; 16] = write_name("mh", "s").unwrap();
        assert_eq!(read_name(&w, "s").unwrap(), "mh");
        assert_eq!(
            write_name::<16>("0123456789abcdef", "s")
                .unwrap_err()
                .errno(),
            libc::EBADMSG
        );
    }
}
