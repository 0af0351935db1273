//! The Redis side: one connection, reconnect with exponential backoff, pipelined writes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redis::{Client, Connection};

use crate::config::RedisConfig;
use crate::producer::{ProducerTable, SCRIPT};
use crate::sync::{state_key, Fields, Op};

/// STATE_DB key of portsyncd's warm-restart entry (`WARM_RESTART_TABLE|<app>`).
pub const WARM_RESTART_KEY: &str = "WARM_RESTART_TABLE|portsyncd";

/// A Redis connection that may be down.
pub struct Redis {
    cfg: RedisConfig,
    client: Client,
    conn: Option<Connection>,
    backoff: Duration,
    next_try: Instant,
    /// Text of the last failure (for health and logs).
    pub last_error: Option<String>,
    /// Successful (re)connections so far.
    pub connects: u64,
    /// APPL_DB PORT_TABLE's producer keys.
    producer: ProducerTable,
    /// SHA1 of the producer script, loaded on every connect (a restarted Redis has none).
    producer_sha: Option<String>,
}

impl Redis {
    /// Prepares a client for `cfg.url`; does not connect yet.
    pub fn new(cfg: RedisConfig) -> Result<Redis, String> {
        let client = Client::open(cfg.url.as_str()).map_err(|e| format!("redis url: {e}"))?;
        let appl_db = cfg.appl_db;
        Ok(Redis {
            backoff: Duration::from_millis(cfg.backoff_initial_ms),
            cfg,
            client,
            conn: None,
            next_try: Instant::now(),
            last_error: None,
            connects: 0,
            producer: ProducerTable::new("PORT_TABLE", appl_db),
            producer_sha: None,
        })
    }

    /// True while connected.
    pub fn connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Tries to connect if disconnected and the backoff delay has passed. True when this call
    /// established a new connection (the caller then rewrites its full state).
    pub fn try_connect(&mut self) -> bool {
        if self.conn.is_some() || Instant::now() < self.next_try {
            return false;
        }
        self.connect_now()
    }

    /// `PING` on the open connection (a Redis that stopped answering fails after the command
    /// timeout, and the connection is dropped). False when not connected or on failure.
    pub fn ping(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        match redis::cmd("PING").query::<String>(conn) {
            Ok(_) => true,
            Err(e) => {
                self.fail(format!("redis ping: {e}"));
                false
            }
        }
    }

    /// Connects now if disconnected, whatever the backoff says (used once more at shutdown).
    /// True when this call established a new connection.
    pub fn connect_now(&mut self) -> bool {
        if self.conn.is_some() {
            return false;
        }
        let t = Duration::from_millis(self.cfg.timeout_ms.max(1));
        let res = self.client.get_connection_with_timeout(t).and_then(|c| {
            c.set_read_timeout(Some(t))?;
            c.set_write_timeout(Some(t))?;
            Ok(c)
        });
        match res {
            Ok(mut c) => {
                // PING proves the server answers (a socket can connect while it is loading).
                if let Err(e) = redis::cmd("PING").query::<String>(&mut c) {
                    self.fail(format!("redis ping: {e}"));
                    return false;
                }
                match redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(SCRIPT)
                    .query::<String>(&mut c)
                {
                    Ok(sha) => self.producer_sha = Some(sha),
                    Err(e) => {
                        self.fail(format!("redis script load: {e}"));
                        return false;
                    }
                }
                self.conn = Some(c);
                self.backoff = Duration::from_millis(self.cfg.backoff_initial_ms);
                self.connects += 1;
                true
            }
            Err(e) => {
                self.fail(format!("redis connect: {e}"));
                false
            }
        }
    }

    /// Time until the next connection attempt.
    pub fn retry_in(&self) -> Duration {
        self.next_try.saturating_duration_since(Instant::now())
    }

