//! The command line as clap sees it: names, flags and their help, nothing more.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `tagroute --version`: the version, the git revision it was built from and its cargo features.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("TAGROUTE_REVISION"),
    ", features: ",
    env!("TAGROUTE_FEATURES"),
    ")"
);

/// Compile and evaluate Neo4j routing policies.
#[derive(Debug, Parser)]
#[command(name = "tagroute", version = VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The most memory one snapshot's tag matrix may take (one bit per server for every tag,
    /// in 64-byte lines): bytes, or with a unit (`512MiB`, `4GiB`). Default 2GiB.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub max_tag_matrix: Option<usize>,
}

/// A size in bytes: a number, then optionally `K`, `M`, `G` or `T`, with or without `iB`
/// (powers of 1,024 either way).
fn parse_size(text: &str) -> Result<usize, String> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let shift = match unit
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => {
            return Err(format!(
                "`{unit}` is not a unit: use K, M, G or T (KiB, MiB, ...)"
            ));
        }
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{text}` is not a size in bytes"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate neo4j.conf files: policies, settings, strategies; with several files, report
    /// the policies that differ between them.
    Check(CheckArgs),
    /// Apply a policy to the available servers of a topology.
    Eval(EvalArgs),
    /// Print a policy's bytecode, one instruction a line.
    Disasm(DisasmArgs),
    /// Show what each rule and filter of a policy kept, and which rule answered.
    Explain(ExplainArgs),
    /// Print the routing table a driver would get.
    Route(RouteArgs),
    /// Choose the upstream a server pulls its transaction log from.
    Upstream(UpstreamArgs),
    /// Leader priority advice and a leadership balancing plan.
    Leaders(LeadersArgs),
    /// Measure the VM, the cached router, the reference interpreter and the ideal loop.
    Bench(BenchArgs),
    /// Run everything on a built-in four-region cluster with the documented policies.
    Demo,
    /// Every routing table and catch-up upstream after a failure, beside today's.
    Whatif(WhatifArgs),
    /// Every policy under every failure of up to K domains, and the findings to act on.
    Resilience(ResilienceArgs),
    /// Serve routing tables to Neo4j drivers over Bolt, with an admin HTTP listener.
    #[cfg(feature = "serve")]
    Serve(Box<ServeArgs>),
    /// Topology files: `import` builds one from a live cluster's records.
    Topology(TopologyArgs),
    /// Print a manual page (roff), or write every command's page into a directory.
    Man(ManArgs),
    /// Print the completion script for a shell.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`serve`, `topology import`); none: tagroute(1).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Write tagroute.1 and one page per command (tagroute-serve.1, ...) into this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct TopologyArgs {
    #[command(subcommand)]
    pub command: TopologyCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopologyCommand {
    /// Build the topology JSON from the records of `SHOW SERVERS YIELD *` and
    /// `SHOW DATABASES YIELD *` (JSON lists of records, or CSV as cypher-shell and Neo4j
    /// Browser export them).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The records of `SHOW SERVERS YIELD *`.
    #[arg(
        long,
        value_name = "FILE",
        requires = "databases",
        required_unless_present = "from"
    )]
    pub servers: Option<PathBuf>,
    /// The records of `SHOW DATABASES YIELD *`.
    #[arg(
        long,
        value_name = "FILE",
        requires = "servers",
        required_unless_present = "from"
    )]
    pub databases: Option<PathBuf>,
    /// Read the records from a live cluster instead, in one poll: the first of these servers
    /// that answers (`neo4j://HOST:PORT[,HOST:PORT...]`; `neo4j+s://` for TLS).
    #[arg(long, value_name = "URI", conflicts_with_all = ["servers", "databases"])]
    pub from: Option<String>,
    /// The user to authenticate as (basic auth); without it, no authentication.
    #[arg(
        long,
        value_name = "USER",
        requires = "from",
        requires = "password_file"
    )]
    pub user: Option<String>,
    /// The file holding the user's password (one trailing line break is dropped).
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,
    /// The CA certificate (PEM) to verify the servers' TLS certificates with; TLS is used when
    /// it is given.
    #[arg(long, value_name = "PEM", requires = "from")]
    pub tls_ca: Option<PathBuf>,
}

