//! `hotswap`: the reference server and its command line. `hotswap serve`
//! runs a whole platform on embedded defaults; `hotswap control-plane` and
//! `hotswap edge` run a real fleet on Postgres and S3; the other commands
//! are clients of a control plane. `hotswap --help` lists them all.

mod assemble;
mod cli;
mod commands;
mod desired;
mod node_metrics;
mod roles;
mod settings;
mod telemetry;

use clap::Parser;

use crate::cli::{Cli, Command};

/// The error type of the binary: printed, then exit code 1.
pub(crate) type AppResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    match settings::from_file(&argv) {
        Ok(assignments) => {
            for (key, value) in assignments {
                // SAFETY: no other thread exists yet (the async runtime is
                // built below), so nothing reads the environment meanwhile.
                #[allow(unsafe_code)]
                unsafe {
                    std::env::set_var(key, value)
                };
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
    let cli = Cli::parse_from(&argv);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli.command)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(command: Command) -> AppResult<()> {
    if matches!(
        command,
        Command::Serve(_) | Command::ControlPlane(_) | Command::Edge(_) | Command::Token(_)
    ) {
        return dispatch(command).await;
    }
    // A client command is one trace: its span is the root of the requests
    // it sends.
    let telemetry = telemetry::init("hotswap-cli", false, "warn")?;
    let span =
        tracing::info_span!("hotswap.cli", otel.name = %command.name(), otel.kind = "client");
    let result = tracing::Instrument::instrument(dispatch(command), span).await;
    telemetry.shutdown();
    result
}

async fn dispatch(command: Command) -> AppResult<()> {
    match command {
        Command::Serve(a) => roles::serve::run(a).await,
        Command::ControlPlane(a) => roles::control_plane::run(a).await,
        Command::Edge(a) => roles::edge::run(*a).await,
        Command::Module(c) => commands::module::run(c).await,
        Command::Interface(c) => commands::interface::run(c).await,
        Command::Deploy(a) => commands::deploy::run(a).await,
        Command::Rollout(a) => commands::rollout::run(a).await,
        Command::Call(a) => commands::call::run(a).await,
        Command::Nodes(a) => commands::nodes::run(a).await,
        Command::Route(c) => commands::route::run(c).await,
        Command::Config(c) => commands::config::run(c).await,
        Command::Apply(a) => commands::apply::apply(a).await,
        Command::Diff(a) => commands::apply::diff(a).await,
        Command::Token(a) => commands::token::run(a),
    }
}