    fn fail(&mut self, msg: String) {
        self.conn = None;
        self.producer_sha = None;
        self.last_error = Some(msg);
        self.next_try = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_millis(self.cfg.backoff_max_ms));
    }

    /// Writes `ops` in one pipeline, in order. Consecutive APPL_DB ops go out as one call of
    /// the producer script (the batching ProducerStateTable's batched set/del allow: one
    /// `PUBLISH` for the batch); STATE_DB ops are plain `HSET`/`DEL` (swss::Table). On failure
    /// the connection is dropped (the caller rewrites everything after the next connect) and
    /// the error returned.
    pub fn apply(&mut self, ops: &[Op]) -> Result<(), String> {
        if ops.is_empty() {
            return Ok(());
        }
        let Some(sha) = self.producer_sha.clone() else {
            return Err("redis not connected".into());
        };
        let mut pipe = redis::pipe();
        let mut db = None;
        let mut i = 0;
        while i < ops.len() {
            match &ops[i] {
                Op::ApplSet(..) | Op::ApplDel(_) => {
                    let run = ops[i..]
                        .iter()
                        .take_while(|o| matches!(o, Op::ApplSet(..) | Op::ApplDel(_)))
                        .count();
                    if db != Some(self.cfg.appl_db) {
                        pipe.cmd("SELECT").arg(self.cfg.appl_db).ignore();
                        db = Some(self.cfg.appl_db);
                    }
                    pipe.add_command(self.producer.batch(&sha, &ops[i..i + run]))
                        .ignore();
                    i += run;
                }
                Op::StateSet(key, fields) => {
                    if db != Some(self.cfg.state_db) {
                        pipe.cmd("SELECT").arg(self.cfg.state_db).ignore();
                        db = Some(self.cfg.state_db);
                    }
                    let mut c = redis::cmd("HSET");
                    c.arg(state_key(key));
                    for (k, v) in fields {
                        c.arg(k).arg(v);
                    }
                    pipe.add_command(c).ignore();
                    i += 1;
                }
                Op::StateDel(key) => {
                    if db != Some(self.cfg.state_db) {
                        pipe.cmd("SELECT").arg(self.cfg.state_db).ignore();
                        db = Some(self.cfg.state_db);
                    }
                    pipe.cmd("DEL").arg(state_key(key)).ignore();
                    i += 1;
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err("redis not connected".into());
        };
        match pipe.query::<()>(conn) {
            Ok(()) => Ok(()),
            Err(e) => {
                let msg = format!("redis write: {e}");
                self.fail(msg.clone());
                Err(msg)
            }
        }
    }

    fn with_db<T>(
        &mut self,
        db: i64,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Err("redis not connected".into());
        };
        let r = redis::cmd("SELECT")
            .arg(db)
            .query::<()>(conn)
            .and_then(|_| f(conn));
        r.map_err(|e| {
            let msg = format!("redis read: {e}");
            self.fail(msg.clone());
            msg
        })
    }

    /// CONFIG_DB `PORT|*`: port name to fields.
    pub fn read_ports(&mut self) -> Result<BTreeMap<String, Fields>, String> {
        let db = self.cfg.config_db;
        self.with_db(db, |c| {
            let keys: Vec<String> = redis::cmd("KEYS").arg("PORT|*").query(c)?;
            let mut out = BTreeMap::new();
            for k in keys {
                let fields: Fields = redis::cmd("HGETALL").arg(&k).query(c)?;
                if let Some(name) = k.strip_prefix("PORT|") {
                    out.insert(name.to_string(), fields);
                }
            }
            Ok(out)
        })
    }

    /// swss-common's `WarmStart::checkWarmStart("portsyncd", "swss")`: warm restart is enabled
    /// by STATE_DB `WARM_RESTART_ENABLE_TABLE|system` or `|swss` `enable` = "true" (or by
    /// `forced`, the configuration's `warm_start`); a warm start then also needs
    /// `WARM_RESTART_TABLE|portsyncd` `restore_count`, which it increments. Without it, or when
    /// not enabled, the start is cold and `restore_count` is written as "0".
    pub fn check_warm_start(&mut self, forced: bool) -> Result<bool, String> {
        let db = self.cfg.state_db;
        self.with_db(db, |c| {
            let mut enabled = forced;
            for key in [
                "WARM_RESTART_ENABLE_TABLE|system",
                "WARM_RESTART_ENABLE_TABLE|swss",
            ] {
                let v: Option<String> = redis::cmd("HGET").arg(key).arg("enable").query(c)?;
                enabled |= v.as_deref() == Some("true");
            }
            let count: Option<String> = if enabled {
                redis::cmd("HGET")
                    .arg(WARM_RESTART_KEY)
                    .arg("restore_count")
                    .query(c)?
            } else {
                None
            };
            let (warm, next) = match count.filter(|v| !v.is_empty()) {
                // stoul in swss-common; a value that does not parse counts as 0.
                Some(v) => (true, v.trim().parse::<u32>().unwrap_or(0).wrapping_add(1)),
                None => (false, 0),
            };
            redis::cmd("HSET")
                .arg(WARM_RESTART_KEY)
                .arg("restore_count")
                .arg(next.to_string())
                .query::<()>(c)?;
            Ok(warm)
        })
    }
}

