//! Journalled network changes: the OS-neutral part every caller goes through.

use std::net::IpAddr;
use std::path::Path;

use crate::dns::{self, DnsBackend, DnsConfig, DnsMode};
use crate::error::{Error, Result};
use crate::journal::{Change, Journal};
use crate::killswitch::KillSwitch;
use crate::types::{
    Family, IpNet, MAIN_TABLE, Route, RouteKind, TunConfig, check_ifname, split_default_routes,
};
use crate::{NetworkOs, OsNetwork, Tun, TunDevice};

/// How [`Platform::block_outside_tunnel`] blocks traffic outside the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillSwitchBackend {
    /// Linux: unreachable split routes (`0.0.0.0/1`, `128.0.0.0/1`, ...), journalled
    /// like every route; the more specific routes of excluded prefixes, the gateway and
    /// the host's own links still win over them.
    UnreachableRoutes {
        /// The routes added, in order.
        routes: Vec<Route>,
    },
    /// Windows: WFP filters in a dynamic session this process holds open.
    Wfp {
        /// How many filters were added.
        filters: usize,
    },
    /// macOS: rules in a pf anchor, with pf enabled holding a reference.
    Pf {
        /// The anchor's path.
        anchor: String,
    },
}

/// Network changes with a durable undo log. Call [`Platform::restore`] at start-up
/// (to undo what a crashed run left) and at shutdown (to undo this run).
#[derive(Debug)]
pub struct Platform {
    os: OsNetwork,
    journal: Journal,
    /// D-Bus address of the system bus, when not the default.
    bus_address: Option<String>,
    /// The kill switch's WFP session: its filters live exactly as long as it does.
    #[cfg(windows)]
    wfp: Option<crate::wfp::WfpSession>,
}

impl Platform {
    /// Opens the journal under `state_dir` and connects to the OS. Does not restore:
    /// the caller decides when.
    pub async fn open(state_dir: &Path) -> Result<Self> {
        let journal = Journal::open(state_dir)?;
        let os = OsNetwork::connect()?;
        Ok(Self {
            os,
            journal,
            bus_address: None,
            #[cfg(windows)]
            wfp: None,
        })
    }

    /// The undo log.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The OS layer, for read-only queries.
    pub fn os(&self) -> &OsNetwork {
        &self.os
    }

    /// Creates, configures and brings up the TUN interface.
    pub async fn create_tun(&mut self, config: &TunConfig) -> Result<TunDevice> {
        check_ifname(&config.name)?;
        if config.mtu < 1280 && config.addresses.iter().any(|a| a.family() == Family::V6) {
            // RFC 8200 §5: "IPv6 requires that every link in the Internet have an MTU
            // of 1280 octets or greater."
            return Err(Error::Invalid {
                what: "MTU",
                detail: format!("{} is below the IPv6 minimum of 1280", config.mtu),
            });
        }
        self.journal.record(Change::TunCreated {
            name: config.name.clone(),
        })?;
        let tun = self.os.create_tun(&config.name, config.mtu).await?;
        // The OS may name the device itself (macOS: the next free utun): the real
        // name is what later changes, and their undo, must refer to.
        let name = tun.name().to_string();
        if name != config.name {
            self.journal
                .record(Change::TunCreated { name: name.clone() })?;
            self.journal.forget(&Change::TunCreated {
                name: config.name.clone(),
            })?;
        }
        for net in &config.addresses {
            self.journal.record(Change::AddressAdded {
                device: name.clone(),
                net: *net,
            })?;
            self.os.add_address(&name, *net).await?;
        }
        Ok(tun)
    }

    /// Adds `route`, journalled.
    pub async fn add_route(&mut self, route: Route) -> Result<()> {
        self.journal.record(Change::RouteAdded {
            route: route.clone(),
        })?;
        self.os.add_route(&route).await
    }

    /// Removes a route this platform added and drops it from the journal.
    pub async fn remove_route(&mut self, route: &Route) -> Result<()> {
        self.os.remove_route(route).await?;
        self.journal.forget(&Change::RouteAdded {
            route: route.clone(),
        })
    }

    /// Unicast routes of `family` in `table`.
    pub async fn list_routes(&self, family: Family, table: u32) -> Result<Vec<Route>> {
        self.os.list_routes(family, table).await
    }

