//! The Corridor strongSwan lab: a real IKEv2 gateway and a small network around it, built
//! from Linux network namespaces, for integration tests and manual experiments.
//!
//! A lab is a client namespace (where Corridor or the strongSwan client runs), an optional
//! NAT router, a wan bridge, a strongSwan gateway with a virtual IP pool, a corporate LAN
//! host (DNS, HTTP, iperf3) and an outside internet host. See [`plan`] for addresses.
//!
//! ```no_run
//! use lab::{Host, Lab, LabConfig, Scenario};
//!
//! # fn main() -> anyhow::Result<()> {
//! let lab = Lab::start(LabConfig::new(Scenario::EapMschapv2).nat(true))?;
//! let client = lab.start_strongswan_client()?;
//! lab.ping(Host::Client, lab.lan_host_addr())?;
//! let page = lab.http_get(Host::Client, lab.lan_host_addr(), "/")?;
//! assert_eq!(page.status, 200);
//! drop(client);
//! # Ok(())
//! # }
//! ```
//!
//! Everything needs root, strongSwan and a few tools; [`preflight::check`] lists what is
//! missing. Labs are independent: tests can start several at once in parallel threads.
#![cfg(target_os = "linux")]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cleanup;
mod cmd;
mod config;
mod credentials;
pub mod dns;
pub mod http;
pub mod impair;
mod lab;
mod logs;
mod naming;
mod netns;
mod network_state;
pub mod paths;
pub mod pki;
pub mod plan;
pub mod preflight;
pub mod process;
mod profile;
pub mod profile_apple;
pub mod profile_windows;
pub mod relay;
pub mod resolved;
pub mod secret_service;
mod services;
pub mod strongswan;
pub mod testpeer;
pub mod topology;

pub use cleanup::{DownReport, LabListing, LabState, down, list};
pub use cmd::ExecOutput;
pub use config::{ClientCert, DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS, LabConfig, Scenario};
pub use credentials::{
    CLIENT_IKE_IDENTITY, Credentials, EAP_IDENTITY, EAP_PASSWORD, EAP_TLS_IDENTITY,
    ECDSA_CLIENT_IDENTITY, P12_PASSWORD, PSK, RSA_CLIENT_DNS, RSA_CLIENT_IDENTITY, credentials,
};
pub use dns::RecordType;
pub use http::HttpResponse;
pub use impair::Impairment;
pub use lab::Lab;
pub use naming::Host;
pub use pki::Pki;
pub use profile::ProfileOptions;
pub use relay::RelaySettings;
pub use services::Proto;
pub use strongswan::Charon;
pub use strongswan::client::{ClientOptions, StrongswanClient};
pub use strongswan::gateway::CONNECTION as GATEWAY_CONNECTION;
pub use testpeer::{TESTPEER_TUN, TestPeer, testpeer_args};
