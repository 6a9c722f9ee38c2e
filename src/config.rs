//! Typed settings: defaults < optional TOML file < environment variables.
//!
//! Settings are built once and passed in; nothing reads the environment later.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How durable a SQLite commit is (see README, "Durability").
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    Normal,
    Full,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret read from the environment: never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting of the service. Field docs are the README's configuration table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// `postgres://…` selects PostgreSQL; anything else is a SQLite file path.
    pub database_url: String,
    /// Base URL people use to reach the service (used in printed links and emails).
    pub public_url: Option<String>,
    /// Connections in the database pool.
    pub pool_size: u32,
    /// SQLite `synchronous` level.
    pub sqlite_synchronous: SqliteSync,
    /// Minutes of inactivity after which a session ends.
    pub session_idle_minutes: i64,
    /// Hours after login after which a session ends whatever the activity.
    pub session_absolute_hours: i64,
    /// Consecutive failed logins that lock an account.
    pub lockout_threshold: i32,
    /// Minutes an account stays locked.
    pub lockout_minutes: i64,
    /// Failed logins for one account name from one address within `lockout_minutes` after which
    /// that pair is throttled (others behind the same address, a proxy, are not).
    pub ip_failure_limit: i64,
    /// Failed logins from one address, whatever the account, within `lockout_minutes` after which
    /// the address is throttled: much higher than `ip_failure_limit`, for everyone behind a proxy.
    pub address_failure_cap: i64,
    /// Send cookies with the `Secure` attribute (turn off only for plain-HTTP tests on a LAN).
    pub cookie_secure: bool,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; empty: none, the peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// SMTP server for notifications (`smtp://host:25`, `smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`); without it messages are written to `mail_dir`.
    pub smtp_url: Option<String>,
    /// Sender of notifications.
    pub mail_from: String,
    /// The name on the letterhead of written feedback, above "Unità di crisi e di valutazione"
    /// (the project running the unit, e.g. "Progetto N.A.Ve – Comune di Venezia").
    pub unit_name: String,
    /// Folder where messages go when no SMTP server is configured.
    pub mail_dir: String,
    /// Minutes an emergency may stay unacknowledged before the coordinator is alerted.
    pub emergency_ack_minutes: i64,
    /// Hours within which an ordinary referral must be taken in charge.
    pub take_charge_hours: i64,
    /// Minutes a hold on a place at an escape point lasts before it expires by itself.
    pub hold_minutes: i64,
    /// Counts below this are not shown outside the unit (the observatory's aggregates).
    pub disclosure_threshold: i64,
    /// The k of the record-level (CTDC) file: every combination of its quasi-identifiers occurs
    /// at least k times.
    pub k_anonymity: i64,
    /// Hours back in which a browser form's referral is compared with earlier ones from the same
    /// organisation, to warn of a probable duplicate before filing it.
    pub duplicate_window_hours: i64,
    /// Folder of protocol TOML files overriding the built-in ones (none: built-in).
    pub protocols_dir: Option<String>,
    /// Seconds a bearer token's lookup is kept in memory (0: none). Revocations through an
    /// instance apply at once there; other instances see them within this time.
    pub token_cache_seconds: u64,
    /// The master keys (base64, comma-separated, current first): environment only, never a file
    /// of settings.
    #[serde(skip)]
    pub master_key: Option<Secret>,
    /// The file holding the master keys (default: `master.key` beside the SQLite database, or
    /// `./data/master.key` for PostgreSQL).
    pub master_key_file: Option<String>,
    /// SQLite: the write-ahead log is checkpointed and truncated when it passes this size (MiB).
    pub sqlite_wal_limit_mb: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: "./data/varco.db".into(),
            public_url: None,
            pool_size: 8,
            sqlite_synchronous: SqliteSync::Normal,
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            ip_failure_limit: 20,
            address_failure_cap: 200,
            cookie_secure: true,
            trusted_proxies: Vec::new(),
            body_limit: 256 * 1024,
            workers: 0,
            log_format: LogFormat::Text,
            smtp_url: None,
            mail_from: "Varco <varco@localhost>".into(),
            unit_name: "Varco".into(),
            mail_dir: "./data/mail".into(),
            emergency_ack_minutes: 15,
            duplicate_window_hours: 72,
            take_charge_hours: 24,
            hold_minutes: 90,
            disclosure_threshold: 5,
            k_anonymity: 11,
            protocols_dir: None,
            token_cache_seconds: 2,
            master_key: None,
            master_key_file: None,
            sqlite_wal_limit_mb: 64,
        }
    }
}