    /// Keeps `destination` out of the tunnel on `tunnel_device`: copies the route the
    /// host uses for it now (the longest matching prefix in the main table that does not
    /// go through the tunnel) onto `destination`, journalled. Returns the route added,
    /// or `None` when the host already has a route for exactly `destination` (it stays
    /// more specific than any tunnel route covering it) or no route at all (then there
    /// is nothing to keep: the destination is unreachable either way).
    pub async fn bypass(
        &mut self,
        destination: IpNet,
        tunnel_device: &str,
    ) -> Result<Option<Route>> {
        let current = self
            .os
            .list_routes(destination.family(), MAIN_TABLE)
            .await?
            .into_iter()
            .filter(|r| {
                r.device.as_deref() != Some(tunnel_device)
                    && r.destination.prefix() <= destination.prefix()
                    && r.destination.contains(destination.addr())
            })
            .max_by_key(|r| {
                (
                    r.destination.prefix(),
                    std::cmp::Reverse(r.metric.unwrap_or(0)),
                )
            });
        let Some(current) = current else {
            return Ok(None);
        };
        if current.destination == destination {
            return Ok(None);
        }
        let pin = Route {
            destination,
            device: current.device,
            gateway: current.gateway,
            table: None,
            metric: None,
            kind: RouteKind::Unicast,
        };
        self.add_route(pin.clone()).await?;
        Ok(Some(pin))
    }

    /// Steers all traffic of `families` into `device` with the split routes
    /// ([`split_default_routes`]), after pinning a host route to `gateway` through the
    /// current default route so the ESP/IKE packets themselves do not loop into the
    /// tunnel. Returns the routes added, gateway route first.
    pub async fn full_tunnel(
        &mut self,
        device: &str,
        gateway: IpAddr,
        families: &[Family],
    ) -> Result<Vec<Route>> {
        let family = Family::of(gateway);
        let default = self
            .os
            .list_routes(family, MAIN_TABLE)
            .await?
            .into_iter()
            .filter(|r| r.destination.prefix() == 0 && r.device.as_deref() != Some(device))
            .min_by_key(|r| r.metric.unwrap_or(0))
            .ok_or(Error::NoDefaultRoute(family.name()))?;
        let mut added = Vec::new();
        let pin = Route {
            destination: IpNet::host(gateway),
            device: default.device,
            gateway: default.gateway,
            table: None,
            metric: None,
            kind: RouteKind::Unicast,
        };
        self.add_route(pin.clone()).await?;
        added.push(pin);
        for family in families {
            for route in split_default_routes(device, *family) {
                self.add_route(route.clone()).await?;
                added.push(route);
            }
        }
        Ok(added)
    }

    /// Blocks the traffic of `policy`'s families that does not go through the tunnel,
    /// except what the policy lets pass (see [`KillSwitch`]); validates it first.
    ///
    /// - Linux: unreachable split routes, journalled; what the policy permits keeps the
    ///   more specific routes it has (or gets from [`Platform::bypass`]), so only the
    ///   routes are added here.
    /// - Windows: WFP filters in a dynamic session (`wfp.rs`) held until
    ///   [`Platform::restore`] or the process ends, whichever comes first; nothing to
    ///   journal.
    /// - macOS: rules in the pf anchor [`crate::pf_rules::ANCHOR`] and a pf enable
    ///   reference, journalled ([`Change::PfAnchor`]) since both outlive the process.
    ///
    /// Calling it again replaces the rules (Windows, macOS). On failure nothing of the
    /// failed step stays applied, or what stays is journalled for `restore`.
    pub async fn block_outside_tunnel(&mut self, policy: &KillSwitch) -> Result<KillSwitchBackend> {
        policy.validate()?;
        #[cfg(target_os = "linux")]
        {
            let mut routes = Vec::new();
            for family in policy.blocked_families() {
                for route in split_default_routes(&policy.tunnel, family) {
                    let block = Route::unreachable(route.destination);
                    self.add_route(block.clone()).await?;
                    routes.push(block);
                }
            }
            Ok(KillSwitchBackend::UnreachableRoutes { routes })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let policy = self.with_lan(policy).await?;
            #[cfg(windows)]
            {
                // The old session's filters go first; the new ones come in one
                // transaction, so there is a moment with neither rather than a mix.
                self.wfp = None;
                let session = crate::wfp::WfpSession::apply(&policy)?;
                let filters = session.filters();
                self.wfp = Some(session);
                Ok(KillSwitchBackend::Wfp { filters })
            }
            #[cfg(target_os = "macos")]
            {
                self.apply_pf(&policy)
            }
            #[cfg(not(any(windows, target_os = "macos")))]
            {
                let _ = policy;
                Err(Error::Unsupported("the kill switch"))
            }
        }
    }

