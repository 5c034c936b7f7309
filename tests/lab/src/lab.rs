//! [`Lab`]: one running lab instance, from start to teardown.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

use crate::cleanup::{self, LabState};
use crate::cmd::{self, ExecOutput};
use crate::config::{ClientCert, LabConfig};
use crate::credentials::{self, Credentials};
use crate::dns::{self, RecordType};
use crate::http::{self, HttpResponse};
use crate::impair::{self, Impairment};
use crate::naming::{self, Host};
use crate::netns;
use crate::paths;
use crate::pki::{self, Pki};
use crate::plan::{
    GATEWAY_FQDN, GATEWAY_WAN_V4, GATEWAY_WAN_V6, HTTP_PORT, LAN_HOST_V4, LAN_HOST_V6, LAN_PAGE,
    OUTSIDE_PAGE, OUTSIDE_V4, OUTSIDE_V6, RELAY_V4, RELAY_V6,
};
use crate::process::Proc;
use crate::profile::{self, ProfileOptions};
use crate::relay::RelaySettings;
use crate::services::{self, Proto};
use crate::strongswan::client::{ClientOptions, StrongswanClient};
use crate::strongswan::{Charon, gateway};
use crate::topology;

/// A running lab: namespaces, a strongSwan gateway, LAN and outside services.
///
/// Dropping it stops every process it started, deletes its namespaces and its directory.
/// When it is dropped while the thread panics (a failing test), the logs and generated
/// configuration are first copied to `<target>/lab-logs/<name>/`.
#[derive(Debug)]
pub struct Lab {
    name: String,
    config: LabConfig,
    dir: PathBuf,
    pki: Pki,
    namespaces: Vec<String>,
    gateway: Option<Charon>,
    services: Vec<Proc>,
    relay: Option<Proc>,
    keep_logs: bool,
    torn_down: bool,
}

impl Lab {
    /// Builds and starts a lab. Fails (never skips) when the machine cannot run one,
    /// saying what is missing.
    pub fn start(config: LabConfig) -> Result<Lab> {
        config.validate()?;
        crate::preflight::check()?;
        let generated = config.name.is_none();
        let name = config.name.clone().unwrap_or_else(naming::generate);
        let dir = paths::lab_dir(&name);
        if dir.exists() || Host::ALL.iter().any(|h| netns::exists(&h.netns(&name))) {
            remove_leftovers(&name, generated)?;
        }
        paths::create_private_dir(&dir)?;
        let pki = match pki::shared().and_then(|shared| shared.copy_to(&dir.join("pki"))) {
            Ok(pki) => pki,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let mut lab = Lab {
            name,
            config,
            dir,
            pki,
            namespaces: Vec::new(),
            gateway: None,
            services: Vec::new(),
            relay: None,
            keep_logs: false,
            torn_down: false,
        };
        if let Err(e) = lab.bring_up() {
            // Keep what the failed start logged; Drop tears the rest down.
            lab.keep_logs = true;
            return Err(e.context(format!("starting lab {}", lab.name)));
        }
        Ok(lab)
    }

    fn bring_up(&mut self) -> Result<()> {
        let state = |lab: &Lab| {
            LabState::new(
                &lab.name,
                lab.config.scenario.name(),
                lab.config.nat,
                lab.namespaces.clone(),
            )
        };
        state(self).save()?;
        let build = topology::build(&self.name, self.config.nat, &mut self.namespaces);
        state(self).save()?;
        build?;

        if self.config.gateway_daemon {
            self.start_gateway()?;
        }

        if self.config.services {
            let lan_dir = self.dir.join("lan");
            paths::create_private_dir(&lan_dir)?;
            let lan = self.netns(Host::Lan);
            self.services.push(services::start_dnsmasq(&lan, &lan_dir)?);
            self.services.push(services::start_iperf3(&lan, &lan_dir)?);
            self.services.push(services::start_http(
                &lan,
                &lan_dir,
                "lan",
                &[LAN_HOST_V4, LAN_HOST_V6],
                LAN_PAGE,
            )?);
            let out_dir = self.dir.join("outside");
            paths::create_private_dir(&out_dir)?;
            self.services.push(services::start_http(
                &self.netns(Host::Outside),
                &out_dir,
                "outside",
                &[OUTSIDE_V4, OUTSIDE_V6],
                OUTSIDE_PAGE,
            )?);
        }
        Ok(())
    }

    /// The lab's name; every namespace is called `<name>-<role>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration the lab was started with.
    pub fn config(&self) -> &LabConfig {
        &self.config
    }

    /// The lab's private directory (configuration, PKI copy, logs, profiles).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The namespace of `host` (the router's exists only with NAT).
    pub fn netns(&self, host: Host) -> String {
        host.netns(&self.name)
    }

    /// The host path of `host`'s own resolv.conf, which every command run there with
    /// [`Lab::command`] or [`Lab::exec`] sees as `/etc/resolv.conf`.
    pub fn resolv_conf(&self, host: Host) -> PathBuf {
        netns::resolv_conf_path(&self.netns(host))
    }

    /// The namespaces that exist for this lab.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The address of `host` as seen from the client's side (see [`crate::plan`]);
    /// `None` for the router of a lab without NAT.
    pub fn addr(&self, host: Host, v6: bool) -> Option<IpAddr> {
        topology::address(host, self.config.nat, v6)
    }

    /// The gateway's wan IPv4 address, where clients send IKE.
    pub fn gateway_addr(&self) -> IpAddr {
        GATEWAY_WAN_V4
    }

    /// The gateway's wan IPv6 address.
    pub fn gateway_addr_v6(&self) -> IpAddr {
        GATEWAY_WAN_V6
    }

    /// The identity the gateway authenticates as (FQDN, also in its certificate).
    pub fn gateway_id(&self) -> &'static str {
        GATEWAY_FQDN
    }