/// The environment variables read, in the order of the README's table.
pub const ENV_VARS: &[&str] = &[
    "VARCO_CONFIG",
    "VARCO_BIND",
    "DATABASE_URL",
    "VARCO_PUBLIC_URL",
    "VARCO_POOL_SIZE",
    "VARCO_SQLITE_SYNCHRONOUS",
    "VARCO_SESSION_IDLE_MINUTES",
    "VARCO_SESSION_ABSOLUTE_HOURS",
    "VARCO_LOCKOUT_THRESHOLD",
    "VARCO_LOCKOUT_MINUTES",
    "VARCO_IP_FAILURE_LIMIT",
    "VARCO_COOKIE_SECURE",
    "VARCO_TRUSTED_PROXIES",
    "VARCO_BODY_LIMIT",
    "VARCO_WORKERS",
    "VARCO_LOG_FORMAT",
    "VARCO_SMTP_URL",
    "VARCO_MAIL_FROM",
    "VARCO_UNIT_NAME",
    "VARCO_MAIL_DIR",
    "VARCO_EMERGENCY_ACK_MINUTES",
    "VARCO_DUPLICATE_WINDOW_HOURS",
    "VARCO_TAKE_CHARGE_HOURS",
    "VARCO_HOLD_MINUTES",
    "VARCO_DISCLOSURE_THRESHOLD",
    "VARCO_K_ANONYMITY",
    "VARCO_PROTOCOLS_DIR",
    "VARCO_TOKEN_CACHE_SECONDS",
    "VARCO_MASTER_KEY",
    "VARCO_MASTER_KEY_FILE",
    "VARCO_SQLITE_WAL_LIMIT_MB",
];

/// A configuration mistake, naming where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

