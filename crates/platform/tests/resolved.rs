//! DNS through a real systemd-resolved (the lab's unpacked copy, on a private bus in
//! a private namespace): per-link servers and routing domains, queries routed by
//! them, exact revert on restore and after a crash, and the `resolv.conf` fallback
//! when no resolved is on the bus. Needs root and `scripts/setup-system`; fails, never
//! skips, without them.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use corridor_platform::resolved::{LinkState, Resolved};
use corridor_platform::{Change, DnsBackend, DnsConfig, DnsMode, Platform};
use lab::resolved::{DnsServer, SystemdResolved};
use support::Netns;

/// The tunnel link and the addresses around it (all inside the test namespace).
const LINK: &str = "tun-dns0";
const PEER: &str = "tun-dns1";
const LINK_ADDR: &str = "198.18.53.1/24";
/// The tunnel's DNS server (as if pushed by the gateway).
const TUNNEL_DNS: &str = "198.18.53.53";
/// The host's own resolver, resolved's global server.
const HOST_DNS: &str = "198.18.53.54";
/// What each server answers for the two test names.
const INTRANET: &str = "intranet.corp.example";
const INTRANET_ADDR: &str = "198.18.60.10";
const OUTSIDE: &str = "www.outside.example";
const OUTSIDE_VIA_TUNNEL: &str = "198.18.60.11";
const OUTSIDE_VIA_HOST: &str = "198.18.61.11";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Runs `f` on a thread inside namespace `ns` (current-thread runtime) and returns
/// its result.
fn block_in<T, F, Fut>(ns: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// A namespace with a tunnel-like link, two DNS servers and systemd-resolved.
struct Setup {
    resolved: Arc<SystemdResolved>,
    tunnel_dns: DnsServer,
    _host_dns: DnsServer,
    state: PathBuf,
    resolv_conf: PathBuf,
    // Last: the namespace goes after everything running in it has stopped.
    _dir: tempfile::TempDir,
    ns: Netns,
}

impl Setup {
    fn new() -> Self {
        let ns = Netns::new();
        let n = ns.name.clone();
        for args in [
            vec!["link", "set", "lo", "up"],
            vec!["link", "add", LINK, "type", "veth", "peer", "name", PEER],
            vec!["addr", "add", LINK_ADDR, "dev", LINK],
            vec!["addr", "add", &format!("{TUNNEL_DNS}/24"), "dev", PEER],
            vec!["addr", "add", &format!("{HOST_DNS}/24"), "dev", PEER],
            vec!["link", "set", LINK, "up"],
            vec!["link", "set", PEER, "up"],
        ] {
            let mut full = vec!["ip", "-n", &n];
            full.extend(args.iter().copied());
            support::sh(&full);
        }
        let dir = tempfile::tempdir().unwrap();
        let tunnel_dns = DnsServer::start(
            &n,
            dir.path(),
            "tunnel",
            ip(TUNNEL_DNS),
            &[
                (INTRANET, ip(INTRANET_ADDR)),
                (OUTSIDE, ip(OUTSIDE_VIA_TUNNEL)),
            ],
        )
        .unwrap();
        let host_dns = DnsServer::start(
            &n,
            dir.path(),
            "host",
            ip(HOST_DNS),
            &[(OUTSIDE, ip(OUTSIDE_VIA_HOST))],
        )
        .unwrap();
        let resolved = SystemdResolved::start(&n, dir.path(), &[ip(HOST_DNS)]).unwrap();
        Setup {
            resolved: Arc::new(resolved),
            tunnel_dns,
            _host_dns: host_dns,
            state: dir.path().join("state"),
            resolv_conf: dir.path().join("resolv.conf"),
            _dir: dir,
            ns,
        }
    }

    fn bus(&self) -> String {
        self.resolved.bus_address()
    }

    /// [`Setup::status`] before the test changes anything, once the host's resolver
    /// has answered a query: which server is "current" is runtime state that the
    /// first query sets, not configuration a restore could put back.
    fn baseline(&self) -> String {
        let answer = self.query(OUTSIDE);
        assert!(answer.contains(OUTSIDE_VIA_HOST), "{answer}");
        self.status()
    }

    /// resolved's whole configuration as `resolvectl` shows it: global and every link.
    fn status(&self) -> String {
        self.resolved.resolvectl(&["status"]).unwrap().stdout
    }

    /// Resolves `name` through resolved; returns what `resolvectl query` printed.
    fn query(&self, name: &str) -> String {
        let out = self.resolved.resolvectl(&["query", name]).unwrap();
        out.stdout
    }

    /// Opens a platform on the test's state directory, inside the namespace, and
    /// runs `f` with it.
    fn with_platform<T, F, Fut>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(Platform) -> Fut + Send + 'static,
        Fut: Future<Output = T>,
    {
        let state = self.state.clone();
        let bus = self.bus();
        block_in(&self.ns.name, move || async move {
            let mut p = Platform::open(&state).await.unwrap();
            p.set_system_bus_address(bus);
            f(p).await
        })
    }

    fn link_state(&self, ifindex: u32) -> LinkState {
        let bus = self.bus();
        block_in(&self.ns.name, move || async move {
            let r = Resolved::detect(Some(&bus)).await.unwrap().unwrap();
            r.link_state(ifindex).await.unwrap()
        })
    }
}

fn config() -> DnsConfig {
    DnsConfig {
        servers: vec![ip(TUNNEL_DNS)],
        search_domains: vec!["corp.example".into()],
    }
}

fn domains(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(n, r)| (n.to_string(), *r)).collect()
}

