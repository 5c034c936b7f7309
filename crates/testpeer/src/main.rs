//! `corridor-testpeer`: an IKEv2/ESP gateway for Corridor's lab tests and throughput
//! benchmarks, built from corridor-ike's test responder and corridor-esp's responder
//! side of a Child SA, with ESP in UDP on port 4500 and a TUN device.
//!
//! Not a VPN server: it has no rekeying, no certificates and no policy beyond one PSK,
//! one pool and one traffic selector. Run it as root inside a network namespace:
//!
//! ```text
//! corridor-testpeer --listen 198.18.0.1 --psk secret --identity vpn.corp.example \
//!     --pool 198.19.100.0/24 --lan 198.19.0.0/24 --tun-name testpeer0
//! ```
//!
//! It prints `ready ...` once it listens, and `connected <addr> assigned <ip>` /
//! `deleted <ip>` as clients come and go; logs go to standard error (`RUST_LOG`).

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod args;
mod dataplane;
mod device;
mod gateway;
mod net;
mod udp;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, Result, bail};
use clap::Parser as _;
use corridor_ike::Identity;
use tokio::net::UdpSocket;

use crate::args::Args;
use crate::device::Device;
use crate::gateway::{Gateway, GatewayConfig, Psk, Tables};

/// The gateway identity from its command-line form.
fn identity(text: &str) -> Identity {
    if let Ok(ip) = text.parse::<IpAddr>() {
        Identity::Ip(ip)
    } else if text.contains('@') {
        Identity::Email(text.to_string())
    } else {
        Identity::Fqdn(text.to_string())
    }
}

fn config(args: &Args) -> Result<GatewayConfig> {
    if args.psk.is_empty() {
        bail!("--psk must not be empty");
    }
    if args.pool.len < 8 || args.pool.len > 30 {
        bail!(
            "--pool {} must be between /8 and /30 (it is routed into the TUN device)",
            args.pool
        );
    }
    let dns = args
        .dns
        .unwrap_or_else(|| Ipv4Addr::from(u32::from(args.lan.first()).wrapping_add(1)));
    Ok(GatewayConfig {
        psk: Psk(args.psk.as_bytes().to_vec()),
        identity: identity(&args.identity),
        pool: args.pool,
        lan: args.lan,
        dns,
        esp: args.esp.algorithm(),
        address: SocketAddr::new(args.listen, args.ike_port),
        nat_t_port: args.nat_t_port,
    })
}

async fn run(args: Args) -> Result<()> {
    let cfg = config(&args)?;
    let device = Device::open(&args.tun_name, args.mtu, args.pool).await?;
    let ike = UdpSocket::bind(SocketAddr::new(args.listen, args.ike_port))
        .await
        .with_context(|| format!("binding UDP {}:{}", args.listen, args.ike_port))?;
    let nat_t = UdpSocket::bind(SocketAddr::new(args.listen, args.nat_t_port))
        .await
        .with_context(|| format!("binding UDP {}:{}", args.listen, args.nat_t_port))?;
    // As big as the client's, so that neither end drops a burst (see the function).
    corridor_platform::enlarge_socket_buffers(&nat_t, corridor_platform::TUNNEL_SOCKET_BUFFER)
        .context("sizing the NAT-T socket's buffers")?;
    let tables = Arc::new(RwLock::new(Tables::default()));
    let shared = net::Shared {
        gateway: Arc::new(Mutex::new(Gateway::new(cfg.clone(), tables.clone()))),
        tables,
        device: Arc::new(device),
        ike: Arc::new(ike),
        nat_t: Arc::new(
            udp::NatT::new(nat_t).context("switching the NAT-T socket to batched I/O")?,
        ),
    };
    println!(
        "ready: IKE on {}:{} and {}:{}, pool {} via {}, TSr {}",
        args.listen, args.ike_port, args.listen, args.nat_t_port, cfg.pool, args.tun_name, cfg.lan
    );
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(shared.clone().ike_loop());
    tasks.spawn(shared.clone().uplink());
    tasks.spawn(shared.clone().downlink());
    tasks.spawn(shared.reaper());
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    #[cfg(unix)]
    let terminated = term.recv();
    #[cfg(not(unix))]
    let terminated = std::future::pending::<Option<()>>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = terminated => Ok(()),
        done = tasks.join_next() => match done {
            Some(Ok(Err(e))) => Err(e),
            Some(Err(e)) => Err(anyhow::Error::new(e).context("a gateway task failed")),
            _ => Ok(()),
        },
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corridor-testpeer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corridor-testpeer: {e:#}");
            ExitCode::FAILURE
        }
    }
}
