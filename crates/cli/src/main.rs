//! `corridor`: the command-line face of Corridor.
//!
//! Today it manages the profile store (`corridor profile ...`). Every failure is printed
//! as one line starting with `corridor: error:` that names the file, field or profile at
//! fault, and the exit status says what kind of failure it was (see [`Failure`]).

mod args;
mod connect_cmd;
mod diagnose;
mod pidfile;
mod policy_cmd;
mod profile_cmd;
mod profile_files;
mod profile_service;
mod service_cmd;
mod summary;
mod up;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};

/// Why a command failed, and the exit status that tells scripts so.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A file given to the command is not a usable profile (exit status 65, `EX_DATAERR`).
    BadInput(anyhow::Error),
    /// The profile asked for, or one it would clash with, does not fit the store's content
    /// (not found, ambiguous, already stored): exit status 1.
    Conflict(anyhow::Error),
    /// The system did not let the command work: unreadable or unwritable directories,
    /// closed standard streams (exit status 74, `EX_IOERR`).
    System(anyhow::Error),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => 65,
            Failure::Conflict(_) => 1,
            Failure::System(_) => 74,
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            Failure::BadInput(e) | Failure::Conflict(e) | Failure::System(e) => e,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        // Without a store directory, the store is the service's; validating a file never
        // needs a store.
        Command::Profile(command)
            if cli.profiles_dir.is_none()
                && !matches!(
                    command,
                    args::ProfileCommand::Validate { .. }
                        | args::ProfileCommand::Sign { .. }
                        | args::ProfileCommand::PublicKey { .. }
                ) =>
        {
            profile_service::run(command, profile_cmd::import_options)
        }
        Command::Profile(command) => profile_cmd::run(cli.profiles_dir, command),
        Command::Diagnose(args) => diagnose::run(cli.profiles_dir, args),
        Command::Up(args) => up::run(cli.profiles_dir, args),
        Command::Connect(args) => connect_cmd::connect(&args),
        Command::Disconnect(args) => connect_cmd::disconnect(&args),
        Command::Status(args) => service_cmd::status(&args),
        Command::Logs(args) => service_cmd::logs(&args),
        Command::Policy(args) => policy_cmd::run(args),
        Command::Down(args) => pidfile::down(&args.state_dir, args.wait())
            .map(|pid| println!("corridor up (pid {pid}) disconnected and restored the network")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Write errors to stderr are ignored: there is nowhere left to report them.
            let _ = writeln!(std::io::stderr(), "corridor: error: {:#}", failure.error());
            ExitCode::from(failure.exit_code())
        }
    }
}