    /// `policy` with the networks on the host's own links added to what it permits,
    /// when it allows them.
    #[cfg(not(target_os = "linux"))]
    async fn with_lan(&self, policy: &KillSwitch) -> Result<KillSwitch> {
        let mut policy = policy.clone();
        if policy.allow_lan {
            for family in policy.blocked_families() {
                let routes = self.os.list_routes(family, MAIN_TABLE).await?;
                policy
                    .permitted
                    .extend(crate::killswitch::on_link_networks(&routes, &policy.tunnel));
            }
        }
        Ok(policy)
    }

    /// Loads `policy`'s pf rules into the anchor and enables pf holding a reference,
    /// journalled before each step; a failed step takes back what it applied.
    #[cfg(target_os = "macos")]
    fn apply_pf(&mut self, policy: &KillSwitch) -> Result<KillSwitchBackend> {
        let anchor = crate::pf_rules::ANCHOR.to_string();
        let loaded = Change::PfAnchor {
            anchor: anchor.clone(),
            token: None,
        };
        let first = !self.journal.entries().contains(&loaded);
        if first {
            self.journal.record(loaded.clone())?;
        }
        let rules = crate::pf_rules::render(policy);
        if let Err(e) = crate::pf::load(&anchor, &rules) {
            if first {
                self.take_back_pf(&loaded);
            }
            return Err(e);
        }
        let enabled =
            self.journal.entries().iter().any(
                |c| matches!(c, Change::PfAnchor { anchor: a, token: Some(_) } if *a == anchor),
            );
        if !enabled {
            let token = match crate::pf::enable() {
                Ok(token) => token,
                Err(e) => {
                    self.take_back_pf(&loaded);
                    return Err(e);
                }
            };
            let held = Change::PfAnchor {
                anchor: anchor.clone(),
                token: Some(token.clone()),
            };
            if let Err(e) = self.journal.record(held) {
                let _ = crate::pf::release(&token);
                self.take_back_pf(&loaded);
                return Err(e);
            }
        }
        tracing::info!(%anchor, "kill switch rules loaded into pf");
        Ok(KillSwitchBackend::Pf { anchor })
    }

    /// Empties the anchor after a failed step and drops its journal entry.
    #[cfg(target_os = "macos")]
    fn take_back_pf(&mut self, loaded: &Change) {
        if let Change::PfAnchor { anchor, .. } = loaded {
            match crate::pf::flush(anchor) {
                Ok(_) => {
                    if let Err(e) = self.journal.forget(loaded) {
                        tracing::warn!(%e, "kill switch: cannot drop the pf journal entry");
                    }
                }
                Err(e) => tracing::warn!(%e, %anchor, "kill switch: cannot empty the pf anchor"),
            }
        }
    }

    /// Points name resolution at `config` by replacing the `resolv.conf`-format file
    /// at `path` (normally `/etc/resolv.conf`), after saving the original under the
    /// state directory and journalling it. Calling it again while the tunnel is up
    /// only rewrites the file: the first original is the one restored.
    pub fn replace_resolv_conf(&mut self, path: &Path, config: &DnsConfig) -> Result<()> {
        let text = dns::render(config)?;
        let already = self
            .journal
            .entries()
            .iter()
            .any(|c| matches!(c, Change::ResolvConfReplaced { path: p, .. } if p == path));
        if !already {
            let original = dns::save_original(path, self.journal.dir())?;
            self.journal.record(Change::ResolvConfReplaced {
                path: path.to_path_buf(),
                original,
            })?;
        }
        dns::atomic_write(path, text.as_bytes())
    }

    /// Uses the system bus at `address` (D-Bus address syntax, e.g.
    /// `unix:path=/run/dbus/system_bus_socket`) to reach systemd-resolved, instead of
    /// `DBUS_SYSTEM_BUS_ADDRESS` or the well-known socket. Set it before
    /// [`Platform::restore`] too, so a crashed run's DNS is reverted on the same bus.
    pub fn set_system_bus_address(&mut self, address: impl Into<String>) {
        self.bus_address = Some(address.into());
    }

