//! The command line. Every option can also come from a `HOTSWAP_*`
//! environment variable (named in `--help`) or from the configuration
//! file (`--config`, a TOML file with the same names); a flag beats the
//! environment, which beats the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run WebAssembly modules on an edge fleet and replace them with zero
/// downtime.
#[derive(Debug, Parser)]
#[command(name = "hotswap", version)]
pub(crate) struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "HOTSWAP_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Everything in one process: control plane and one local edge node,
    /// on SQLite and a local folder under the data directory.
    Serve(ServeArgs),
    /// A control plane: the API, deployments and node health, on Postgres
    /// (or SQLite) and S3 (or a folder).
    ControlPlane(ControlPlaneArgs),
    /// An edge node: runs modules and reports to a control plane.
    Edge(Box<EdgeArgs>),
    /// Module versions.
    #[command(subcommand)]
    Module(ModuleCommand),
    /// Roll a module version out.
    Deploy(DeployArgs),
    /// Look at or steer a rollout.
    Rollout(RolloutArgs),
    /// Call a function through the control plane.
    Call(CallArgs),
    /// List the edge nodes.
    Nodes(ClientArgs),
    /// HTTP routes of the edge ingress: a host and path prefix to a module.
    #[command(subcommand)]
    Route(RouteCommand),
    /// WIT interface packages: register with dependencies, check, approve,
    /// and each package's compatibility mode.
    #[command(subcommand)]
    Interface(InterfaceCommand),
    /// A module's configuration and secrets, kept as revisions that
    /// deployments roll out.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Make the fleet match desired-state files (TOML or YAML): modules,
    /// interfaces, routes and deployment policies; a module whose version
    /// changed rolls out under its policy.
    Apply(ApplyArgs),
    /// Show how the fleet differs from desired-state files; exits 1 when
    /// it does.
    Diff(DiffArgs),
    /// Mint a token with the configured HS256 secret or signing key.
    Token(TokenArgs),
}

impl Command {
    /// The command as typed, for span names.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Serve(_) => "hotswap serve",
            Command::ControlPlane(_) => "hotswap control-plane",
            Command::Edge(_) => "hotswap edge",
            Command::Module(ModuleCommand::Push(_)) => "hotswap module push",
            Command::Module(ModuleCommand::List(_)) => "hotswap module list",
            Command::Module(ModuleCommand::Show(_)) => "hotswap module show",
            Command::Module(ModuleCommand::Delete(_)) => "hotswap module delete",
            Command::Deploy(_) => "hotswap deploy",
            Command::Rollout(_) => "hotswap rollout",
            Command::Call(_) => "hotswap call",
            Command::Nodes(_) => "hotswap nodes",
            Command::Route(RouteCommand::Add(_)) => "hotswap route add",
            Command::Route(RouteCommand::List(_)) => "hotswap route list",
            Command::Route(RouteCommand::Delete(_)) => "hotswap route delete",
            Command::Interface(InterfaceCommand::Push(_)) => "hotswap interface push",
            Command::Interface(InterfaceCommand::Validate(_)) => "hotswap interface validate",
            Command::Interface(InterfaceCommand::List(_)) => "hotswap interface list",
            Command::Interface(InterfaceCommand::Show(_)) => "hotswap interface show",
            Command::Interface(InterfaceCommand::Approve(_)) => "hotswap interface approve",
            Command::Interface(InterfaceCommand::Mode(_)) => "hotswap interface mode",
            Command::Config(ConfigCommand::Set(_)) => "hotswap config set",
            Command::Config(ConfigCommand::Show(_)) => "hotswap config show",
            Command::Apply(_) => "hotswap apply",
            Command::Diff(_) => "hotswap diff",
            Command::Token(_) => "hotswap token",
        }
    }
}

