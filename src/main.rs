//! Thin entry point: parse arguments, choose a face, exit with its code.

use clap::Parser;
use roomwarden::cli::{self, Cli, Failure};

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(f) => {
            // Messages quote untrusted text (ids, paths, provider errors).
            eprintln!("roomwarden: {}", roomwarden::text::escape(&f.message));
            f.code
        }
    };
    std::process::exit(i32::from(code));
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: 1,
            message: format!("cannot start the async runtime: {e}"),
        })?;
    runtime.block_on(async {
        if cli.command.is_none() {
            return console(cli).await;
        }
        init_cli_logging(cli.global.verbose);
        cli::run(cli).await
    })
}

/// No command: the console (on the built-in sandbox when there is no
/// config). It logs to a file, never over the screen.
async fn console(cli: Cli) -> Result<u8, Failure> {
    roomwarden::tui::console(cli.global).await
}

fn init_cli_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "roomwarden=info,warn",
        _ => "roomwarden=debug,info",
    };
    let filter = roomwarden::logging::filter(level);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
