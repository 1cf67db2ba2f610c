//! The server's one typed configuration, read from flags and environment
//! variables (flags win). `sync-server --help` documents every setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "sync-server",
    version,
    about = "The CRM's sync server: accounts and the sync protocol, in front of the central PostgreSQL.",
    long_about = "The CRM's sync server: accounts and the sync protocol, in front of the central PostgreSQL.\n\n\
        With no database URL it runs a private PostgreSQL cluster from the installed binaries, kept in \
        the data directory between runs. With one, it uses that server. Either way it applies pending \
        migrations at start."
)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerConfig,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(
        long,
        env = "CRM_LISTEN",
        default_value = "127.0.0.1:8740",
        global = true
    )]
    pub listen: SocketAddr,

    /// HTTPS: `auto` serves it unless the server listens on loopback only
    /// (where the app takes plain HTTP), `on` always, `off` never (behind a
    /// proxy or load balancer that terminates TLS).
    #[arg(long, env = "CRM_TLS", value_enum, default_value_t = TlsMode::Auto, global = true)]
    pub tls: TlsMode,

    /// The certificate chain to serve (PEM, the server's first), with
    /// --tls-key. Unset: a self-signed certificate is made in the data
    /// directory on first start, and its fingerprint printed for users to
    /// compare (`sync-server tls fingerprint` prints it again).
    #[arg(long, env = "CRM_TLS_CERT", requires = "tls_key", global = true)]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM).
    #[arg(long, env = "CRM_TLS_KEY", requires = "tls_cert", global = true)]
    pub tls_key: Option<PathBuf>,

    /// Names (DNS names or addresses, comma-separated) a self-signed
    /// certificate is made for, besides localhost and this machine's name.
    #[arg(long, env = "CRM_TLS_NAMES", value_delimiter = ',', global = true)]
    pub tls_names: Vec<String>,

    /// PostgreSQL to use, e.g. postgres://crm_app:secret@host/db. Requests
    /// run on it: best as the role `crm_app` the migrations create (it can
    /// only become `authenticated`, `anon` or `service_role`; give it a
    /// password), not a superuser. Unset: run a private cluster in the data
    /// directory, reached with generated passwords.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL to apply the migrations with: a superuser of the same
    /// database (migrations create roles that bypass RLS). Unset: the
    /// database URL's.
    #[arg(
        long,
        env = "CRM_MIGRATE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub migrate_database_url: Option<String>,

    /// Where the server keeps its state: the private PostgreSQL cluster (when
    /// no database URL is given) and the generated JWT signing secret.
    #[arg(long, env = "CRM_DATA_DIR", default_value_os_t = default_data_dir(), global = true)]
    pub data_dir: PathBuf,

    /// Port of the private PostgreSQL (when no database URL is given), for
    /// connecting to it with psql. Unset: any free port.
    #[arg(long, env = "CRM_EMBEDDED_PG_PORT", global = true)]
    pub embedded_pg_port: Option<u16>,

    /// Log filter, e.g. `info`, `sync_server=debug,info`.
    #[arg(long, env = "CRM_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log format.
    #[arg(long, env = "CRM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Lifetime of an access token, in seconds.
    #[arg(
        long,
        env = "CRM_ACCESS_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl: u64,

    /// Lifetime of a refresh token (a signed-in device stays signed in this
    /// long without network), in seconds.
    #[arg(long, env = "CRM_REFRESH_TOKEN_TTL", default_value_t = 60 * 60 * 24 * 30, global = true)]
    pub refresh_token_ttl: u64,

    /// Absolute lifetime of a sign-in, in days: past it, the device signs
    /// in again however often it refreshed (the refresh token's lifetime
    /// only slides while it is used).
    #[arg(long, env = "CRM_SESSION_MAX_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3650), global = true)]
    pub session_max_days: u32,

    /// JWT signing secret (at least 32 bytes). Unset: one is generated on
    /// first start and kept in the data directory, readable by its owner only.
    #[arg(long, env = "CRM_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Previous JWT signing secrets (comma-separated), still accepted for
    /// access tokens they signed: while rotating `--jwt-secret`, keep the
    /// old one here for an access token's lifetime. With a generated
    /// secret, `sync-server jwt rotate` keeps the old one by itself.
    #[arg(
        long,
        env = "CRM_JWT_PREVIOUS_SECRETS",
        value_delimiter = ',',
        global = true,
        hide_env_values = true
    )]
    pub jwt_previous_secrets: Vec<String>,

    /// Who may create accounts through the API: `closed` lets only admins
    /// create them; `open` lets anyone sign up (as an agent).
    #[arg(long, env = "CRM_SIGNUP", value_enum, default_value_t = SignupPolicy::Closed, global = true)]
    pub signup: SignupPolicy,

    /// Proxies (addresses or networks, comma-separated) whose
    /// `X-Forwarded-For` names the client: set it behind a TLS proxy or load
    /// balancer, or every client has the proxy's address (and shares its
    /// sign-in throttle). Unset: the header is ignored.
    #[arg(long, env = "CRM_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net, global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// How long the change log keeps an entry, in days. A client offline
    /// for longer than this reloads its replica when it comes back (keeping
    /// its unsent changes); keep it above the refresh-token lifetime.
    #[arg(
        long,
        env = "CRM_CHANGE_RETENTION_DAYS",
        default_value_t = 90,
        // Zero would prune every hour what clients have not pulled yet, and
        // send them all back to a full reload.
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub change_retention_days: u32,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CRM_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Rows' bytes one pull page carries at most (besides its row limit):
    /// a page of large rows is cut short and continues on the next, so no
    /// one's rows can make a colleague's page huge. At least one row goes
    /// on every page, however large.
    #[arg(
        long,
        env = "CRM_PULL_PAGE_BYTES",
        default_value_t = 8 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(1024..),
        global = true
    )]
    pub pull_page_bytes: u64,

    /// Pushes one user may make per minute, across their devices (a burst
    /// of a tenth of it at once); more are answered 429 with Retry-After.
    #[arg(long, env = "CRM_PUSHES_PER_MINUTE", default_value_t = 600,
        value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub pushes_per_minute: u32,

    /// Pulls one user may make per minute (a first load of a million rows
    /// is some 200 pages, and fits in the burst of a quarter of it).
    #[arg(long, env = "CRM_PULLS_PER_MINUTE", default_value_t = 1200,
        value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub pulls_per_minute: u32,

    /// Whole-table reads one user may start per hour: a first load, a
    /// refetch, a checksum comparison (each reads every row they may see).
    /// The app starts one at sign-in and compares checksums every ten
    /// minutes; a burst of a quarter is allowed.
    #[arg(long, env = "CRM_SCANS_PER_HOUR", default_value_t = 40,
        value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub scans_per_hour: u32,

    /// Seconds a connection may take to send a request's headers; a slower
    /// one is dropped (it would otherwise hold a connection for nothing).
    #[arg(long = "header-read-timeout", env = "CRM_HEADER_READ_TIMEOUT", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub header_read_timeout_secs: u64,

    /// Longest a statement of a pull may run, in milliseconds; past it the
    /// pull is answered 503 and the app retries later.
    #[arg(long, env = "CRM_READ_STATEMENT_TIMEOUT_MS", default_value_t = 30_000,
        value_parser = clap::value_parser!(u32).range(100..), global = true)]
    pub read_statement_timeout_ms: u32,

    /// Where attachment files are kept, when not in S3. Unset:
    /// `{data dir}/storage`.
    #[arg(long, env = "CRM_STORAGE_DIR", global = true)]
    pub storage_dir: Option<PathBuf>,

    /// Keep attachment files in this S3 bucket (any S3-compatible store)
    /// instead of the local disk, so several server processes share them.
    #[arg(long, env = "CRM_STORAGE_S3_BUCKET", global = true)]
    pub storage_s3_bucket: Option<String>,

    /// Key prefix inside the S3 bucket, for a bucket shared with other data.
    #[arg(long, env = "CRM_STORAGE_S3_PREFIX", default_value = "", global = true)]
    pub storage_s3_prefix: String,

    /// The S3 service's URL (MinIO, Garage, Ceph, ...). Unset: AWS.
    #[arg(long, env = "CRM_STORAGE_S3_ENDPOINT", global = true)]
    pub storage_s3_endpoint: Option<String>,

    /// The S3 region.
    #[arg(
        long,
        env = "CRM_STORAGE_S3_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub storage_s3_region: String,

    /// The S3 access key id. Unset: the environment's AWS credentials.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", global = true, hide_env_values = true)]
    pub storage_s3_access_key_id: Option<String>,

    /// The S3 secret access key.
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        global = true,
        hide_env_values = true
    )]
    pub storage_s3_secret_access_key: Option<String>,

    /// Allow an `http://` S3 endpoint (a store on loopback or a private
    /// network); otherwise only HTTPS.
    #[arg(long, env = "CRM_STORAGE_S3_ALLOW_HTTP", global = true)]
    pub storage_s3_allow_http: bool,

    /// Hours a leftover (an abandoned upload, a file no attachment row
    /// came for, bytes no file holds) is kept before `storage clean`
    /// removes it.
    #[arg(
        long,
        env = "CRM_STORAGE_GRACE_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub storage_grace_hours: u64,

    /// Longest a signed URL works, in seconds (the default for one).
    #[arg(long = "signed-url-max-ttl", env = "CRM_SIGNED_URL_MAX_TTL", default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub signed_url_max_ttl_secs: u64,

    /// Requests one integration token may make per minute through
    /// /api/v1, across every server process; more are answered 429 with
    /// Retry-After.
    #[arg(long, env = "CRM_API_REQUESTS_PER_MINUTE", default_value_t = 600,
        value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub api_requests_per_minute: u32,

    /// Requests one integration token may make at once, before the steady
    /// rate applies.
    #[arg(long, env = "CRM_API_BURST", default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub api_burst: u32,

    /// Requests without a valid token one client address may make per
    /// minute through /api/v1 (a third of it at once).
    #[arg(long, env = "CRM_API_ANONYMOUS_PER_MINUTE", default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub api_anonymous_per_minute: u32,

    /// Requests of /api/v1 one server process runs at once (the rest
    /// wait): a part of its 32 database connections, so integrations never
    /// starve the apps' sync.
    #[arg(long, env = "CRM_API_MAX_CONCURRENT", default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..=32), global = true)]
    pub api_max_concurrent: u32,

    /// Milliseconds before a failed webhook delivery's first retry; later
    /// ones wait 6, 24, 60, 180, ... times as long (at most 8 hours).
    #[arg(long, env = "CRM_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(10..), global = true)]
    pub webhook_retry_base_ms: u64,

    /// Seconds a webhook delivery is retried before it fails; a
    /// subscription with no success for as long is stopped.
    #[arg(long, env = "CRM_WEBHOOK_GIVE_UP_SECS", default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub webhook_give_up_secs: u64,

    /// Seconds a webhook receiver has to answer.
    #[arg(long, env = "CRM_WEBHOOK_TIMEOUT_SECS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=120), global = true)]
    pub webhook_timeout_secs: u64,

    /// Let webhooks go to loopback and private addresses (a receiver on
    /// the server's own network). Off: they could reach internal services.
    #[arg(long, env = "CRM_WEBHOOK_ALLOW_PRIVATE_TARGETS", global = true)]
    pub webhook_allow_private_targets: bool,

    /// Seconds an upload may send nothing before it is dropped.
    #[arg(long = "upload-idle-timeout", env = "CRM_UPLOAD_IDLE_TIMEOUT", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub upload_idle_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignupPolicy {
    Closed,
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage accounts (for operators: create the first admin, change roles).
    #[command(subcommand)]
    User(UserCommand),
    /// Attachment files: find (and remove) what crashes and refused syncs
    /// left behind.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// HTTPS.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// The signing key of access tokens.
    #[command(subcommand)]
    Jwt(JwtCommand),
}