/// Applies `mode` and returns the link index; the platform is dropped without a
/// restore, which is what a crash leaves behind.
fn apply(setup: &Setup, mode: DnsMode) -> u32 {
    let resolv_conf = setup.resolv_conf.clone();
    setup.with_platform(move |mut p| async move {
        let used = p
            .apply_dns(LINK, &config(), mode, &resolv_conf)
            .await
            .unwrap();
        let DnsBackend::Resolved { ifindex } = used else {
            panic!("resolved is running but {used:?} was used");
        };
        assert_eq!(
            p.journal().entries(),
            &[Change::ResolvedLink {
                ifindex,
                ifname: LINK.into()
            }]
        );
        ifindex
    })
}

fn restore(setup: &Setup) -> usize {
    setup.with_platform(|mut p| async move { p.restore().await.unwrap() })
}

#[test]
fn split_dns_routes_only_the_domain_and_restore_reverts_exactly() {
    let setup = Arc::new(Setup::new());
    let before = setup.baseline();
    let s = setup.clone();
    let after = setup.with_platform(move |mut p| async move {
        let used = p
            .apply_dns(LINK, &config(), DnsMode::SplitRoutingOnly, &s.resolv_conf)
            .await
            .unwrap();
        let DnsBackend::Resolved { ifindex } = used else {
            panic!("resolved is running but {used:?} was used");
        };
        // Applying again (an updated configuration) journals nothing new.
        p.apply_dns(LINK, &config(), DnsMode::SplitRoutingOnly, &s.resolv_conf)
            .await
            .unwrap();
        assert_eq!(p.journal().entries().len(), 1);

        let bus = s.bus();
        let resolved = Resolved::detect(Some(&bus)).await.unwrap().unwrap();
        let state = resolved.link_state(ifindex).await.unwrap();
        assert_eq!(state.servers, vec![ip(TUNNEL_DNS)]);
        assert_eq!(state.domains, domains(&[("corp.example", true)]));
        assert!(!state.default_route);
        assert_eq!(state.dns_over_tls, "no");
        let shown = s.resolved.resolvectl(&["status", LINK]).unwrap().stdout;
        assert!(shown.contains(TUNNEL_DNS), "{shown}");
        assert!(shown.contains("~corp.example"), "{shown}");
        assert!(shown.contains("-DefaultRoute"), "{shown}");
        // The fallback file was not written.
        assert!(!s.resolv_conf.exists());

        // A name under the routing domain goes to the tunnel's server...
        let answer = s.query(INTRANET);
        assert!(answer.contains(INTRANET_ADDR), "{answer}");
        assert!(s.tunnel_dns.was_asked(INTRANET), "{}", s.tunnel_dns.log());
        // ...any other name to the host's resolver only.
        let answer = s.query(OUTSIDE);
        assert!(answer.contains(OUTSIDE_VIA_HOST), "{answer}");
        assert!(!s.tunnel_dns.was_asked(OUTSIDE), "{}", s.tunnel_dns.log());

        assert_eq!(p.restore().await.unwrap(), 1);
        assert!(p.journal().entries().is_empty());
        s.status()
    });
    assert_eq!(after, before);
    assert_eq!(restore(&setup), 0);
}

