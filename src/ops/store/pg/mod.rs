//! PostgreSQL as the shared store of a team (`audit_url`): the append-only
//! audit table and the ticket queue, through tokio-postgres with a
//! deadpool connection pool, over TLS (rustls) where the server offers it. The schema is created and migrated on first
//! use ([`migrations`]).

mod audit;
mod migrations;
mod tls;

use super::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::config::Host;

pub use migrations::SCHEMA_VERSION;

/// Who writes: stamped on every row this process adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The `operator` config key, else the OS user.
    pub operator: String,
    /// The OS user running roomwarden.
    pub os_user: String,
    /// This machine's host name.
    pub host: String,
}

impl Origin {
    /// The OS user and host of this process, with `operator` if configured.
    pub fn here(operator: Option<&str>) -> Self {
        let os_user = crate::ops::audit::operator();
        Self {
            operator: operator.map_or_else(|| os_user.clone(), str::to_string),
            os_user,
            host: host_name(),
        }
    }
}

/// This machine's host name (`unknown` when it cannot be found).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            let out = std::process::Command::new("uname")
                .arg("-n")
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        })
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// How to reach the database.
pub struct PgSpec {
    /// `postgres://user@host:port/db?...` (or the key=value form).
    pub url: String,
    /// From `audit_password[_env|_cmd]`; overrides one in the URL.
    pub password: Option<SecretString>,
    pub origin: Origin,
}

/// The shared store: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    describe: String,
    origin: Origin,
}

/// `user@host:port/db`, never the password.
fn describe(cfg: &tokio_postgres::Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        cfg.get_user().unwrap_or("?"),
        cfg.get_dbname().or(cfg.get_user()).unwrap_or("?")
    )
}

impl PgStore {
    /// Connects, checks the database answers, and runs the migrations this
    /// version needs. Fails (unavailable) when the database cannot be
    /// reached, so that nothing is sent without an audit trail.
    pub async fn connect(spec: PgSpec) -> Result<Self, StoreError> {
        let mut cfg = tokio_postgres::Config::from_str(&spec.url).map_err(|e| {
            StoreError::new(format!(
                "audit_url is not a PostgreSQL URL such as postgres://user@host:5432/db: {e}"
            ))
        })?;
        if cfg.get_user().is_none() {
            cfg.user(crate::ops::audit::operator());
        }
        if let Some(p) = &spec.password {
            cfg.password(p.expose_secret());
        }
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(10));
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("roomwarden");
        }
        let describe = describe(&cfg);
        let manager_config = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        // Unix sockets never carry TLS (the server does not offer it there).
        let plain = cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Disable
            || cfg.get_hosts().iter().all(|h| !matches!(h, Host::Tcp(_)));
        let manager = if plain {
            Manager::from_config(cfg, tokio_postgres::NoTls, manager_config())
        } else {
            let tls = tls::Rustls::new()
                .map_err(|e| StoreError::new(format!("audit database {describe}: {e}")))?;
            Manager::from_config(cfg, tls, manager_config())
        };
        let pool = Pool::builder(manager)
            .max_size(8)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(15)))
            .wait_timeout(Some(Duration::from_secs(60)))
            .recycle_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::new(format!("audit database {describe}: {e}")))?;
        let store = Self {
            pool,
            describe,
            origin: spec.origin,
        };
        let mut client = store.client().await?;
        migrations::run(&mut client)
            .await
            .map_err(|e| store.error(e))?;
        Ok(store)
    }

    /// `audit database user@host:port/db`.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// A pooled connection.
    pub async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| {
            let why = match e {
                deadpool_postgres::PoolError::Backend(e) => describe_pg(&e),
                deadpool_postgres::PoolError::Timeout(_) => {
                    "no connection within the timeout (is the server up and reachable?)".into()
                }
                other => other.to_string(),
            };
            StoreError::unavailable(format!(
                "audit database {} cannot be reached: {why}",
                self.describe
            ))
        })
    }

    /// A database error as a store error: unavailable unless the server
    /// answered with an SQL error.
    pub fn error(&self, e: tokio_postgres::Error) -> StoreError {
        let message = format!("audit database {}: {}", self.describe, describe_pg(&e));
        if e.as_db_error().is_some() {
            StoreError::new(message)
        } else {
            StoreError::unavailable(message)
        }
    }
}

/// A tokio-postgres error in one line: the server's message, or what
/// broke on the way.
fn describe_pg(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                let text = inner.to_string();
                if !s.contains(&text) {
                    s = format!("{s}: {text}");
                }
                source = inner.source();
            }
            s
        }
    }
}