/// How a command writes its findings: for people (stderr) or for programs (JSON on stdout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Diagnostics with carets on stderr.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Policy strictness, shared by the commands that parse policies.
#[derive(Debug, Args)]
pub struct StrictArg {
    /// Accept a policy if and only if Neo4j does (reject the two whitespace leniencies).
    #[arg(long)]
    pub neo4j: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// neo4j.conf files to check.
    #[arg(required = true, value_name = "CONF")]
    pub confs: Vec<PathBuf>,
    /// A topology (JSON) to check tags and `min` against.
    #[arg(long, value_name = "T")]
    pub topology: Option<PathBuf>,
    /// The server whose `initial.server.tags` to compare with the topology.
    #[arg(long, value_name = "NAME", requires = "topology")]
    pub server: Option<String>,
    #[command(flatten)]
    pub strict: StrictArg,
    /// Also list the keys that were not read.
    #[arg(long)]
    pub verbose: bool,
    /// Exit 1 when there is a warning, too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// `text` (diagnostics on stderr), `json` (one document on stdout) or `sarif` (SARIF 2.1.0
    /// on stdout, for CI systems).
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// The Neo4j version whose settings every key is checked against (default: the newest).
    #[arg(long, value_name = "VERSION", value_parser = neo4j_version)]
    pub neo4j_version: Option<tagroute::config::Neo4jVersion>,
    /// The Neo4j edition: an Enterprise setting is unknown to Community Edition.
    #[arg(long, value_enum, default_value_t = EditionArg::Enterprise)]
    pub edition: EditionArg,
    /// Print each file migrated from Neo4j 4.4 to Neo4j 5 on stdout, then check the migrated
    /// text (the file is never edited).
    #[arg(long, conflicts_with = "format")]
    pub migrate: bool,
}

/// How `check` writes its findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Diagnostics with carets on stderr.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
    /// One SARIF 2.1.0 log on stdout.
    Sarif,
}

/// A Neo4j edition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EditionArg {
    /// Community Edition.
    Community,
    /// Enterprise Edition.
    Enterprise,
}

fn neo4j_version(name: &str) -> Result<tagroute::config::Neo4jVersion, String> {
    tagroute::config::Neo4jVersion::named(name).ok_or_else(|| {
        let known: Vec<&str> = tagroute::config::Neo4jVersion::all()
            .map(|v| v.name())
            .collect();
        format!("tagroute has the settings of Neo4j {}", known.join(" and "))
    })
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["policy", "batch"])))]
pub struct EvalArgs {
    /// The topology (JSON).
    #[arg(long, value_name = "T")]
    pub topology: PathBuf,
    /// The policy text.
    #[arg(long, value_name = "DSL", allow_hyphen_values = true)]
    pub policy: Option<String>,
    /// Read one JSON string (a policy) per stdin line; answer one JSON object per line.
    #[arg(long)]
    pub batch: bool,
    #[command(flatten)]
    pub strict: StrictArg,
}

#[derive(Debug, Args)]
pub struct DisasmArgs {
    /// The policy text.
    #[arg(long, value_name = "DSL", allow_hyphen_values = true)]
    pub policy: String,
    #[command(flatten)]
    pub strict: StrictArg,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The topology (JSON).
    #[arg(long, value_name = "T")]
    pub topology: PathBuf,
    /// The policy text.
    #[arg(long, value_name = "DSL", allow_hyphen_values = true)]
    pub policy: String,
    /// Explain as if these servers (comma-separated names) were down.
    #[arg(long, value_name = "SERVER,...", value_delimiter = ',')]
    pub down: Vec<String>,
    /// `text` (for people) or `json` (one document).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub strict: StrictArg,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The neo4j.conf with the policies and routing settings.
    #[arg(long, value_name = "CONF")]
    pub config: PathBuf,
    /// The topology (JSON).
    #[arg(long, value_name = "T")]
    pub topology: PathBuf,
    /// The database.
    #[arg(long, value_name = "NAME")]
    pub db: String,
    /// The policy the client names (`default` when absent).
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// Servers the client could not use: names separated by `,`, the flag given once or more.
    /// A name holding a comma writes it `\,` (and a backslash before a comma `\\`).
    #[arg(long, value_name = "N1,N2")]
    pub exclude: Vec<String>,
    /// Seed for the shuffle (default: from the operating system).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct UpstreamArgs {
    /// The neo4j.conf with the catch-up strategies.
    #[arg(long, value_name = "CONF")]
    pub config: PathBuf,
    /// The topology (JSON).
    #[arg(long, value_name = "T")]
    pub topology: PathBuf,
    /// The database.
    #[arg(long, value_name = "NAME")]
    pub db: String,
    /// The server asking for an upstream.
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// Seed for the random choices (default: from the operating system).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Make K selections from one selector and print the counts (1 to 10,000,000).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=MAX_SAMPLES))]
    pub samples: Option<u64>,
}

