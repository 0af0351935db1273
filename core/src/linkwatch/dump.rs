//! The resynchronising dump both watchers run: throw away what is queued, dump, apply the
//! notifications interleaved with the dump in queue order, and dump again while notifications
//! were lost or the kernel flagged the dump interrupted.

use std::collections::HashMap;
use std::hash::Hash;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, LinkWatchOperation, Origin, Result};
use crate::netlink::message::{Header, NLM_F_DUMP_INTR, NLM_F_MULTI};
use crate::netlink::Socket;

use super::datagram::Item;
use super::watcher::{wait_readable, Stats};

const RESYNC: Origin = Origin::LinkWatch(LinkWatchOperation::Resync);

/// Interrupted dumps repeated before one is accepted. Because the socket is subscribed before
/// it dumps and applies notifications in queue order, an interrupted dump without lost
/// notifications still converges: every link (or address) created, changed or deleted while the dump ran
/// also sent a notification that is applied after the dump part it supersedes. Repeating a few
/// times gives a clean dump where the churn allows; accepting afterwards keeps a watcher
/// live under continuous link creation, where no dump would ever be clean.
pub(super) const INTERRUPTED_DUMP_RETRIES: u32 = 3;

enum Outcome<T> {
    /// A consistent dump with no notification lost.
    Complete(T),
    /// The kernel flagged the dump `NLM_F_DUMP_INTR`, but no notification was lost.
    Interrupted(T),
    /// Notifications were lost (or the dump could not start): dump again.
    Lost,
}

/// A complete table: dumps until a dump lost no notification and was not interrupted (or was
/// interrupted [`INTERRUPTED_DUMP_RETRIES`] times already), or `timeout` passed. `what` names
/// the table in errors ("link", "address"), `request` encodes the dump request for a sequence
/// number, `parse` splits a datagram, `insert` puts one object of the dump (or of a
/// notification interleaved with it) into the table; a deletion's key is the table's key.
pub(super) fn dump<K, V, N>(
    sock: &mut Socket,
    stats: &mut Stats,
    timeout: Duration,
    what: &str,
    request: impl Fn(u32) -> Result<Vec<u8>>,
    parse: impl Fn(&[u8]) -> Vec<Result<(Header, Item<N, K>)>>,
    mut insert: impl FnMut(&mut HashMap<K, V>, N),
) -> Result<HashMap<K, V>>
where
    K: Eq + Hash,
{
    let deadline = Instant::now() + timeout;
    let mut interrupted = 0;
    loop {
        match once(sock, stats, deadline, what, &request, &parse, &mut insert)? {
            Outcome::Complete(t) => return Ok(t),
            Outcome::Interrupted(t) if interrupted >= INTERRUPTED_DUMP_RETRIES => return Ok(t),
            outcome => {
                if matches!(outcome, Outcome::Interrupted(_)) {
                    interrupted += 1;
                }
                stats.dump_retries += 1;
                if Instant::now() >= deadline {
                    return Err(Error::new(
                        RESYNC,
                        ErrorKind::Timeout,
                        format!("{what} dump kept being interrupted or overrun"),
                    ));
                }
            }
        }
    }
}

/// One dump with the notifications that arrive interleaved with it applied in queue order.
fn once<K, V, N>(
    sock: &mut Socket,
    stats: &mut Stats,
    deadline: Instant,
    what: &str,
    request: &impl Fn(u32) -> Result<Vec<u8>>,
    parse: &impl Fn(&[u8]) -> Vec<Result<(Header, Item<N, K>)>>,
    insert: &mut impl FnMut(&mut HashMap<K, V>, N),
) -> Result<Outcome<HashMap<K, V>>>
where
    K: Eq + Hash,
{
    discard_queued(sock, stats)?;
    let seq = sock.next_seq();
    let req = request(seq)?;
    sock.send_raw(&req)?;
    let mut table: HashMap<K, V> = HashMap::new();
    let (mut lost, mut intr, mut busy) = (false, false, false);
    let mut first_err: Option<Error> = None;
    loop {
        let items = match sock.recv_raw() {
            Ok(buf) => parse(buf),
            Err(e) => match e.kind() {
                ErrorKind::Timeout => {
                    if !wait_readable(sock.as_raw_fd(), Some(deadline))? {
                        return Err(Error::new(
                            RESYNC,
                            ErrorKind::Timeout,
                            format!("{what} dump did not complete in time"),
                        ));
                    }
                    continue;
                }
                ErrorKind::Overrun => {
                    stats.overruns += 1;
                    lost = true;
                    continue;
                }
                ErrorKind::Malformed => {
                    stats.truncated += 1;
                    lost = true;
                    continue;
                }
                _ => return Err(e),
            },
        };
        let mut finished = false;
        for item in items {
            let (h, item) = match item {
                Ok(x) => x,
                Err(e) => {
                    stats.malformed += 1;
                    lost = true;
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            let ours = h.seq == seq;
            let part = h.flags & NLM_F_MULTI != 0;
            if ours && h.flags & NLM_F_DUMP_INTR != 0 {
                intr = true;
            }
            match item {
                Item::New(obj) => {
                    if part && !ours {
                        continue; // an older, abandoned dump
                    }
                    stats.messages += 1;
                    insert(&mut table, obj);
                }
                Item::Del(key) if !part => {
                    stats.messages += 1;
                    table.remove(&key);
                }
                Item::Done(errno) if ours => {
                    if errno == libc::EINTR || errno == libc::EBUSY {
                        intr = true;
                    } else if errno != 0 {
                        return Err(Error::from_kernel(
                            RESYNC,
                            errno,
                            format!("{what} dump"),
                            None,
                        ));
                    }
                    finished = true;
                }
                Item::Error(errno) if ours && errno != 0 => {
                    // EBUSY: a previous dump of ours is still running (it drains as we
                    // read). ENOBUFS: the receive queue was full when the dump was to
                    // start (`netlink_dump` refuses then). Both are retried; anything else
                    // is fatal.
                    if errno == libc::EBUSY || errno == libc::ENOBUFS {
                        if errno == libc::ENOBUFS {
                            stats.overruns += 1;
                        }
                        busy = true;
                        finished = true;
                    } else {
                        return Err(Error::from_kernel(
                            RESYNC,
                            errno,
                            format!("{what} dump request"),
                            None,
                        ));
                    }
                }
                _ => {}
            }
        }
        if finished {
            break;
        }
    }
    if let Some(e) = first_err {
        return Err(e.with_context(format!("undecodable message in {what} dump")));
    }
    if lost || busy {
        return Ok(Outcome::Lost);
    }
    if intr {
        stats.dumps_interrupted += 1;
        return Ok(Outcome::Interrupted(table));
    }
    Ok(Outcome::Complete(table))
}

/// Throws away what is queued on the socket: everything queued before a dump request is
/// superseded by the dump, and a full queue would make the kernel refuse to start the dump.
pub(super) fn discard_queued(sock: &mut Socket, stats: &mut Stats) -> Result<()> {
    loop {
        match sock.recv_raw() {
            Ok(_) => {}
            Err(e) => match e.kind() {
                ErrorKind::Timeout => return Ok(()),
                ErrorKind::Overrun => stats.overruns += 1,
                ErrorKind::Malformed => stats.truncated += 1,
                _ => return Err(e),
            },
        }
    }
}