#[test]
fn full_tunnel_takes_every_query_and_a_crash_is_undone_on_restart() {
    let setup = Setup::new();
    let before = setup.baseline();

    let ifindex = apply(&setup, DnsMode::FullTunnel);
    let state = setup.link_state(ifindex);
    assert_eq!(
        state.domains,
        domains(&[(".", true), ("corp.example", false)])
    );
    assert!(state.default_route);
    let shown = setup.resolved.resolvectl(&["status", LINK]).unwrap().stdout;
    assert!(shown.contains("~."), "{shown}");
    assert!(shown.contains("+DefaultRoute"), "{shown}");

    // `~.` beats the host resolver for every name.
    let answer = setup.query(OUTSIDE);
    assert!(answer.contains(OUTSIDE_VIA_TUNNEL), "{answer}");
    assert!(
        setup.tunnel_dns.was_asked(OUTSIDE),
        "{}",
        setup.tunnel_dns.log()
    );
    let answer = setup.query(INTRANET);
    assert!(answer.contains(INTRANET_ADDR), "{answer}");

    // The run above ended without a restore: the next start replays the journal.
    assert_ne!(setup.status(), before);
    assert_eq!(restore(&setup), 1);
    assert_eq!(setup.status(), before);
    assert_eq!(restore(&setup), 0);
}

#[test]
fn a_link_that_is_gone_counts_as_restored() {
    let setup = Setup::new();
    let before = setup.baseline();
    apply(&setup, DnsMode::Split);
    support::sh(&["ip", "-n", &setup.ns.name, "link", "del", LINK]);
    assert_eq!(restore(&setup), 1);
    let after = setup.status();
    assert!(!after.contains(LINK), "{after}");
    // Only the deleted link (and its peer, which went with it) differ.
    let global = |s: &str| s.split("\nLink ").next().unwrap().to_string();
    assert_eq!(global(&after), global(&before));
}

#[test]
fn without_resolved_on_the_bus_the_file_is_replaced() {
    let root = tempfile::tempdir().unwrap();
    let resolv_conf = root.path().join("resolv.conf");
    std::fs::write(&resolv_conf, "nameserver 198.18.0.1\n").unwrap();
    let state = root.path().join("state");
    let bus = format!("unix:path={}", root.path().join("no-bus").display());
    let ns = Netns::new();
    let rc = resolv_conf.clone();
    block_in(&ns.name, move || async move {
        let mut p = Platform::open(&state).await.unwrap();
        p.set_system_bus_address(bus);
        let used = p
            .apply_dns("lo", &config(), DnsMode::Split, &rc)
            .await
            .unwrap();
        assert_eq!(used, DnsBackend::ResolvConf { path: rc.clone() });
        let text = std::fs::read_to_string(&rc).unwrap();
        assert!(
            text.contains("nameserver 198.18.53.53\nsearch corp.example\n"),
            "{text}"
        );
        assert_eq!(p.restore().await.unwrap(), 1);
    });
    assert_eq!(
        std::fs::read_to_string(&resolv_conf).unwrap(),
        "nameserver 198.18.0.1\n"
    );
}
