//! systemd's notification protocol (`sd_notify(3)`): datagrams to `$NOTIFY_SOCKET`.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A notifier; does nothing when the daemon was not started by systemd.
pub struct Notifier {
    sock: Option<(UnixDatagram, String)>,
    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC` when systemd asked for
    /// watchdog pings (and `$WATCHDOG_PID`, if set, is this process); the daemon replaces it
    /// with half of the configuration's interval when systemd did not set one.
    pub watchdog: Option<Duration>,
    /// `$WATCHDOG_USEC` when it applies to this process (see `watchdog`).
    pub watchdog_usec: Option<u64>,
}

impl Notifier {
    /// From the environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`).
    pub fn from_env() -> Notifier {
        let sock = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let s = UnixDatagram::unbound().ok()?;
            // Never block the daemon on a slow or stuck receiver (the queue of a Unix datagram
            // socket holds net.unix.max_dgram_qlen messages); a dropped notification is
            // repeated by the next one.
            s.set_nonblocking(true).ok()?;
            Some((s, path))
        });
        let pid_ok = std::env::var("WATCHDOG_PID")
            .map(|p| p.trim() == std::process::id().to_string())
            .unwrap_or(true);
        let watchdog_usec = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&us| us > 0 && pid_ok);
        Notifier {
            sock,
            watchdog: watchdog_usec.map(|us| Duration::from_micros(us / 2)),
            watchdog_usec,
        }
    }

    /// Sends `state` ("READY=1", "WATCHDOG=1", "STATUS=...", "STOPPING=1"); best effort.
    pub fn send(&self, state: &str) {
        let Some((sock, path)) = &self.sock else {
            return;
        };
        if let Some(abstract_name) = path.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name) {
                let _ = sock.send_to_addr(state.as_bytes(), &addr);
            }
        } else {
            let _ = sock.send_to(state.as_bytes(), path);
        }
    }
}