#[derive(Debug, Clone, Subcommand)]
pub enum JwtCommand {
    /// Make a new generated signing secret, keeping the old one as previous
    /// (tokens it signed stay valid until they expire); restart the server
    /// to use it. With --jwt-secret, rotate by hand (see
    /// --jwt-previous-secrets).
    Rotate,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TlsCommand {
    /// Print the SHA-256 fingerprint of the certificate the server serves,
    /// for users to compare with the one their app shows at sign-in.
    Fingerprint,
}

#[derive(Debug, Clone, Subcommand)]
pub enum StorageCommand {
    /// Report leftovers: abandoned uploads, files without an attachment,
    /// bytes no file holds, files whose bytes are missing. Exits 1 if any
    /// are past the grace period.
    Check,
    /// Remove the leftovers past the grace period.
    Clean,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        email: String,
        /// The password; prefer --password-stdin, which keeps it out of the
        /// process list and shell history.
        #[arg(
            long,
            env = "CRM_USER_PASSWORD",
            hide_env_values = true,
            conflicts_with = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        full_name: Option<String>,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Change an account's role.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["agent", "admin"])]
        role: String,
    },
    /// Deactivate an account: its devices are signed out at once and keep
    /// nothing readable, its integration tokens stop; what it wrote stays.
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// Let a deactivated account sign in again.
    Reactivate {
        #[arg(long)]
        email: String,
    },
    /// Print a one-time code (valid 24 hours) with which the account's owner
    /// sets a new password in the app's sign-in window.
    ResetCode {
        #[arg(long)]
        email: String,
    },
}

