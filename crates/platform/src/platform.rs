//! Journalled network changes: the OS-neutral part every caller goes through.

use std::net::IpAddr;
use std::path::Path;

use crate::dns::{self, DnsBackend, DnsConfig, DnsMode};
use crate::error::{Error, Result};
use crate::journal::{Change, Journal};
use crate::types::{
    Family, IpNet, MAIN_TABLE, Route, RouteKind, TunConfig, check_ifname, split_default_routes,
};
use crate::{NetworkOs, OsNetwork, Tun, TunDevice};

/// Network changes with a durable undo log. Call [`Platform::restore`] at start-up
/// (to undo what a crashed run left) and at shutdown (to undo this run).
#[derive(Debug)]
pub struct Platform {
    os: OsNetwork,
    journal: Journal,
    /// D-Bus address of the system bus, when not the default.
    bus_address: Option<String>,
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