impl Settings {
    /// Defaults, then the TOML file named by `VARCO_CONFIG` (or `./varco.toml` when present), then
    /// the environment.
    pub fn load() -> Result<Settings, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let file = env("VARCO_CONFIG").map(PathBuf::from).or_else(|| {
            let default = PathBuf::from("varco.toml");
            default.exists().then_some(default)
        });
        let mut settings = match file {
            Some(path) => Settings::from_file(&path)?,
            None => Settings::default(),
        };
        settings.apply_env(env)?;
        Ok(settings)
    }

    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Applies environment variables, read through `get` so that tests need not touch the process
    /// environment.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, v: &str) -> Result<T, ConfigError> {
            v.trim().parse().map_err(|_| ConfigError::Env {
                name,
                message: format!("cannot parse {v:?}"),
            })
        }
        fn boolean(name: &'static str, v: &str) -> Result<bool, ConfigError> {
            match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Env {
                    name,
                    message: "expected true or false".into(),
                }),
            }
        }
        // Addresses or CIDR ranges, separated by commas or spaces (`10.0.0.0/8, ::1`).
        fn parse_proxies(v: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
            v.split([',', ' '])
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    let p = p.trim();
                    p.parse::<ipnet::IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| ConfigError::Env {
                            name: "VARCO_TRUSTED_PROXIES",
                            message: format!("{p:?} is not an address or a CIDR range"),
                        })
                })
                .collect()
        }
        if let Some(v) = get("VARCO_BIND") {
            self.bind = v;
        }
        if let Some(v) = get("DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("VARCO_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("VARCO_POOL_SIZE") {
            self.pool_size = parse("VARCO_POOL_SIZE", &v)?;
        }
        if let Some(v) = get("VARCO_SQLITE_SYNCHRONOUS") {
            self.sqlite_synchronous = match v.trim().to_ascii_lowercase().as_str() {
                "normal" => SqliteSync::Normal,
                "full" => SqliteSync::Full,
                _ => {
                    return Err(ConfigError::Env {
                        name: "VARCO_SQLITE_SYNCHRONOUS",
                        message: "expected normal or full".into(),
                    })
                }
            };
        }
        if let Some(v) = get("VARCO_SESSION_IDLE_MINUTES") {
            self.session_idle_minutes = parse("VARCO_SESSION_IDLE_MINUTES", &v)?;
        }
        if let Some(v) = get("VARCO_SESSION_ABSOLUTE_HOURS") {
            self.session_absolute_hours = parse("VARCO_SESSION_ABSOLUTE_HOURS", &v)?;
        }
        if let Some(v) = get("VARCO_LOCKOUT_THRESHOLD") {
            self.lockout_threshold = parse("VARCO_LOCKOUT_THRESHOLD", &v)?;
        }
        if let Some(v) = get("VARCO_LOCKOUT_MINUTES") {
            self.lockout_minutes = parse("VARCO_LOCKOUT_MINUTES", &v)?;
        }
        if let Some(v) = get("VARCO_IP_FAILURE_LIMIT") {
            self.ip_failure_limit = parse("VARCO_IP_FAILURE_LIMIT", &v)?;
        }
        if let Some(v) = get("VARCO_ADDRESS_FAILURE_CAP") {
            self.address_failure_cap = parse("VARCO_ADDRESS_FAILURE_CAP", &v)?;
        }
        if let Some(v) = get("VARCO_COOKIE_SECURE") {
            self.cookie_secure = boolean("VARCO_COOKIE_SECURE", &v)?;
        }
        if let Some(v) = get("VARCO_TRUSTED_PROXIES") {
            self.trusted_proxies = parse_proxies(&v)?;
        }
        if let Some(v) = get("VARCO_BODY_LIMIT") {
            self.body_limit = parse("VARCO_BODY_LIMIT", &v)?;
        }
        if let Some(v) = get("VARCO_WORKERS") {
            self.workers = parse("VARCO_WORKERS", &v)?;
        }
        if let Some(v) = get("VARCO_LOG_FORMAT") {
            self.log_format = match v.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        name: "VARCO_LOG_FORMAT",
                        message: "expected text or json".into(),
                    })
                }
            };
        }
        if let Some(v) = get("VARCO_SMTP_URL") {
            self.smtp_url = Some(v);
        }
        if let Some(v) = get("VARCO_MAIL_FROM") {
            self.mail_from = v;
        }
        if let Some(v) = get("VARCO_UNIT_NAME") {
            self.unit_name = v;
        }
        if let Some(v) = get("VARCO_MAIL_DIR") {
            self.mail_dir = v;
        }
        if let Some(v) = get("VARCO_EMERGENCY_ACK_MINUTES") {
            self.emergency_ack_minutes = parse("VARCO_EMERGENCY_ACK_MINUTES", &v)?;
        }
        if let Some(v) = get("VARCO_DUPLICATE_WINDOW_HOURS") {
            self.duplicate_window_hours = parse("VARCO_DUPLICATE_WINDOW_HOURS", &v)?;
        }
        if let Some(v) = get("VARCO_TAKE_CHARGE_HOURS") {
            self.take_charge_hours = parse("VARCO_TAKE_CHARGE_HOURS", &v)?;
        }
        if let Some(v) = get("VARCO_HOLD_MINUTES") {
            self.hold_minutes = parse("VARCO_HOLD_MINUTES", &v)?;
        }
        if let Some(v) = get("VARCO_DISCLOSURE_THRESHOLD") {
            self.disclosure_threshold = parse("VARCO_DISCLOSURE_THRESHOLD", &v)?;
        }
        if let Some(v) = get("VARCO_K_ANONYMITY") {
            self.k_anonymity = parse("VARCO_K_ANONYMITY", &v)?;
        }
        if let Some(v) = get("VARCO_PROTOCOLS_DIR") {
            self.protocols_dir = Some(v);
        }
        if let Some(v) = get("VARCO_TOKEN_CACHE_SECONDS") {
            self.token_cache_seconds = parse("VARCO_TOKEN_CACHE_SECONDS", &v)?;
        }
        if let Some(v) = get("VARCO_MASTER_KEY") {
            self.master_key = Some(Secret(v));
        }
        if let Some(v) = get("VARCO_MASTER_KEY_FILE") {
            self.master_key_file = Some(v);
        }
        if let Some(v) = get("VARCO_SQLITE_WAL_LIMIT_MB") {
            self.sqlite_wal_limit_mb = parse("VARCO_SQLITE_WAL_LIMIT_MB", &v)?;
        }
        self.check()
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |name, message: &str| {
            Err(ConfigError::Env {
                name,
                message: message.into(),
            })
        };
        if self.pool_size == 0 {
            return bad("VARCO_POOL_SIZE", "must be at least 1");
        }
        if self.session_idle_minutes <= 0 || self.session_absolute_hours <= 0 {
            return bad("VARCO_SESSION_IDLE_MINUTES", "session lifetimes must be positive");
        }
        if self.lockout_threshold <= 0
            || self.lockout_minutes <= 0
            || self.ip_failure_limit <= 0
            || self.address_failure_cap <= 0
        {
            return bad("VARCO_LOCKOUT_THRESHOLD", "lockout settings must be positive");
        }
        if self.duplicate_window_hours < 0 {
            return bad("VARCO_DUPLICATE_WINDOW_HOURS", "must be 0 (no check) or more");
        }
        if self.emergency_ack_minutes <= 0 {
            return bad("VARCO_EMERGENCY_ACK_MINUTES", "must be positive");
        }
        if self.take_charge_hours <= 0 {
            return bad("VARCO_TAKE_CHARGE_HOURS", "must be positive");
        }
        if !(1..=24 * 60).contains(&self.hold_minutes) {
            return bad("VARCO_HOLD_MINUTES", "must be between 1 and 1440");
        }
        // Italian official statistics publish no count under 3 (Sistan).
        if !(3..=1000).contains(&self.disclosure_threshold) {
            return bad("VARCO_DISCLOSURE_THRESHOLD", "must be between 3 and 1000");
        }
        if !(2..=1000).contains(&self.k_anonymity) {
            return bad("VARCO_K_ANONYMITY", "must be between 2 and 1000");
        }
        if self.sqlite_wal_limit_mb == 0 {
            return bad("VARCO_SQLITE_WAL_LIMIT_MB", "must be at least 1");
        }
        Ok(())
    }

    /// The SQLite database file, or `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        (!self.is_postgres()).then(|| Path::new(&self.database_url))
    }

    /// The folder Varco keeps its files in: the SQLite database's, or `./data` on PostgreSQL.
    pub fn data_dir(&self) -> PathBuf {
        match self.sqlite_path().and_then(Path::parent) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            Some(_) => PathBuf::from("."),
            None => PathBuf::from("data"),
        }
    }

    /// Whether `ip` is one of the trusted reverse proxies.
    pub fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// True when the database URL names PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.database_url)
    }

    /// Base URL for links printed or mailed by the service.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }
}

/// True for `postgres://` and `postgresql://` URLs.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults_and_names_bad_values() {
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "VARCO_BIND" => Some("0.0.0.0:9000".into()),
            "DATABASE_URL" => Some("postgres://x@h/db".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert!(s.is_postgres());

        let err = Settings::default()
            .apply_env(|k| (k == "VARCO_POOL_SIZE").then(|| "many".into()))
            .expect_err("invalid");
        assert!(err.to_string().contains("VARCO_POOL_SIZE"), "{err}");
    }

    #[test]
    fn toml_file_rejects_unknown_keys_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("varco-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("varco.toml");
        std::fs::write(&path, "bind = \"127.0.0.1:1\"\nbogus = 1\n").expect("write");
        let err = Settings::from_file(&path).expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("varco.toml") && text.contains("bogus"), "{text}");
        std::fs::write(&path, "bind = \"127.0.0.1:1\"\n").expect("write");
        assert_eq!(Settings::from_file(&path).expect("ok").bind, "127.0.0.1:1");
    }
}
