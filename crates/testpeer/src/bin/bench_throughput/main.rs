//! `bench-throughput`: iperf3 TCP through four paths of the lab, each direction, at full
//! speed (Mbit/s) and at a fixed 200 Mbit/s (client CPU seconds per GB):
//!
//! - (a) Corridor (`corridor up`) against the strongSwan libipsec gateway,
//! - (b) the strongSwan libipsec client against the same gateway,
//! - (c) Corridor against `corridor-testpeer`,
//! - (d) bare veth: the client routed to the LAN without any tunnel.
//!
//! Run it through `bench/throughput` (which builds everything with `--release`). Needs
//! root and the lab's packages. A benchmark, not a test: it asserts nothing and only
//! prints the numbers, the ratios and how they compare with the targets.

#[cfg(target_os = "linux")]
mod bench;
#[cfg(target_os = "linux")]
mod cpu;
#[cfg(target_os = "linux")]
mod iperf;
#[cfg(target_os = "linux")]
mod losses;
#[cfg(target_os = "linux")]
mod report;

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    bench::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("bench-throughput: the lab it measures in runs only on Linux");
    std::process::ExitCode::from(2)
}