impl ServerConfig {
    /// Whether the server serves HTTPS (see `--tls`).
    pub fn serves_tls(&self) -> bool {
        match self.tls {
            TlsMode::On => true,
            TlsMode::Off => false,
            TlsMode::Auto => self.tls_cert.is_some() || !self.listen.ip().is_loopback(),
        }
    }

    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl)
    }

    pub fn session_max_age(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::days(i64::from(self.session_max_days))
    }

    pub fn refresh_token_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl)
    }

    /// Where attachment files go on the local disk.
    pub fn storage_dir(&self) -> PathBuf {
        self.storage_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("storage"))
    }

    /// The S3 bucket to keep attachment files in, if one is configured.
    pub fn storage_s3_settings(&self) -> Option<crate::storage::blobs::S3Settings> {
        let bucket = self.storage_s3_bucket.clone()?;
        Some(crate::storage::blobs::S3Settings {
            bucket,
            prefix: self.storage_s3_prefix.clone(),
            endpoint: self.storage_s3_endpoint.clone(),
            region: self.storage_s3_region.clone(),
            access_key_id: self.storage_s3_access_key_id.clone(),
            secret_access_key: self.storage_s3_secret_access_key.clone(),
            allow_http: self.storage_s3_allow_http,
        })
    }

    pub fn change_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.change_retention_days) * 24 * 60 * 60)
    }
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("crm-sync-server")
}

