//! The producer side of swss-common's ProducerStateTable protocol, which orchagent's
//! ConsumerStateTable reads (swss-common `common/producerstatetable.cpp`,
//! `common/consumer_state_table_pops.lua`, `common/table.h`). For table `T` in a database
//! numbered `N` with separator `:` (APPL_DB):
//!
//! * a set of key `K` adds `K` to the set `T_KEY_SET` and writes the fields into the hash
//!   `_T:K` (the "state hash": `_` + `T` + `:` + `K`);
//! * a delete adds `K` to `T_KEY_SET` and to `T_DEL_SET` and deletes `_T:K`;
//! * when the call added at least one key to `T_KEY_SET` that was not there, it publishes `G`
//!   on the channel `T_CHANNEL@N`.
//!
//! The consumer pops keys from `T_KEY_SET`; for each, a key found in `T_DEL_SET` has `T:K`
//! deleted first, then the fields of `_T:K` are copied into `T:K` and `_T:K` deleted: it
//! reads SET with the merged fields, or DEL when `_T:K` is empty. Several writes of one key
//! before a pop therefore reach the consumer as one (later fields win), which is the
//! coalescing the protocol allows; the order of different keys within one pop is not kept
//! (`SPOP`).
//!
//! One script call carries a batch of sets and deletes in order and publishes once, as
//! swss-common's batched `set(vector)`/`del(vector)` do.

use crate::sync::Op;

/// The producer script (ours; same effect as swss-common's set/del/batched scripts).
/// KEYS: channel, key set, del set, state hash prefix. ARGV: the published message, then per
/// entry: `S` or `D`, the key, the number of field/value pairs, the pairs.
pub const SCRIPT: &str = r#"
local added = 0
local i = 2
while i <= #ARGV do
    local op = ARGV[i]
    local key = ARGV[i + 1]
    local n = tonumber(ARGV[i + 2])
    added = added + redis.call('SADD', KEYS[2], key)
    if op == 'D' then
        redis.call('SADD', KEYS[3], key)
        redis.call('DEL', KEYS[4] .. key)
    else
        for j = 0, n - 1 do
            redis.call('HSET', KEYS[4] .. key, ARGV[i + 3 + 2 * j], ARGV[i + 4 + 2 * j])
        end
    end
    i = i + 3 + 2 * n
end
if added > 0 then
    redis.call('PUBLISH', KEYS[1], ARGV[1])
end
return added
"#;

/// Names of one table's protocol keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerTable {
    /// `T_CHANNEL@N`.
    pub channel: String,
    /// `T_KEY_SET`.
    pub key_set: String,
    /// `T_DEL_SET`.
    pub del_set: String,
    /// `_T:` (the state hash of key `K` is this followed by `K`).
    pub state_prefix: String,
}

impl ProducerTable {
    /// The keys of table `table` in database number `db` (APPL_DB's separator `:`).
    pub fn new(table: &str, db: i64) -> ProducerTable {
        ProducerTable {
            channel: format!("{table}_CHANNEL@{db}"),
            key_set: format!("{table}_KEY_SET"),
            del_set: format!("{table}_DEL_SET"),
            state_prefix: format!("_{table}:"),
        }
    }

    /// One `EVALSHA` of [`SCRIPT`] (loaded as `sha`) carrying `ops` in order; only
    /// [`Op::ApplSet`] and [`Op::ApplDel`] are taken, others are skipped.
    pub fn batch(&self, sha: &str, ops: &[Op]) -> redis::Cmd {
        let mut c = redis::cmd("EVALSHA");
        c.arg(sha)
            .arg(4)
            .arg(&self.channel)
            .arg(&self.key_set)
            .arg(&self.del_set)
            .arg(&self.state_prefix)
            .arg("G");
        for op in ops {
            match op {
                Op::ApplSet(key, fields) => {
                    c.arg("S").arg(key).arg(fields.len());
                    for (f, v) in fields {
                        c.arg(f).arg(v);
                    }
                }
                Op::ApplDel(key) => {
                    c.arg("D").arg(key).arg(0);
                }
                Op::StateSet(..) | Op::StateDel(_) => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_match_swss_common() {
        let t = ProducerTable::new("PORT_TABLE", 0);
        assert_eq!(t.channel, "PORT_TABLE_CHANNEL@0");
        assert_eq!(t.key_set, "PORT_TABLE_KEY_SET");
        assert_eq!(t.del_set, "PORT_TABLE_DEL_SET");
        assert_eq!(t.state_prefix, "_PORT_TABLE:");
    }
}