    /// The LAN host (DNS, HTTP, iperf3), reachable only through the tunnel.
    pub fn lan_host_addr(&self) -> IpAddr {
        LAN_HOST_V4
    }

    /// The LAN host's IPv6 address.
    pub fn lan_host_addr_v6(&self) -> IpAddr {
        LAN_HOST_V6
    }

    /// The outside (internet) host, reachable from the client without the tunnel.
    pub fn outside_addr(&self) -> IpAddr {
        OUTSIDE_V4
    }

    /// The test PKI of this lab (copies in the lab directory).
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The CA certificate (PEM) a client must trust to authenticate the gateway: the lab
    /// CA, or the long chain's root when the lab uses it.
    pub fn ca_cert(&self) -> PathBuf {
        if self.config.long_chain {
            self.pki.long_root_pem()
        } else {
            self.pki.ca_pem()
        }
    }

    /// The same CA certificate in DER.
    pub fn ca_cert_der(&self) -> PathBuf {
        if self.config.long_chain {
            self.pki.long_root_der()
        } else {
            self.pki.ca_der()
        }
    }

    /// A client certificate (PEM) accepted in the `cert` scenario.
    pub fn client_cert(&self, which: ClientCert) -> PathBuf {
        self.pki.client_cert(which)
    }

    /// The matching private key (PEM, PKCS#8).
    pub fn client_key(&self, which: ClientCert) -> PathBuf {
        self.pki.client_key(which)
    }

    /// The matching PKCS#12 bundle (password in [`Lab::credentials`]).
    pub fn client_p12(&self, which: ClientCert) -> PathBuf {
        self.pki.client_p12(which)
    }

    /// The EAP-TLS client's PKCS#12 bundle.
    pub fn eap_tls_p12(&self) -> PathBuf {
        self.pki.eap_tls_p12()
    }

    /// Usernames, passwords and identities for every scenario.
    pub fn credentials(&self) -> Credentials {
        credentials::credentials()
    }