/// A change of CONFIG_DB `PORT|<port>`: its fields now, `None` when the key is gone.
pub type ConfigChange = (String, Option<Fields>);

/// Watches CONFIG_DB `PORT|*` as swss-common's SubscriberStateTable does: keyspace
/// notifications (`PSUBSCRIBE __keyspace@<db>__:PORT|*`, which need the server's
/// `notify-keyspace-events` to include `K` and hash/generic events, as SONiC's redis.conf
/// sets), then `HGETALL` of the key. After each (re)subscription every port is read once
/// (SubscriberStateTable's initial dump), so nothing changed while disconnected is missed.
/// Runs on its own thread for the life of the process; changes arrive on the returned channel.
pub fn spawn_config_watch(cfg: RedisConfig) -> std::sync::mpsc::Receiver<ConfigChange> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut backoff = Duration::from_millis(cfg.backoff_initial_ms);
        loop {
            match config_watch_once(&cfg, &tx) {
                Ok(()) => return, // the receiver is gone
                Err(_) => {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(cfg.backoff_max_ms));
                }
            }
        }
    });
    rx
}

fn config_watch_once(
    cfg: &RedisConfig,
    tx: &std::sync::mpsc::Sender<ConfigChange>,
) -> redis::RedisResult<()> {
    let client = Client::open(cfg.url.as_str())?;
    let t = Duration::from_millis(cfg.timeout_ms.max(1));
    let mut reader = client.get_connection_with_timeout(t)?;
    reader.set_read_timeout(Some(t))?;
    redis::cmd("SELECT")
        .arg(cfg.config_db)
        .query::<()>(&mut reader)?;
    let mut sub = client.get_connection_with_timeout(t)?;
    let mut ps = sub.as_pubsub();
    let prefix = format!("__keyspace@{}__:", cfg.config_db);
    ps.psubscribe(format!("{prefix}PORT|*"))?;
    let keys: Vec<String> = redis::cmd("KEYS").arg("PORT|*").query(&mut reader)?;
    for k in keys {
        let f: Fields = redis::cmd("HGETALL").arg(&k).query(&mut reader)?;
        if let Some(p) = k.strip_prefix("PORT|") {
            if tx.send((p.to_string(), Some(f))).is_err() {
                return Ok(());
            }
        }
    }
    ps.set_read_timeout(None)?;
    loop {
        let msg = ps.get_message()?;
        let channel = msg.get_channel_name().to_string();
        let Some(key) = channel.strip_prefix(&prefix) else {
            continue;
        };
        let f: Fields = redis::cmd("HGETALL").arg(key).query(&mut reader)?;
        let port = key.strip_prefix("PORT|").unwrap_or(key).to_string();
        let change = (port, if f.is_empty() { None } else { Some(f) });
        if tx.send(change).is_err() {
            return Ok(());
        }
    }
}