/// How to verify and mint tokens.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AuthArgs {
    /// HS256 shared secret (at least 32 bytes).
    #[arg(long, env = "HOTSWAP_JWT_SECRET", hide_env_values = true)]
    pub(crate) jwt_secret: Option<String>,
    /// File holding the HS256 secret.
    #[arg(long, env = "HOTSWAP_JWT_SECRET_FILE")]
    pub(crate) jwt_secret_file: Option<PathBuf>,
    /// RS256 or Ed25519 public keys (PEM files) to accept tokens under;
    /// comma-separated in the environment.
    #[arg(long, env = "HOTSWAP_JWT_PUBLIC_KEYS", value_delimiter = ',')]
    pub(crate) jwt_public_key: Vec<PathBuf>,
    /// Private key (PEM, RSA or Ed25519) to mint the tokens this process
    /// sends, when not using the HS256 secret.
    #[arg(long, env = "HOTSWAP_JWT_SIGNING_KEY")]
    pub(crate) jwt_signing_key: Option<PathBuf>,
    /// Required token issuer.
    #[arg(long, env = "HOTSWAP_JWT_ISSUER")]
    pub(crate) jwt_issuer: Option<String>,
    /// Required token audience.
    #[arg(long, env = "HOTSWAP_JWT_AUDIENCE")]
    pub(crate) jwt_audience: Option<String>,
    /// File holding the secret (32 bytes at least) that signs the web
    /// console's session cookies; give replicas the same one. Default:
    /// derived from the HS256 secret, else a new one per process.
    #[arg(long, env = "HOTSWAP_SESSION_SECRET_FILE")]
    pub(crate) session_secret_file: Option<PathBuf>,
}

/// Storage of module binaries.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct StorageArgs {
    /// S3 bucket (S3 storage when set).
    #[arg(long, env = "HOTSWAP_S3_BUCKET")]
    pub(crate) s3_bucket: Option<String>,
    /// S3-compatible endpoint (path-style requests).
    #[arg(long, env = "HOTSWAP_S3_ENDPOINT")]
    pub(crate) s3_endpoint: Option<String>,
    /// S3 region.
    #[arg(long, env = "HOTSWAP_S3_REGION")]
    pub(crate) s3_region: Option<String>,
    /// S3 access key id.
    #[arg(long, env = "HOTSWAP_S3_ACCESS_KEY_ID")]
    pub(crate) s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[arg(long, env = "HOTSWAP_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub(crate) s3_secret_access_key: Option<String>,
    /// Key prefix inside the bucket.
    #[arg(long, env = "HOTSWAP_S3_PREFIX")]
    pub(crate) s3_prefix: Option<String>,
    /// A local folder for binaries (when no bucket is set).
    #[arg(long, env = "HOTSWAP_STORAGE_DIR")]
    pub(crate) storage_dir: Option<PathBuf>,
}

/// The HTTP ingress of an edge node: where it listens and how requests
/// choose their version.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct IngressArgs {
    /// Address of the HTTP ingress, which serves wasi:http components by
    /// their routes; `off` for none.
    #[arg(long, env = "HOTSWAP_INGRESS")]
    pub(crate) ingress: Option<String>,
    /// URL the ingress is reached at (`http://<ingress>` by default); the
    /// control plane forwards requests there.
    #[arg(long, env = "HOTSWAP_ADVERTISE_INGRESS")]
    pub(crate) advertise_ingress: Option<String>,
    /// Largest request body, bytes (16 MiB by default).
    #[arg(long, env = "HOTSWAP_INGRESS_MAX_BODY_BYTES")]
    pub(crate) ingress_max_body_bytes: Option<u64>,
    /// Keep each user on their version by this cookie (set when missing).
    #[arg(long, env = "HOTSWAP_STICKY_COOKIE", conflicts_with = "sticky_header")]
    pub(crate) sticky_cookie: Option<String>,
    /// Keep each user on their version by this request header.
    #[arg(long, env = "HOTSWAP_STICKY_HEADER")]
    pub(crate) sticky_header: Option<String>,
    /// Let requests pin a version with this header (for testers).
    #[arg(long, env = "HOTSWAP_PIN_HEADER")]
    pub(crate) pin_header: Option<String>,
    /// Name the serving version in this response header.
    #[arg(long, env = "HOTSWAP_VERSION_HEADER")]
    pub(crate) version_header: Option<String>,
    /// Take the client's scheme from this header (`x-forwarded-proto`
    /// behind a TLS terminator).
    #[arg(long, env = "HOTSWAP_SCHEME_HEADER")]
    pub(crate) scheme_header: Option<String>,
}

