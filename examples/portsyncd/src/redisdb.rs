//! The Redis side: one connection, reconnect with exponential backoff, pipelined writes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redis::{Client, Connection};

use crate::config::RedisConfig;
use crate::sync::{Db, Fields, Op};

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
}

impl Redis {
    /// Prepares a client for `cfg.url`; does not connect yet.
    pub fn new(cfg: RedisConfig) -> Result<Redis, String> {
        let client = Client::open(cfg.url.as_str()).map_err(|e| format!("redis url: {e}"))?;
        Ok(Redis {
            backoff: Duration::from_millis(cfg.backoff_initial_ms),
            cfg,
            client,
            conn: None,
            next_try: Instant::now(),
            last_error: None,
            connects: 0,
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
        self.last_error = Some(msg);
        self.next_try = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_millis(self.cfg.backoff_max_ms));
    }

    fn db_number(&self, db: Db) -> i64 {
        match db {
            Db::Appl => self.cfg.appl_db,
            Db::State => self.cfg.state_db,
        }
    }

    /// Writes `ops` in one pipeline. On failure the connection is dropped (the caller rewrites
    /// everything after the next connect) and the error returned.
    pub fn apply(&mut self, ops: &[Op]) -> Result<(), String> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        let mut current = None;
        for op in ops {
            let db = match op {
                Op::HSet(db, ..) | Op::Del(db, _) => *db,
            };
            if current != Some(db) {
                pipe.cmd("SELECT").arg(self.db_number(db)).ignore();
                current = Some(db);
            }
            match op {
                Op::HSet(_, key, fields) => {
                    let mut c = redis::cmd("HSET");
                    c.arg(key);
                    for (k, v) in fields {
                        c.arg(k).arg(v);
                    }
                    pipe.add_command(c).ignore();
                }
                Op::Del(_, key) => {
                    pipe.cmd("DEL").arg(key).ignore();
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

    /// True when STATE_DB says warm restart is enabled for the system or for swss.
    pub fn warm_restart_enabled(&mut self) -> Result<bool, String> {
        let db = self.cfg.state_db;
        self.with_db(db, |c| {
            for key in [
                "WARM_RESTART_ENABLE_TABLE|system",
                "WARM_RESTART_ENABLE_TABLE|swss",
            ] {
                let v: Option<String> = redis::cmd("HGET").arg(key).arg("enable").query(c)?;
                if v.as_deref() == Some("true") {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }
}