/// A network (`10.0.0.0/8`) or a single address (`10.0.0.1`).
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not an address or a network like 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert_eq!(parse_net("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(parse_net(" 10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("::1").unwrap().to_string(), "::1/128");
        assert!(parse_net("proxy.example.com").is_err());
    }

    #[test]
    fn defaults_are_safe_and_local() {
        let config = Config::try_parse_from(["sync-server"]).expect("no flags needed");
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8740");
        assert_eq!(config.server.signup, SignupPolicy::Closed);
        assert!(config.command.is_none());
    }

    #[test]
    fn a_change_retention_of_zero_days_is_refused() {
        let zero = Config::try_parse_from(["sync-server", "--change-retention-days", "0"]);
        assert!(zero.is_err(), "zero days would reload every client hourly");
        let week = Config::try_parse_from(["sync-server", "--change-retention-days", "7"])
            .expect("a week is fine");
        assert_eq!(
            week.server.change_retention(),
            Duration::from_secs(7 * 24 * 3600)
        );
    }

    #[test]
    fn user_create_takes_its_flags_after_the_subcommand() {
        let config = Config::try_parse_from([
            "sync-server",
            "user",
            "create",
            "--email",
            "a@b.io",
            "--password-stdin",
            "--admin",
        ])
        .expect("parses");
        match config.command {
            Some(Command::User(UserCommand::Create {
                email,
                admin,
                password_stdin,
                ..
            })) => {
                assert_eq!(email, "a@b.io");
                assert!(admin && password_stdin);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