/// Node health and control-loop timing.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct TimingArgs {
    /// Seconds between a node's heartbeats.
    #[arg(long, env = "HOTSWAP_HEARTBEAT_SECS")]
    pub(crate) heartbeat_secs: Option<u64>,
    /// Seconds of silence after which a node is unhealthy.
    #[arg(long, env = "HOTSWAP_UNHEALTHY_AFTER_SECS")]
    pub(crate) unhealthy_after_secs: Option<u64>,
    /// Seconds of silence after which a node is offline.
    #[arg(long, env = "HOTSWAP_OFFLINE_AFTER_SECS")]
    pub(crate) offline_after_secs: Option<u64>,
    /// Milliseconds between control-loop ticks.
    #[arg(long, env = "HOTSWAP_TICK_MS")]
    pub(crate) tick_ms: Option<u64>,
    /// Requests to nodes a rollout keeps in flight at once per action
    /// (loads, routing tables; default 64).
    #[arg(long, env = "HOTSWAP_FANOUT")]
    pub(crate) fanout: Option<usize>,
    /// Seconds a replica keeps a deployment's lease without renewing it:
    /// when a replica stops, another takes its deployments over after at
    /// most this plus one tick (default 30).
    #[arg(long, env = "HOTSWAP_LEASE_TTL_SECS")]
    pub(crate) lease_ttl_secs: Option<u64>,
    /// Nodes reporting this many calls in flight or more are left out of
    /// rollouts (no cap when unset).
    #[arg(long, env = "HOTSWAP_MAX_IN_FLIGHT")]
    pub(crate) max_in_flight: Option<u64>,
}