/// The most selections `upstream --samples` makes: seconds of work, never unbounded.
pub const MAX_SAMPLES: u64 = 10_000_000;

#[derive(Debug, Args)]
pub struct LeadersArgs {
    /// The neo4j.conf with the priority tags.
    #[arg(long, value_name = "CONF")]
    pub config: PathBuf,
    /// The topology (JSON).
    #[arg(long, value_name = "T")]
    pub topology: PathBuf,
    /// Seed for the choice of transfer targets (default: from the operating system).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// The most threads `bench --threads` starts: far above any core count it can measure, far below
/// what the operating system refuses to spawn.
pub const MAX_BENCH_THREADS: u16 = 256;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Measure on this topology (JSON) instead of the built-in clusters.
    #[arg(long, value_name = "T")]
    pub topology: Option<PathBuf>,
    /// Measure this policy instead of the workload's.
    #[arg(long, value_name = "DSL", allow_hyphen_values = true)]
    pub policy: Option<String>,
    /// Threads deciding at once for the scaling measurement (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_BENCH_THREADS)))]
    pub threads: u16,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The cluster a what-if analysis looks at: files, or the built-in demo.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The neo4j.conf with the policies and settings.
    #[arg(long, value_name = "CONF", required_unless_present = "demo")]
    pub config: Option<PathBuf>,
    /// The topology (JSON).
    #[arg(long, value_name = "T", required_unless_present = "demo")]
    pub topology: Option<PathBuf>,
    /// Use the cluster and configuration of `tagroute demo` instead of files.
    #[arg(long, conflicts_with_all = ["config", "topology"])]
    pub demo: bool,
    /// Only this database.
    #[arg(long, value_name = "NAME")]
    pub db: Option<String>,
    /// Only this policy.
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
}

/// Text for people, JSON for programs, HTML for a picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

#[derive(Debug, Args)]
pub struct WhatifArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// What fails: server names and `tag:NAME` domains, comma-separated (`n1a,tag:north2`).
    #[arg(long, value_name = "SPEC", value_delimiter = ',', required = true)]
    pub down: Vec<String>,
    /// Seed for the catch-up choices, the same before and after (default: from the OS).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// `text` (a readable diff) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("domain_choice").args(["domains", "domains_from", "server_domains"])))]