    /// Points name resolution at `config`: through systemd-resolved on `link` when it
    /// runs (it owns `org.freedesktop.resolve1` on the system bus), with the routing
    /// `mode` asks for (see `resolved::LinkSettings::new`); otherwise by replacing the
    /// `resolv.conf`-format file at `resolv_conf` (normally `/etc/resolv.conf`) as
    /// [`Platform::replace_resolv_conf`] does, where `mode` has no effect. On Windows
    /// the servers go on the interface with an NRPT rule; on macOS into the
    /// SystemConfiguration dynamic store (`resolv_conf` is not used on either).
    /// Journalled either way; calling it again while the tunnel is up updates the
    /// settings.
    pub async fn apply_dns(
        &mut self,
        link: &str,
        config: &DnsConfig,
        mode: DnsMode,
        resolv_conf: &Path,
    ) -> Result<DnsBackend> {
        #[cfg(target_os = "linux")]
        {
            let settings = crate::resolved::LinkSettings::new(config, mode)?;
            if let Some(resolved) =
                crate::resolved::Resolved::detect(self.bus_address.as_deref()).await?
            {
                check_ifname(link)?;
                let ifindex = self
                    .os
                    .link_index(link)
                    .await?
                    .ok_or_else(|| Error::NoSuchInterface(link.to_string()))?;
                let change = Change::ResolvedLink {
                    ifindex,
                    ifname: link.to_string(),
                };
                if !self.journal.entries().contains(&change) {
                    self.journal.record(change)?;
                }
                resolved.apply(ifindex, &settings).await?;
                tracing::info!(link, ifindex, ?mode, "DNS set through systemd-resolved");
                return Ok(DnsBackend::Resolved { ifindex });
            }
        }
        #[cfg(windows)]
        {
            let _ = resolv_conf;
            check_ifname(link)?;
            let rule = crate::nrpt::rule_for(link, config, mode)?;
            if let Some(rule) = &rule {
                let change = Change::NrptRule {
                    key: rule.key.clone(),
                };
                if !self.journal.entries().contains(&change) {
                    self.journal.record(change)?;
                }
                crate::imp::write_nrpt_rule(rule)?;
            }
            crate::imp::set_interface_dns(link, config)?;
            let namespaces = rule.map(|r| r.names).unwrap_or_default();
            tracing::info!(
                link,
                ?namespaces,
                "DNS set on the interface and in the NRPT"
            );
            return Ok(DnsBackend::Windows {
                interface: link.to_string(),
                namespaces,
            });
        }
        #[cfg(target_os = "macos")]
        {
            let _ = resolv_conf;
            check_ifname(link)?;
            return self.apply_dynamic_store_dns(link, config, mode);
        }
        #[cfg(not(any(windows, target_os = "macos")))]
        {
            let _ = (link, mode);
            self.replace_resolv_conf(resolv_conf, config)?;
            tracing::info!(path = %resolv_conf.display(), "DNS set by replacing resolv.conf");
            Ok(DnsBackend::ResolvConf {
                path: resolv_conf.to_path_buf(),
            })
        }
    }

    /// macOS: publishes `config` in the SystemConfiguration dynamic store (see
    /// `dynstore.rs`): our own service's DNS entity with supplemental match domains
    /// for split DNS, or the primary service's DNS entity for every name. The key's
    /// value before the first write is journalled first; writing again while the
    /// tunnel is up keeps that first original.
    #[cfg(target_os = "macos")]
    fn apply_dynamic_store_dns(
        &mut self,
        link: &str,
        config: &DnsConfig,
        mode: DnsMode,
    ) -> Result<DnsBackend> {
        use crate::dynstore;
        let plan = dynstore::plan(config, mode, link)?;
        let key = if plan.split {
            dynstore::tunnel_dns_key(link)?
        } else {
            let service = crate::macos_dns::primary_service()?.ok_or_else(|| Error::Os {
                op: "find the primary network service".into(),
                detail: format!(
                    "neither {} nor {} names a {}",
                    dynstore::GLOBAL_IPV4_KEY,
                    dynstore::GLOBAL_IPV6_KEY,
                    dynstore::PRIMARY_SERVICE
                ),
            })?;
            dynstore::service_dns_key(&service)?
        };
        let already = self
            .journal
            .entries()
            .iter()
            .any(|c| matches!(c, Change::DynamicStoreKey { key: k, .. } if *k == key));
        if !already {
            // A value of ours here is a leftover no restore undid; it is not the
            // host's own setting, so it is not what to put back.
            let original =
                crate::macos_dns::read_key(&key)?.filter(|value| !dynstore::is_ours(value));
            self.journal.record(Change::DynamicStoreKey {
                key: key.clone(),
                original,
            })?;
        }
        crate::macos_dns::write_key(&key, &plan.dictionary)?;
        tracing::info!(link, %key, split = plan.split, "DNS set in the dynamic store");
        Ok(DnsBackend::DynamicStore {
            key,
            split: plan.split,
        })
    }