    /// A command that runs `program` inside `host`'s namespace (e.g. Corridor's client).
    pub fn command(&self, host: Host, program: impl AsRef<std::ffi::OsStr>) -> Command {
        netns::command(&self.netns(host), program)
    }

    /// Runs `args` inside `host`'s namespace; fails with its output unless it succeeds.
    pub fn exec(&self, host: Host, args: &[&str]) -> Result<ExecOutput> {
        let (program, rest) = args.split_first().context("exec needs a program")?;
        cmd::run(self.command(host, program).args(rest))
    }

    /// Runs `args` inside `host`'s namespace and returns its output whatever the status.
    pub fn exec_unchecked(&self, host: Host, args: &[&str]) -> Result<ExecOutput> {
        let (program, rest) = args.split_first().context("exec needs a program")?;
        cmd::output(self.command(host, program).args(rest))
    }

    /// Runs `f` on a thread inside `host`'s namespace (sockets it opens live there).
    pub fn run_in<F, R>(&self, host: Host, f: F) -> Result<R>
    where
        F: FnOnce() -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        netns::run_in(&self.netns(host), f)
    }

    /// Pings `to` from `host` (3 echo requests, at least one answer needed).
    pub fn ping(&self, from: Host, to: IpAddr) -> Result<ExecOutput> {
        let to = to.to_string();
        self.exec(from, &["ping", "-c", "3", "-i", "0.2", "-W", "2", &to])
            .with_context(|| format!("pinging {to} from the {from} host"))
    }

    /// Fetches `http://to/path` from `host`.
    pub fn http_get(&self, from: Host, to: IpAddr, path: &str) -> Result<HttpResponse> {
        let owned = path.to_string();
        self.run_in(from, move || {
            http::get(SocketAddr::new(to, HTTP_PORT), &owned)
        })
        .with_context(|| format!("fetching http://{to}{path} from the {from} host"))
    }

    /// Asks the DNS server `server` for `name` from `host`.
    pub fn dns_query(
        &self,
        from: Host,
        server: IpAddr,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<IpAddr>> {
        let name = name.to_string();
        self.run_in(from, move || dns::query(server, &name, rtype))
    }

    /// The sockets listening in `host`'s namespace (`addr:port` as `ss` prints them).
    pub fn listening(&self, host: Host, proto: Proto) -> Result<Vec<String>> {
        services::listening(&self.netns(host), proto)
    }

    /// Starts the gateway's charon (again, after [`Lab::kill_gateway`]: a restarted
    /// gateway knows no SA).
    pub fn start_gateway(&mut self) -> Result<()> {
        let (conf, creds) = gateway::config(&self.config, &self.pki);
        let gw = Charon::start(
            "gateway",
            &self.netns(Host::Gateway),
            &self.dir.join("gateway"),
            &conf,
            &creds,
        )?;
        self.gateway = Some(gw);
        Ok(())
    }

    /// Kills the gateway's charon (SIGKILL: no Delete goes out, as when the gateway
    /// machine dies or the daemon crashes).
    pub fn kill_gateway(&mut self) {
        if let Some(mut gw) = self.gateway.take() {
            gw.kill();
        }
    }

    /// The gateway's charon.
    pub fn gateway(&self) -> Result<&Charon> {
        self.gateway.as_ref().context("the gateway is not running")
    }

    /// Runs `swanctl ARGS` against the gateway; fails unless it succeeds.
    pub fn swanctl(&self, args: &[&str]) -> Result<ExecOutput> {
        self.gateway()?.swanctl(args)
    }

    /// The gateway's charon log so far.
    pub fn gateway_log(&self) -> String {
        self.gateway.as_ref().map(Charon::log).unwrap_or_default()
    }

    /// The gateway's charon log file.
    pub fn gateway_log_path(&self) -> PathBuf {
        self.dir.join("gateway").join("charon.log")
    }

    /// Process ids of everything the lab runs now (gateway, services, relay).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.gateway.iter().filter_map(Charon::pid).collect();
        pids.extend(
            self.services
                .iter()
                .chain(&self.relay)
                .filter_map(Proc::pid),
        );
        pids
    }

    /// Starts a strongSwan client in the client namespace and connects it.
    pub fn start_strongswan_client(&self) -> Result<StrongswanClient> {
        self.start_strongswan_client_with(&ClientOptions::default())
    }

    /// Starts a strongSwan client with explicit options.
    pub fn start_strongswan_client_with(&self, opts: &ClientOptions) -> Result<StrongswanClient> {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let dir = self.dir.join(format!(
            "strongswan-client-{}",
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        StrongswanClient::start(
            &self.config,
            &self.pki,
            &self.netns(Host::Client),
            &dir,
            opts,
        )
    }

    /// Replaces the impairment rules on the client's side of the wan.
    pub fn set_impairment(&self, impairment: &Impairment) -> Result<()> {
        let edge = if self.config.nat {
            Host::Router
        } else {
            Host::Client
        };
        let edge_addrs: Vec<IpAddr> = [false, true]
            .into_iter()
            .filter_map(|v6| self.addr(edge, v6))
            .collect();
        impair::apply(&self.netns(Host::Wan), impairment, &edge_addrs)
    }

    /// Removes all impairment rules.
    pub fn clear_impairment(&self) -> Result<()> {
        impair::clear(&self.netns(Host::Wan))
    }

    /// The impairment rules now loaded (`nft list table`), empty if none.
    pub fn impairment_rules(&self) -> Result<String> {
        let out = self.exec_unchecked(
            Host::Wan,
            &["nft", "list", "table", "netdev", impair::TABLE],
        )?;
        Ok(if out.success() {
            out.stdout
        } else {
            String::new()
        })
    }

    /// Starts `lab relay` on the wan bridge: clients that send IKE to
    /// [`Lab::relay_addr`] reach the gateway through it, delayed as `settings` say.
    /// Replaces a running relay.
    pub fn start_relay(&mut self, settings: RelaySettings, seed: u64) -> Result<()> {
        self.stop_relay();
        let dir = self.dir.join("relay");
        paths::create_private_dir(&dir)?;
        let bin = paths::lab_binary()?;
        let wan = self.netns(Host::Wan);
        let mut cmd = netns::command(&wan, &bin);
        cmd.arg("relay");
        for (relay, gw) in [(RELAY_V4, GATEWAY_WAN_V4), (RELAY_V6, GATEWAY_WAN_V6)] {
            for port in [500, 4500] {
                cmd.arg("--map").arg(format!(
                    "{}={}",
                    SocketAddr::new(relay, port),
                    SocketAddr::new(gw, port)
                ));
            }
        }
        cmd.args(["--seed", &seed.to_string()])
            .args(["--delay-ms", &settings.delay_ms.to_string()])
            .args(["--jitter-ms", &settings.jitter_ms.to_string()])
            .args(["--reorder-permille", &settings.reorder_permille.to_string()])
            .args(["--reorder-gap-ms", &settings.reorder_gap_ms.to_string()])
            .args(["--loss-permille", &settings.loss_permille.to_string()])
            .arg("--control")
            .arg(dir.join("relay.sock"));
        let mut proc = Proc::spawn("relay", &mut cmd, &dir.join("relay.log"))?;
        crate::process::wait_until(
            "the relay to listen",
            std::time::Duration::from_secs(10),
            || {
                proc.check_running()?;
                Ok(dir.join("relay.sock").exists()
                    && services::is_listening(&wan, Proto::Udp, 4500)?)
            },
        )?;
        self.relay = Some(proc);
        Ok(())
    }

    /// Changes the running relay's settings.
    pub fn set_relay(&self, settings: &RelaySettings) -> Result<()> {
        if self.relay.is_none() {
            anyhow::bail!("no relay is running (start one with start_relay)");
        }
        crate::relay::send_settings(&self.dir.join("relay").join("relay.sock"), settings)
    }

    /// Stops the relay, if one runs.
    pub fn stop_relay(&mut self) {
        if let Some(mut relay) = self.relay.take() {
            relay.stop();
        }
    }

    /// The relay's address (the relay must be started with [`Lab::start_relay`]).
    pub fn relay_addr(&self, v6: bool) -> IpAddr {
        if v6 { RELAY_V6 } else { RELAY_V4 }
    }

    /// A `.sswan` profile for this lab (not for the PSK scenario).
    pub fn sswan_profile(&self, opts: &ProfileOptions) -> Result<serde_json::Value> {
        profile::sswan(&self.config, &self.pki, opts)
    }

    /// Writes the default `.sswan` profile to `<dir>/<name>.sswan` and returns its path.
    pub fn write_sswan_profile(&self) -> Result<PathBuf> {
        let path = self.dir.join(format!("{}.sswan", self.name));
        profile::write(&path, &self.sswan_profile(&ProfileOptions::default())?)?;
        Ok(path)
    }

    /// A Corridor profile (`docs/profile-format.md`) for this lab, any scenario.
    pub fn corridor_profile(&self, opts: &ProfileOptions) -> Result<serde_json::Value> {
        profile::corridor(&self.config, &self.pki, opts)
    }

    /// Writes the default Corridor profile to `<dir>/<name>.corridor.json`.
    pub fn write_corridor_profile(&self) -> Result<PathBuf> {
        let path = self.dir.join(format!("{}.corridor.json", self.name));
        profile::write(&path, &self.corridor_profile(&ProfileOptions::default())?)?;
        Ok(path)
    }

    /// Keep the logs under `<target>/lab-logs/<name>/` at teardown even if nothing failed.
    pub fn keep_logs(&mut self, keep: bool) {
        self.keep_logs = keep;
    }

    /// Where this lab's logs are kept when it fails.
    pub fn kept_logs_dir(&self) -> PathBuf {
        paths::logs_root().join(&self.name)
    }

    /// Tears the lab down now and reports problems (dropping it does the same, silently).
    pub fn shutdown(mut self) -> Result<()> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<()> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        self.stop_relay();
        for service in self.services.iter_mut().rev() {
            service.stop();
        }
        self.services.clear();
        if let Some(mut gw) = self.gateway.take() {
            gw.stop();
        }
        // Anything else running in the lab's namespaces (a strongSwan client still held by
        // a test, a program started with `command`) goes too.
        cleanup::stop_processes_in(&self.namespaces);
        let mut first_error = None;
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = netns::delete(ns) {
                first_error.get_or_insert(e);
            }
        }
        self.namespaces.clear();
        if self.keep_logs || std::thread::panicking() {
            let kept = self.kept_logs_dir();
            match crate::logs::keep(&self.dir, &kept) {
                Ok(()) => eprintln!("lab {}: logs kept in {}", self.name, kept.display()),
                Err(e) => eprintln!("lab {}: could not keep the logs: {e:#}", self.name),
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            first_error.get_or_insert(
                anyhow::Error::new(e).context(format!("removing {}", self.dir.display())),
            );
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Clears the way for a lab whose name is taken. A generated name embeds our pid and a
/// counter this process never repeats, so whatever holds it was left by a dead process
/// that had the same pid. A chosen name is only reclaimed from a lab whose state file
/// names an owner that no longer runs.
fn remove_leftovers(name: &str, generated: bool) -> Result<()> {
    let owner = LabState::load(name).map(|s| s.owner_pid);
    let me = std::process::id();
    let owner_gone =
        owner.is_some_and(|pid| pid != me && !i32::try_from(pid).is_ok_and(crate::process::alive));
    if !generated && !owner_gone {
        anyhow::bail!("a lab named {name} already exists (remove it with `lab down {name}`)");
    }
    eprintln!("lab {name}: removing the leftovers of an earlier run");
    cleanup::down(name).map(|_| ())
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("lab {}: teardown: {e:#}", self.name);
        }
    }
}