/// What rollouts reach outside the fleet: metric analysis, webhooks,
/// notifications.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct DeliveryArgs {
    /// The Prometheus server analysis checks query when they name none
    /// (`http://prometheus:9090`).
    #[arg(long, env = "HOTSWAP_PROMETHEUS_URL")]
    pub(crate) prometheus_url: Option<String>,
    /// File holding the secret (16 bytes or more) webhook payloads and
    /// generic notifications are signed with (HMAC-SHA256); without one,
    /// deployments with hooks are refused.
    #[arg(long, env = "HOTSWAP_WEBHOOK_SECRET_FILE")]
    pub(crate) webhook_secret_file: Option<PathBuf>,
    /// TOML file of notification sinks (`[[sink]]` with name, kind
    /// `webhook` or `slack`, url, events).
    #[arg(long, env = "HOTSWAP_NOTIFICATIONS_FILE")]
    pub(crate) notifications_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOTSWAP_LISTEN")]
    pub(crate) listen: Option<String>,
    /// Folder for the database, binaries, artifacts and the dev secret.
    #[arg(long, env = "HOTSWAP_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Runtime of the local edge node.
    #[arg(long, env = "HOTSWAP_RUNTIME")]
    pub(crate) runtime: Option<RuntimeChoice>,
    /// The node's key-value store for `wasi:keyvalue`: `file:PATH` (one
    /// embedded file), `redis://HOST:PORT[/DB]`, or `none`; `file:DATA_DIR/keyvalue.redb` by default.
    #[arg(long, env = "HOTSWAP_KEYVALUE", hide_env_values = true)]
    pub(crate) keyvalue: Option<String>,
    /// File holding the key (64 hex digits) that seals configuration
    /// secrets at rest and opens them on nodes; `DATA_DIR/secrets.key`
    /// (created when missing) by default.
    #[arg(long, env = "HOTSWAP_SECRETS_KEY_FILE")]
    pub(crate) secrets_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) ingress: IngressArgs,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    pub(crate) timing: TimingArgs,
    #[command(flatten)]
    pub(crate) delivery: DeliveryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ControlPlaneArgs {
    /// Address to listen on.
    #[arg(long, env = "HOTSWAP_LISTEN")]
    pub(crate) listen: Option<String>,
    /// `postgres://...`, or `sqlite://PATH` for a single replica.
    #[arg(long, env = "HOTSWAP_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// Postgres schema of this installation.
    #[arg(long, env = "HOTSWAP_DATABASE_SCHEMA")]
    pub(crate) database_schema: Option<String>,
    /// Connections in the database pool (default 10).
    #[arg(long, env = "HOTSWAP_DATABASE_MAX_CONNECTIONS")]
    pub(crate) database_max_connections: Option<u32>,
    /// This replica's name (owner of deployment leases); the host name
    /// and process id by default.
    #[arg(long, env = "HOTSWAP_REPLICA")]
    pub(crate) replica: Option<String>,
    /// Address of an HTTP listener that forwards requests, by their host
    /// and path routes, to a node's ingress (for clients that cannot reach
    /// the nodes); none unless set.
    #[arg(long, env = "HOTSWAP_FORWARD")]
    pub(crate) forward: Option<String>,
    /// File holding the key (64 hex digits) that seals configuration
    /// secrets at rest and opens them on nodes; without one, secrets
    /// are refused.
    #[arg(long, env = "HOTSWAP_SECRETS_KEY_FILE")]
    pub(crate) secrets_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) storage: StorageArgs,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    pub(crate) timing: TimingArgs,
    #[command(flatten)]
    pub(crate) delivery: DeliveryArgs,
}

/// Which wasm runtime an edge node uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RuntimeChoice {
    /// Wasmtime (core modules, components, WASI 1 and 0.2).
    Wasmtime,
    /// Wasmer with Cranelift (core modules, WASI 1); needs the `wasmer`
    /// build feature.
    Wasmer,
}

#[derive(Debug, Args)]
pub(crate) struct EdgeArgs {
    /// The control plane's URL, or its replicas' URLs separated by
    /// commas (the next is tried when one cannot be reached).
    #[arg(long, env = "HOTSWAP_CONTROL_PLANE")]
    pub(crate) control_plane: Option<String>,
    /// This node's name (DNS-label style); the host name by default.
    #[arg(long, env = "HOTSWAP_NODE_NAME")]
    pub(crate) name: Option<String>,
    /// Region.
    #[arg(long, env = "HOTSWAP_REGION")]
    pub(crate) region: Option<String>,
    /// Zone within the region.
    #[arg(long, env = "HOTSWAP_ZONE")]
    pub(crate) zone: Option<String>,
    /// Labels, `key=value,key=value`.
    #[arg(long, env = "HOTSWAP_LABELS")]
    pub(crate) labels: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "HOTSWAP_LISTEN")]
    pub(crate) listen: Option<String>,
    /// URL the control plane reaches this node at (`http://<listen>` by
    /// default).
    #[arg(long, env = "HOTSWAP_ADVERTISE")]
    pub(crate) advertise: Option<String>,
    /// Runtime.
    #[arg(long, env = "HOTSWAP_RUNTIME")]
    pub(crate) runtime: Option<RuntimeChoice>,
    /// Memory offered to wasm instances, bytes.
    #[arg(long, env = "HOTSWAP_NODE_MEMORY_BYTES")]
    pub(crate) memory_bytes: Option<u64>,
    /// Token this node sends to the control plane (role `node`); minted
    /// from the secret or signing key when absent.
    #[arg(long, env = "HOTSWAP_NODE_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Folder for compiled artifacts.
    #[arg(long, env = "HOTSWAP_ARTIFACT_DIR")]
    pub(crate) artifact_dir: Option<PathBuf>,
    /// The node's key-value store for `wasi:keyvalue`: `file:PATH` (one
    /// embedded file), `redis://HOST:PORT[/DB]`, or `none` (the default).
    #[arg(long, env = "HOTSWAP_KEYVALUE", hide_env_values = true)]
    pub(crate) keyvalue: Option<String>,
    /// File holding the key (64 hex digits) that seals configuration
    /// secrets at rest and opens them on nodes; the control plane's.
    /// Without one, versions whose configuration holds secrets are refused.
    #[arg(long, env = "HOTSWAP_SECRETS_KEY_FILE")]
    pub(crate) secrets_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) ingress: IngressArgs,
    #[command(flatten)]
    pub(crate) storage: StorageArgs,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    /// Seconds between heartbeats (the control plane's interval when
    /// absent).
    #[arg(long, env = "HOTSWAP_HEARTBEAT_SECS")]
    pub(crate) heartbeat_secs: Option<u64>,
}