    /// Reverts what [`Platform::apply_dns`] set on a link through systemd-resolved.
    /// `Ok(false)` when there is nothing to revert: the link is gone (resolved drops
    /// its settings with it), its index now names another link, or resolved is not
    /// running (its per-link settings do not outlive it).
    async fn revert_resolved_link(&self, ifindex: u32, ifname: &str) -> Result<bool> {
        #[cfg(target_os = "linux")]
        {
            if self.os.link_index(ifname).await? != Some(ifindex) {
                return Ok(false);
            }
            match crate::resolved::Resolved::detect(self.bus_address.as_deref()).await? {
                Some(resolved) => resolved.revert(ifindex).await,
                None => {
                    tracing::warn!(
                        ifname,
                        "systemd-resolved is not running; nothing to revert on the link"
                    );
                    Ok(false)
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (ifindex, ifname);
            Ok(false)
        }
    }

    /// Undoes every journalled change, newest first; returns how many entries were
    /// replayed. Idempotent: running it again (or after a crash mid-restore) finds
    /// nothing left and succeeds.
    pub async fn restore(&mut self) -> Result<usize> {
        // The kill switch first: closing the WFP engine removes its filters (they
        // were never journalled).
        #[cfg(windows)]
        if self.wfp.take().is_some() {
            tracing::debug!("kill switch filters removed");
        }
        let mut count = 0;
        while let Some(change) = self.journal.entries().last().cloned() {
            let done = match &change {
                Change::TunCreated { name } => self.os.delete_link(name).await?,
                Change::AddressAdded { device, net } => {
                    self.os.remove_address(device, *net).await?
                }
                Change::RouteAdded { route } => self.os.remove_route(route).await?,
                Change::ResolvConfReplaced { path, original } => dns::put_back(path, original)?,
                Change::ResolvedLink { ifindex, ifname } => {
                    self.revert_resolved_link(*ifindex, ifname).await?
                }
                Change::NrptRule { key } => remove_nrpt_rule(key)?,
                Change::DynamicStoreKey { key, original } => {
                    restore_store_key(key, original.as_ref())?
                }
                Change::PfAnchor { anchor, token } => remove_pf_anchor(anchor, token.as_deref())?,
            };
            tracing::debug!(?change, removed = done, "restored");
            self.journal.pop()?;
            count += 1;
        }
        Ok(count)
    }
}

/// Deletes a Windows NRPT rule; elsewhere there is none to delete (a journal carried
/// over from Windows is the only way to meet one).
fn remove_nrpt_rule(key: &str) -> Result<bool> {
    #[cfg(windows)]
    {
        crate::imp::delete_nrpt_rule(key)
    }
    #[cfg(not(windows))]
    {
        let _ = key;
        Ok(false)
    }
}

/// Puts a macOS dynamic-store key back; elsewhere there is no store (a journal carried
/// over from macOS is the only way to meet such an entry).
fn restore_store_key(key: &str, original: Option<&serde_json::Value>) -> Result<bool> {
    #[cfg(target_os = "macos")]
    {
        crate::macos_dns::restore_key(key, original)
    }
    #[cfg(not(target_os = "macos"))]
    {
        let _ = (key, original);
        Ok(false)
    }
}

/// Empties a pf anchor and releases the pf enable reference `token`, on macOS;
/// elsewhere there is no pf to undo (a journal carried over from a Mac is the only way
/// to meet one).
fn remove_pf_anchor(anchor: &str, token: Option<&str>) -> Result<bool> {
    #[cfg(target_os = "macos")]
    {
        let flushed = crate::pf::flush(anchor)?;
        let released = match token {
            Some(token) => crate::pf::release(token)?,
            None => false,
        };
        Ok(flushed || released)
    }
    #[cfg(not(target_os = "macos"))]
    {
        let _ = (anchor, token);
        Ok(false)
    }
}