pub struct ResilienceArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The failure domains: tags, comma-separated (default: the tags that partition the
    /// servers into data centers).
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// The failure domains: every tag whose name matches this glob (`*`, `?`).
    #[arg(long, value_name = "PATTERN")]
    pub domains_from: Option<String>,
    /// Every server is a failure domain of its own ("any K servers down").
    #[arg(long)]
    pub server_domains: bool,
    /// The most domains down at once.
    #[arg(long, value_name = "K", default_value_t = 2)]
    pub depth: usize,
    /// Report readers whose share of a policy's reads grows by at least this factor.
    #[arg(long, value_name = "X", default_value_t = 2.0)]
    pub load_alert: f64,
    /// `text`, `json` (JSON Lines) or `html` (a self-contained page).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[cfg(feature = "serve")]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The neo4j.conf with the policies and routing settings.
    #[arg(
        long,
        env = "TAGROUTE_CONFIG",
        value_name = "CONF",
        required_unless_present = "hash_password"
    )]
    pub config: Option<PathBuf>,
    /// The topology (JSON), read again when it changes.
    #[arg(
        long,
        env = "TAGROUTE_TOPOLOGY",
        value_name = "T",
        required_unless_present_any = ["hash_password", "follow"],
        conflicts_with = "follow"
    )]
    pub topology: Option<PathBuf>,
    /// Follow a live Neo4j 5 cluster instead of a topology file: poll it every
    /// --follow-interval and serve its servers and databases
    /// (`neo4j://HOST:PORT[,HOST:PORT...]`; `neo4j+s://` for TLS).
    #[arg(long, env = "TAGROUTE_FOLLOW", value_name = "URI")]
    pub follow: Option<String>,
    /// The user to read the cluster as (basic auth); without it, no authentication.
    #[arg(
        long,
        env = "TAGROUTE_FOLLOW_USER",
        value_name = "USER",
        requires = "follow",
        requires = "follow_password_file"
    )]
    pub follow_user: Option<String>,
    /// The file holding the password of --follow-user (one trailing line break is dropped).
    #[arg(
        long,
        env = "TAGROUTE_FOLLOW_PASSWORD_FILE",
        value_name = "FILE",
        requires = "follow_user"
    )]
    pub follow_password_file: Option<PathBuf>,
    /// How often the cluster is polled [default: 1s].
    #[arg(
        long,
        env = "TAGROUTE_FOLLOW_INTERVAL",
        value_name = "DURATION",
        requires = "follow"
    )]
    pub follow_interval: Option<String>,
    /// The CA certificate (PEM) to verify the cluster's TLS certificates with; TLS is used
    /// when it is given.
    #[arg(
        long,
        env = "TAGROUTE_FOLLOW_TLS_CA",
        value_name = "PEM",
        requires = "follow"
    )]
    pub follow_tls_ca: Option<PathBuf>,
    /// How often each server of the cluster gets a health probe (RESET on the connection kept
    /// to it, else a new connection's Bolt handshake); `0`: no health checks [default: 1s].
    #[arg(
        long,
        env = "TAGROUTE_HEALTH_INTERVAL",
        value_name = "DURATION",
        requires = "follow"
    )]
    pub health_interval: Option<String>,
    /// Failed probes in a row that make a server unavailable in the tables [default: 2].
    #[arg(long, env = "TAGROUTE_HEALTH_FAILS", value_name = "N", requires = "follow",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub health_fails: Option<u32>,
    /// Good probes in a row that make it available again [default: 2].
    #[arg(long, env = "TAGROUTE_HEALTH_PASSES", value_name = "N", requires = "follow",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub health_passes: Option<u32>,
    /// Where the operator's overrides (POST /topology/updates) are kept across restarts
    /// [default: tagroute-state.json beside --config].
    #[arg(long, env = "TAGROUTE_STATE_FILE", value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Where the Bolt listener binds (port 0: any free port, printed on stdout).
    #[arg(
        long,
        env = "TAGROUTE_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:7687"
    )]
    pub listen: std::net::SocketAddr,
    /// tagroute's own addresses as drivers reach them, listed as the ROUTE servers of every
    /// table (default: the database's routers).
    #[arg(
        long,
        env = "TAGROUTE_ADVERTISE",
        value_name = "HOST:PORT,...",
        value_delimiter = ','
    )]
    pub advertise: Vec<String>,
    /// Where the admin HTTP listener binds: /metrics, /healthz, /topology,
    /// /topology/updates, /topology/overrides, /reload.
    #[arg(
        long,
        env = "TAGROUTE_ADMIN",
        value_name = "ADDR",
        default_value = "127.0.0.1:7475"
    )]
    pub admin: std::net::SocketAddr,
    /// No admin listener, whatever --admin says (from the environment: `true`, `yes`, `1`,
    /// `on`, or `false`, `no`, `0`, `off`).
    // No `conflicts_with = "admin"`: clap counts TAGROUTE_NO_ADMIN=false as the flag given
    // (clap-rs/clap#5591), which would refuse `--admin` beside it.
    #[arg(
        long,
        env = "TAGROUTE_NO_ADMIN",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_admin: bool,
    /// TLS certificate chain (PEM) for `neo4j+s://` and `neo4j+ssc://`.
    #[arg(
        long,
        env = "TAGROUTE_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(
        long,
        env = "TAGROUTE_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Users and argon2 password hashes, `name:hash` a line (see --hash-password).
    #[arg(long, env = "TAGROUTE_AUTH_FILE", value_name = "F")]
    pub auth_file: Option<PathBuf>,
    /// The most Bolt connections open at once.
    #[arg(
        long,
        env = "TAGROUTE_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 20_000
    )]
    pub max_connections: u32,
    /// The most Bolt connections open at once from one peer (an IPv4 address, or an IPv6 /64)
    /// [default: half of --max-connections].
    #[arg(long, env = "TAGROUTE_MAX_CONNECTIONS_PER_PEER", value_name = "N")]
    pub max_connections_per_peer: Option<u32>,
    /// Close a connection that sends nothing, or reads none of its answers, for this long
    /// (`30m`, `90s`, `1500ms`).
    #[arg(
        long,
        env = "TAGROUTE_IDLE_TIMEOUT",
        value_name = "DURATION",
        default_value = "30m"
    )]
    pub idle_timeout: String,
    /// The TLS and Bolt handshakes and the login (HELLO, LOGON) must finish within this time.
    #[arg(
        long,
        env = "TAGROUTE_HANDSHAKE_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub handshake_timeout: String,
    /// A message must arrive whole within this time of its first byte, however its bytes
    /// trickle in.
    #[arg(
        long,
        env = "TAGROUTE_MESSAGE_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub message_timeout: String,
    /// The largest message a client may send, in bytes.
    #[arg(
        long,
        env = "TAGROUTE_MAX_MESSAGE_SIZE",
        value_name = "BYTES",
        default_value_t = 65_536
    )]
    pub max_message_size: usize,
    /// The highest Bolt version to negotiate: 4.4, 5.0, 5.1, 5.2, 5.3, 5.4, 5.6, 5.7 or 5.8.
    #[arg(long, env = "TAGROUTE_MAX_BOLT_VERSION", value_name = "X.Y", default_value = "5.8", value_parser = bolt_version)]
    pub max_bolt_version: tagroute::bolt::Version,
    /// How often to look at the files for changes; `0` only reloads on SIGHUP and POST /reload.
    #[arg(
        long,
        env = "TAGROUTE_WATCH_INTERVAL",
        value_name = "DURATION",
        default_value = "2s"
    )]
    pub watch_interval: String,
    /// The most admin connections open at once; more are closed on accept.
    #[arg(
        long,
        env = "TAGROUTE_ADMIN_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 64
    )]
    pub admin_max_connections: u32,
    /// An admin request's headers must arrive within this time; an admin connection idle this
    /// long is closed.
    #[arg(
        long,
        env = "TAGROUTE_ADMIN_HEADER_TIMEOUT",
        value_name = "DURATION",
        default_value = "5s"
    )]
    pub admin_header_timeout: String,
    /// An admin request's body must arrive within this time of its headers (else 408).
    #[arg(
        long,
        env = "TAGROUTE_ADMIN_BODY_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub admin_body_timeout: String,
    /// Log lines as `text` or `json`, on stderr.
    #[arg(
        long,
        env = "TAGROUTE_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text"
    )]
    pub log_format: String,
    /// The least severe level logged: error, warn, info, debug, trace.
    #[arg(
        long,
        env = "TAGROUTE_LOG_LEVEL",
        value_name = "LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
    /// Validate every file serve would load (configuration, topology, auth file, TLS
    /// certificate and key), print what would be served, and exit: 0 if it would start, 1 with
    /// the diagnostics serve would print if not.
    #[arg(long)]
    pub check: bool,
    /// Print `NAME:<argon2 hash>` of the password read from stdin, for --auth-file, and exit.
    #[arg(long, value_name = "NAME", exclusive = true)]
    pub hash_password: Option<String>,
}