/// How a client command reaches the control plane.
#[derive(Debug, Args, Clone)]
pub(crate) struct ClientArgs {
    /// The control plane's URL.
    #[arg(long, env = "HOTSWAP_URL", default_value = "http://127.0.0.1:7070")]
    pub(crate) url: String,
    /// Bearer token; `hotswap serve` writes a development admin token to
    /// `./hotswap-data/admin-token`, used when this is absent.
    #[arg(long, env = "HOTSWAP_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModuleCommand {
    /// Register a module version from a .wasm (or .wat) file.
    Push(Box<PushArgs>),
    /// List module versions.
    List(ListModulesArgs),
    /// Show one version: its kind, exports, limits and outbound grants.
    Show(ModuleRefArgs),
    /// Delete a module version (admins).
    Delete(IdArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The binary (`.wasm`) or WebAssembly text (`.wat`).
    pub(crate) file: PathBuf,
    /// Module name.
    #[arg(long)]
    pub(crate) name: String,
    /// Semver version.
    #[arg(long)]
    pub(crate) version: String,
    /// Labels, `key=value,key=value`.
    #[arg(long)]
    pub(crate) labels: Option<String>,
    /// Wall-clock timeout per call, milliseconds.
    #[arg(long)]
    pub(crate) timeout_ms: Option<u64>,
    /// Largest memory per instance, bytes.
    #[arg(long)]
    pub(crate) max_memory_bytes: Option<u64>,
    /// Fuel budget per call.
    #[arg(long)]
    pub(crate) fuel: Option<u64>,
    /// Let the version call this destination over HTTP, `scheme://host[:port]`
    /// (`*.example.com` for its subdomains); repeat for more. Nothing is
    /// reachable without one.
    #[arg(long, value_name = "RULE")]
    pub(crate) allow_outbound: Vec<String>,
    /// Outbound requests one call may send (16 by default).
    #[arg(long)]
    pub(crate) max_outbound_requests: Option<u32>,
    /// Let the version open this key-value bucket; repeat for more. No
    /// bucket opens without one.
    #[arg(long, value_name = "BUCKET")]
    pub(crate) keyvalue_bucket: Vec<String>,
    /// The largest value the version may write to a bucket, bytes (1 MiB
    /// by default).
    #[arg(long)]
    pub(crate) max_value_bytes: Option<u32>,
    /// A configuration key the version reads (through `wasi:config/store`
    /// or, for a command, its environment); repeat for more. A deployment
    /// of the version needs a configuration revision that sets each one.
    #[arg(long, value_name = "KEY")]
    pub(crate) config_key: Vec<String>,
    /// Register an incompatible interface anyway (admins), with this reason.
    #[arg(long)]
    pub(crate) override_reason: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ModuleRefArgs {
    /// `name@version`, or a module version id.
    pub(crate) module: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ListModulesArgs {
    /// Only this module.
    #[arg(long)]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Set values and secrets, or remove keys, making the next revision.
    Set(ConfigSetArgs),
    /// Show a revision: values, and secrets by name only.
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConfigSetArgs {
    /// Module name.
    pub(crate) module: String,
    /// Plain values, `KEY=VALUE`.
    pub(crate) values: Vec<String>,
    /// A secret read from an environment variable, `KEY=VAR` (secrets are
    /// never taken on the command line, where `ps` and shell history
    /// would keep them).
    #[arg(long = "secret-env")]
    pub(crate) secret_env: Vec<String>,
    /// A secret read from a file, `KEY=PATH` (one trailing newline is
    /// dropped).
    #[arg(long = "secret-file")]
    pub(crate) secret_file: Vec<String>,
    /// Keys to remove.
    #[arg(long)]
    pub(crate) unset: Vec<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigShowArgs {
    /// Module name.
    pub(crate) module: String,
    /// The revision (the latest by default).
    #[arg(long)]
    pub(crate) revision: Option<u64>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RouteCommand {
    /// Route requests for a host (and path prefix) to a module.
    Add(RouteAddArgs),
    /// List the routes.
    List(RouteListArgs),
    /// Delete a route by id.
    Delete(IdArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RouteAddArgs {
    /// The host, e.g. `api.example.com`; `*` for any host.
    #[arg(long)]
    pub(crate) host: String,
    /// The path prefix, e.g. `/v1`; every path when absent.
    #[arg(long)]
    pub(crate) path: Option<String>,
    /// The module that answers.
    #[arg(long)]
    pub(crate) module: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RouteListArgs {
    /// Only the routes of this module.
    #[arg(long)]
    pub(crate) module: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InterfaceCommand {
    /// Register a WIT package: a `.wit` file, a directory (its `*.wit`
    /// files and `deps/`), or a package encoded as `.wasm`. Dependencies
    /// not given come from registered versions. Exits 1 with a table of
    /// findings when the package's mode refuses it.
    Push(InterfacePushArgs),
    /// What registering a package would find; stores nothing. Exits 1 with
    /// a table of findings when incompatible.
    Validate(InterfacePathArgs),
    /// List registered versions.
    List(InterfaceListArgs),
    /// Print one version's WIT text.
    Show(InterfaceRefArgs),
    /// Approve a version (admins).
    Approve(InterfaceRefArgs),
    /// Print a package's compatibility mode and who it protects, or set it
    /// (admins).
    Mode(InterfaceModeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InterfacePushArgs {
    /// A `.wit` file, a WIT directory, or a `.wasm`-encoded package.
    pub(crate) path: PathBuf,
    /// Register an incompatible version anyway (admins), with this reason.
    #[arg(long)]
    pub(crate) override_reason: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InterfacePathArgs {
    /// A `.wit` file, a WIT directory, or a `.wasm`-encoded package.
    pub(crate) path: PathBuf,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InterfaceListArgs {
    /// Only this package (`namespace:name`).
    #[arg(long)]
    pub(crate) package: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InterfaceRefArgs {
    /// An interface id, `package@version`, or `package` for its latest
    /// version.
    pub(crate) interface: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InterfaceModeArgs {
    /// The package (`namespace:name`).
    pub(crate) package: String,
    /// The mode to set: none, backward, backward_transitive, forward,
    /// forward_transitive, full, full_transitive.
    pub(crate) mode: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The id.
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// Rollout strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StrategyChoice {
    /// Shift traffic in weighted steps.
    Canary,
    /// Load beside the old version, then switch all at once.
    BlueGreen,
    /// Replace node by node in batches.
    Rolling,
    /// Region by region.
    Regional,
    /// Split traffic between variants.
    Ab,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// Module name.
    pub(crate) module: String,
    /// The version to roll out.
    pub(crate) version: String,
    /// Strategy (the module's policy for the environment, else a
    /// canary, when no strategy option is given).
    #[arg(long, value_enum)]
    pub(crate) strategy: Option<StrategyChoice>,
    /// The version to replace (the one serving now by default).
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Canary traffic steps, percent: `10,25,50,100`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) steps: Vec<u8>,
    /// Seconds each step (batch, region) is evaluated.
    #[arg(long)]
    pub(crate) period_secs: Option<u64>,
    /// Rolling: nodes per batch.
    #[arg(long)]
    pub(crate) batch: Option<usize>,
    /// Regional: regions in order, `eu,us`; also limits the targets of
    /// other strategies.
    #[arg(long, value_delimiter = ',')]
    pub(crate) regions: Vec<String>,
    /// A/B: percent of traffic for the new version.
    #[arg(long)]
    pub(crate) split: Option<u8>,
    /// Highest acceptable error rate, 0..1.
    #[arg(long)]
    pub(crate) max_error_rate: Option<f64>,
    /// Calls needed before health counts.
    #[arg(long)]
    pub(crate) min_samples: Option<u64>,
    /// How many times the stable version's p99 the new version's may be.
    #[arg(long)]
    pub(crate) max_p99_ratio: Option<f64>,
    /// Roll back (instead of pausing) when too few calls were seen.
    #[arg(long)]
    pub(crate) rollback_when_inconclusive: bool,
    /// `development`, `staging` or `production`.
    #[arg(long, default_value = "development")]
    pub(crate) environment: String,
    /// The configuration revision the new version runs with (the
    /// module's latest by default).
    #[arg(long)]
    pub(crate) config_revision: Option<u64>,
    /// Create without starting.
    #[arg(long)]
    pub(crate) no_start: bool,
    /// Follow the rollout with progress bars until it ends.
    #[arg(long)]
    pub(crate) watch: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// A desired-state file, or a directory of them (`.toml`, `.yaml`,
    /// `.yml`, searched below); repeat for more.
    #[arg(short = 'f', long = "file", required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Print the changes without making them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// A desired-state file, or a directory of them; repeat for more.
    #[arg(short = 'f', long = "file", required = true)]
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    /// What to do.
    #[arg(value_enum)]
    pub(crate) action: RolloutAction,
    /// The deployment id.
    pub(crate) id: String,
    /// With `promote`: finish now instead of one step.
    #[arg(long)]
    pub(crate) full: bool,
    /// With `promote`: end an A/B test with this variant.
    #[arg(long)]
    pub(crate) variant: Option<String>,
    /// With `status`: follow until the rollout ends.
    #[arg(long)]
    pub(crate) watch: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// Rollout actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RolloutAction {
    /// Phase, progress, nodes and events.
    Status,
    /// Stop at the current step.
    Pause,
    /// Go on from a pause.
    Resume,
    /// Take the next step now (`--full`: finish).
    Promote,
    /// Stop; traffic returns to the old version.
    Abort,
    /// Return to the old version.
    Rollback,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// Module name.
    pub(crate) module: String,
    /// Function.
    pub(crate) function: String,
    /// Arguments, each JSON (`2`, `"text"`, `{"a":1}`), or one JSON array.
    pub(crate) args: Vec<String>,
    /// Pin this version.
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// Routing key for sticky splits.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Preferred region.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Standard input for a WASI command (`_start`).
    #[arg(long)]
    pub(crate) stdin: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// Who the token is for.
    #[arg(long)]
    pub(crate) subject: String,
    /// Roles: viewer, developer, admin, node, control_plane.
    #[arg(long, value_delimiter = ',', required = true)]
    pub(crate) role: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub(crate) ttl_secs: u64,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
}
