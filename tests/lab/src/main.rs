//! `lab`: bring a strongSwan lab up by hand, clean up leftovers, and the small servers
//! (HTTP, UDP relay) the lab runs inside its namespaces.

#[cfg(target_os = "linux")]
mod cli;

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    cli::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("lab: the lab is built from Linux network namespaces and runs only on Linux");
    std::process::ExitCode::from(2)
}