/// A Bolt version `serve` speaks; any other is a usage error listing those it does.
#[cfg(feature = "serve")]
fn bolt_version(text: &str) -> Result<tagroute::bolt::Version, String> {
    let speaks = || tagroute::serve::supported_versions();
    match text.parse::<tagroute::bolt::Version>() {
        Ok(version) if version.is_supported() => Ok(version),
        Ok(version) => Err(format!(
            "Bolt {version} is not a version this server speaks; it speaks {}",
            speaks()
        )),
        Err(e) => Err(format!("{e}; this server speaks {}", speaks())),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn eval_takes_a_policy_or_batch_but_not_both() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|_| ())
                .map_err(|e| e.exit_code())
        };
        assert_eq!(
            parse(&[
                "tagroute",
                "eval",
                "--topology",
                "t.json",
                "--policy",
                "all()"
            ]),
            Ok(())
        );
        assert_eq!(
            parse(&["tagroute", "eval", "--topology", "t.json", "--batch"]),
            Ok(())
        );
        assert_eq!(parse(&["tagroute", "eval", "--topology", "t.json"]), Err(2));
        assert_eq!(
            parse(&[
                "tagroute",
                "eval",
                "--topology",
                "t.json",
                "--batch",
                "--policy",
                "x"
            ]),
            Err(2)
        );
    }

    #[cfg(feature = "serve")]
    #[test]
    fn a_bolt_version_the_server_cannot_speak_is_a_usage_error_listing_those_it_can() {
        let version = |v: &str| {
            Cli::try_parse_from(
                ["tagroute", "serve", "--config", "c", "--topology", "t"]
                    .into_iter()
                    .chain(["--max-bolt-version", v]),
            )
            .map(|_| ())
            .map_err(|e| (e.exit_code(), e.to_string()))
        };
        for good in ["4.4", "5.0", "5.4", "5.6", "5.8"] {
            assert_eq!(version(good), Ok(()), "{good}");
        }
        for bad in ["4.3", "4.2", "3.0", "5.5", "5.9", "6.0", "five"] {
            let (code, message) = version(bad).expect_err(bad);
            assert_eq!(code, 2, "{bad}");
            assert!(
                message.contains("4.4, 5.0, 5.1, 5.2, 5.3, 5.4, 5.6, 5.7, 5.8"),
                "{bad}: {message}"
            );
        }
    }

    /// Every `serve` flag that is a setting reads `TAGROUTE_<FLAG>` from the environment (the
    /// actions `--check` and `--hash-password` do not).
    #[cfg(feature = "serve")]
    #[test]
    fn every_serve_setting_has_its_environment_variable() {
        let command = Cli::command();
        let serve = command.find_subcommand("serve").expect("serve");
        let mut settings = 0;
        for arg in serve.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let env = arg.get_env().and_then(|e| e.to_str());
            if ["help", "check", "hash-password"].contains(&long) {
                assert_eq!(env, None, "--{long} is an action");
                continue;
            }
            let expected = format!("TAGROUTE_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(env, Some(expected.as_str()), "--{long}");
            settings += 1;
        }
        assert!(settings >= 22, "{settings}");
    }

    #[test]
    fn the_tag_matrix_limit_reads_sizes_with_units_anywhere_on_the_line() {
        let limit = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|cli| cli.max_tag_matrix)
                .map_err(|e| e.exit_code())
        };
        assert_eq!(limit(&["tagroute", "demo"]), Ok(None));
        for (text, bytes) in [
            ("4096", 4096),
            ("512MiB", 512 << 20),
            ("4G", 4 << 30),
            ("1gb", 1 << 30),
            ("2KiB", 2048),
        ] {
            assert_eq!(
                limit(&["tagroute", "--max-tag-matrix", text, "demo"]),
                Ok(Some(bytes))
            );
            assert_eq!(
                limit(&["tagroute", "demo", "--max-tag-matrix", text]),
                Ok(Some(bytes))
            );
        }
        for bad in ["", "MiB", "2 GiB", "1.5G", "3X", "99999999999T"] {
            assert_eq!(
                limit(&["tagroute", "--max-tag-matrix", bad, "demo"]),
                Err(2),
                "{bad}"
            );
        }
    }

    #[test]
    fn bench_threads_are_bounded_with_a_usage_error() {
        let threads = |n: &str| {
            Cli::try_parse_from(["tagroute", "bench", "--threads", n])
                .map(|_| ())
                .map_err(|e| (e.exit_code(), e.to_string()))
        };
        assert_eq!(threads("256"), Ok(()));
        for bad in ["0", "257", "1000000"] {
            let (code, message) = threads(bad).expect_err(bad);
            assert_eq!(code, 2, "{bad}");
            assert!(message.contains("1..=256"), "{message}");
        }
    }
}
