//! Windows: the TUN device is a wintun adapter (the driver WireGuard for Windows uses),
//! addresses, routes and the interface MTU go through IP Helper
//! (`CreateUnicastIpAddressEntry`, `CreateIpForwardEntry2`, `SetIpInterfaceEntry`).
//!
//! wintun.dll is loaded by its full path (beside corridord.exe, where the installer puts
//! it, or `CORRIDOR_WINTUN_DLL`), never through the DLL search order, so a planted DLL
//! of that name elsewhere on the path is not picked up.
//!
//! An adapter lives as long as the handle its process holds: when corridord exits or
//! crashes, the driver removes it with every address and route on it. Routes through
//! other interfaces (the gateway's host route) outlive the process and are what the
//! journal puts back after a crash.

// IP Helper has no safe wrapper among the chosen dependencies; each unsafe block
// states why it is sound.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc;
use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_NOT_FOUND, ERROR_OBJECT_ALREADY_EXISTS, WIN32_ERROR,
};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    ConvertInterfaceAliasToLuid, ConvertInterfaceLuidToAlias, CreateIpForwardEntry2,
    CreateUnicastIpAddressEntry, DeleteIpForwardEntry2, DeleteUnicastIpAddressEntry, FreeMibTable,
    GetIpForwardTable2, GetIpInterfaceEntry, InitializeIpForwardEntry, InitializeIpInterfaceEntry,
    InitializeUnicastIpAddressEntry, MIB_IPFORWARD_ROW2, MIB_IPFORWARD_TABLE2, MIB_IPINTERFACE_ROW,
    MIB_UNICASTIPADDRESS_ROW, SetIpInterfaceEntry,
};
use windows_sys::Win32::NetworkManagement::Ndis::NET_LUID_LH;
use windows_sys::Win32::Networking::WinSock::{
    ADDRESS_FAMILY, AF_INET, AF_INET6, IN_ADDR, IN_ADDR_0, IN6_ADDR, IN6_ADDR_0,
    IpDadStatePreferred, MIB_IPPROTO_NETMGMT, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_INET,
};

use windows_sys::Win32::NetworkManagement::IpHelper::{
    ConvertInterfaceLuidToGuid, DNS_INTERFACE_SETTINGS, DNS_INTERFACE_SETTINGS_VERSION1,
    DNS_SETTING_IPV6, DNS_SETTING_NAMESERVER, DNS_SETTING_SEARCHLIST, SetInterfaceDnsSettings,
};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_ALL_ACCESS, REG_DWORD, REG_MULTI_SZ, REG_OPTION_NON_VOLATILE,
    REG_SZ, RegCloseKey, RegCreateKeyExW, RegDeleteTreeW, RegSetValueExW,
};
use windows_sys::core::GUID;

use crate::dns::DnsConfig;
use crate::error::{Error, Result};
use crate::nrpt::{CONFIG_GENERIC_DNS_SERVERS, NRPT_KEY, NrptRule, RULE_VERSION, multi_sz};
use crate::types::{Family, IpNet, MAIN_TABLE, Route, RouteKind, TunCapabilities};
use crate::{NetworkOs, Tun};

/// The ring size of a wintun session: the largest the driver allows (64 MiB), as
/// WireGuard for Windows uses, so bursts at high rates are not dropped.
const RING_CAPACITY: u32 = wintun::MAX_RING_CAPACITY;

/// How many received packets may wait for the tunnel task before the reader thread
/// waits (and the driver's ring, behind it, fills). Each queued packet keeps its slot in
/// the ring until it is taken: at most about 1.5 MB of the 64 MiB.
const RECEIVE_QUEUE: usize = 1024;

/// The adapters this process created, by name: dropping the last reference (here and
/// in the device's session) closes the handle, and the driver removes the adapter.
fn adapters() -> &'static Mutex<BTreeMap<String, Arc<wintun::Adapter>>> {
    static ADAPTERS: OnceLock<Mutex<BTreeMap<String, Arc<wintun::Adapter>>>> = OnceLock::new();
    ADAPTERS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// A wintun adapter with its session. Packets are received on a thread of its own
/// (wintun's wait is a blocking Win32 event) and handed over through a queue without
/// being copied: what travels is the driver's own receive slot, released back to the
/// ring when the tunnel task has copied the packet into its batch buffer. Sending
/// copies straight into the driver's ring. Neither direction allocates per packet.
pub struct TunDevice {
    name: String,
    session: Arc<wintun::Session>,
    received: tokio::sync::Mutex<mpsc::Receiver<std::io::Result<wintun::Packet>>>,
}

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TunDevice {
    fn tun_error(&self, source: std::io::Error) -> Error {
        Error::Tun {
            name: self.name.clone(),
            source,
        }
    }

    /// Copies a queued packet into `buf`; dropping the packet afterwards hands its slot
    /// back to the driver's ring.
    fn take(
        &self,
        queued: Option<std::io::Result<wintun::Packet>>,
        buf: &mut [u8],
    ) -> Result<usize> {
        match queued {
            Some(Ok(packet)) => {
                let bytes = packet.bytes();
                let room = buf.len();
                let target = buf.get_mut(..bytes.len()).ok_or_else(|| {
                    self.tun_error(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "a packet of {} bytes does not fit a {room}-byte buffer",
                            bytes.len()
                        ),
                    ))
                })?;
                target.copy_from_slice(bytes);
                Ok(bytes.len())
            }
            Some(Err(e)) => Err(self.tun_error(e)),
            None => Err(self.tun_error(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the adapter's session has ended",
            ))),
        }
    }
}

impl Drop for TunDevice {
    fn drop(&mut self) {
        // Wakes the reader thread, which then ends.
        let _ = self.session.shutdown();
    }
}

impl Tun for TunDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> TunCapabilities {
        TunCapabilities::default()
    }

    async fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        let mut received = self.received.lock().await;
        let packet = received.recv().await;
        self.take(packet, buf)
    }

    /// Waits for one packet, then takes whatever else the reader thread has already
    /// queued, up to `bufs.len()`, without waiting again (so it stays cancel-safe: once
    /// the first packet is in, nothing awaits).
    async fn recv_batch(&self, bufs: &mut [&mut [u8]], sizes: &mut [usize]) -> Result<usize> {
        let room = bufs.len().min(sizes.len());
        if room == 0 {
            return Err(Error::Invalid {
                what: "batch buffers",
                detail: "none given".into(),
            });
        }
        let mut received = self.received.lock().await;
        let mut next = received.recv().await;
        let mut count = 0;
        for (buf, size) in bufs.iter_mut().zip(sizes.iter_mut()) {
            *size = self.take(next, buf)?;
            count += 1;
            if count == room {
                break;
            }
            match received.try_recv() {
                Ok(packet) => next = Some(packet),
                Err(_) => break,
            }
        }
        Ok(count)
    }

    async fn send(&self, packet: &[u8]) -> Result<usize> {
        let size = u16::try_from(packet.len()).map_err(|_| Error::Invalid {
            what: "packet",
            detail: format!("{} bytes is larger than an IP packet can be", packet.len()),
        })?;
        let mut slot = self
            .session
            .allocate_send_packet(size)
            .map_err(|e| self.tun_error(wintun_io(e)))?;
        slot.bytes_mut().copy_from_slice(packet);
        self.session.send_packet(slot);
        Ok(packet.len())
    }
}

/// The reader thread: blocks in the driver until a packet arrives or the session is
/// shut down, and queues each packet (the driver's slot itself, not a copy) for
/// [`TunDevice::recv`]. While the queue is full the thread waits and the driver's ring
/// holds what arrives meanwhile.
fn read_packets(
    session: Arc<wintun::Session>,
    queue: mpsc::Sender<std::io::Result<wintun::Packet>>,
) {
    loop {
        match session.receive_blocking() {
            Ok(packet) => {
                if queue.blocking_send(Ok(packet)).is_err() {
                    return;
                }
            }
            Err(wintun::Error::ShuttingDown) => return,
            Err(e) => {
                let _ = queue.blocking_send(Err(wintun_io(e)));
                return;
            }
        }
    }
}

fn wintun_io(e: wintun::Error) -> std::io::Error {
    match e {
        wintun::Error::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// IP Helper and the wintun driver.
#[derive(Clone, Default)]
pub struct OsNetwork {
    wintun: Arc<OnceLock<wintun::Wintun>>,
}

impl std::fmt::Debug for OsNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsNetwork")
            .field("wintun_loaded", &self.wintun.get().is_some())
            .finish()
    }
}

impl OsNetwork {
    /// Nothing to open up front: wintun.dll is loaded when the first adapter is
    /// created, so restoring a crashed run's routes works without it.
    pub fn connect() -> Result<Self> {
        Ok(Self::default())
    }

    /// Where wintun.dll is: `CORRIDOR_WINTUN_DLL`, else beside the running executable.
    fn wintun_path() -> Result<PathBuf> {
        if let Some(path) = std::env::var_os("CORRIDOR_WINTUN_DLL") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(Error::Invalid {
                    what: "CORRIDOR_WINTUN_DLL",
                    detail: format!("{} is not an absolute path", path.display()),
                });
            }
            return Ok(path);
        }
        let exe = std::env::current_exe().map_err(|source| Error::Tun {
            name: "wintun".into(),
            source,
        })?;
        Ok(exe.with_file_name("wintun.dll"))
    }

    fn wintun(&self) -> Result<&wintun::Wintun> {
        if let Some(loaded) = self.wintun.get() {
            return Ok(loaded);
        }
        let path = Self::wintun_path()?;
        if !path.is_file() {
            return Err(Error::Tun {
                name: "wintun".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{} is missing; reinstall Corridor", path.display()),
                ),
            });
        }
        let bytes = std::fs::read(&path).map_err(|source| Error::Tun {
            name: "wintun".into(),
            source,
        })?;
        crate::wintun_pin::check_wintun_dll(&path, &bytes)?;
        // SAFETY: loading runs the DLL's initialisation code. The path is absolute (no
        // search order), its bytes were just checked to be the pinned wintun.dll, the
        // file lies beside corridord.exe in a directory only administrators can write
        // (so it cannot be swapped between the check and the load by anyone who could
        // not load code into the service anyway), and its exports are resolved by the
        // wintun crate against the documented wintun API.
        let loaded = unsafe { wintun::load_from_path(&path) }.map_err(|e| Error::Tun {
            name: "wintun".into(),
            source: std::io::Error::other(format!("cannot load {}: {e}", path.display())),
        })?;
        Ok(self.wintun.get_or_init(|| loaded))
    }
}

impl NetworkOs for OsNetwork {
    type Tun = TunDevice;

    async fn create_tun(&self, name: &str, mtu: u16) -> Result<TunDevice> {
        let tun_err = |source: std::io::Error| Error::Tun {
            name: name.to_string(),
            source,
        };
        let wintun = self.wintun()?;
        let adapter = wintun::Adapter::create(wintun, name, "Corridor", Some(adapter_guid(name)))
            .map_err(|e| tun_err(wintun_io(e)))?;
        let luid = luid_of(name)?.ok_or_else(|| Error::NoSuchInterface(name.to_string()))?;
        set_mtu(luid, AF_INET, mtu)?;
        if mtu >= 1280 {
            set_mtu(luid, AF_INET6, mtu)?;
        }
        let session = Arc::new(
            adapter
                .start_session(RING_CAPACITY)
                .map_err(|e| tun_err(wintun_io(e)))?,
        );
        let (queue, received) = mpsc::channel(RECEIVE_QUEUE);
        let reader = Arc::clone(&session);
        std::thread::Builder::new()
            .name(format!("{name} reader"))
            .spawn(move || read_packets(reader, queue))
            .map_err(tun_err)?;
        adapters()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string(), adapter);
        Ok(TunDevice {
            name: name.to_string(),
            session,
            received: tokio::sync::Mutex::new(received),
        })
    }

    async fn delete_link(&self, name: &str) -> Result<bool> {
        let ours = adapters()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        if ours.is_some() {
            // The adapter goes when its device (holding the session) is dropped too.
            return Ok(true);
        }
        if luid_of(name)?.is_some() {
            // Another process's adapter (a crashed one's is gone with the process).
            tracing::debug!(name, "an adapter of this name belongs to another process");
        }
        Ok(false)
    }

    async fn add_address(&self, device: &str, net: IpNet) -> Result<()> {
        let luid = luid_of(device)?.ok_or_else(|| Error::NoSuchInterface(device.to_string()))?;
        let mut row = MIB_UNICASTIPADDRESS_ROW::default();
        // SAFETY: `row` is a valid, writable row; the call fills in defaults.
        unsafe { InitializeUnicastIpAddressEntry(&mut row) };
        row.InterfaceLuid = luid;
        row.Address = sockaddr_inet(net.addr());
        row.OnLinkPrefixLength = net.prefix();
        row.DadState = IpDadStatePreferred;
        // SAFETY: `row` is initialised above and only read by the call.
        match unsafe { CreateUnicastIpAddressEntry(&row) } {
            0 | ERROR_OBJECT_ALREADY_EXISTS => Ok(()),
            code => Err(os_error(format!("add address {net:?} to {device}"), code)),
        }
    }

    async fn remove_address(&self, device: &str, net: IpNet) -> Result<bool> {
        let Some(luid) = luid_of(device)? else {
            return Ok(false);
        };
        let mut row = MIB_UNICASTIPADDRESS_ROW::default();
        // SAFETY: as in add_address.
        unsafe { InitializeUnicastIpAddressEntry(&mut row) };
        row.InterfaceLuid = luid;
        row.Address = sockaddr_inet(net.addr());
        row.OnLinkPrefixLength = net.prefix();
        // SAFETY: `row` is initialised above and only read by the call.
        match unsafe { DeleteUnicastIpAddressEntry(&row) } {
            0 => Ok(true),
            ERROR_NOT_FOUND | ERROR_FILE_NOT_FOUND => Ok(false),
            code => Err(os_error(
                format!("remove address {net:?} from {device}"),
                code,
            )),
        }
    }

    async fn add_route(&self, route: &Route) -> Result<()> {
        let row = forward_row(route)?
            .ok_or_else(|| Error::NoSuchInterface(route.device.clone().unwrap_or_default()))?;
        // SAFETY: `row` is a fully initialised route row, only read by the call.
        match unsafe { CreateIpForwardEntry2(&row) } {
            0 | ERROR_OBJECT_ALREADY_EXISTS => Ok(()),
            code => Err(os_error(format!("add route {}", describe(route)), code)),
        }
    }

    async fn remove_route(&self, route: &Route) -> Result<bool> {
        let Some(row) = forward_row(route)? else {
            return Ok(false);
        };
        // SAFETY: `row` is a fully initialised route row, only read by the call.
        match unsafe { DeleteIpForwardEntry2(&row) } {
            0 => Ok(true),
            ERROR_NOT_FOUND | ERROR_FILE_NOT_FOUND => Ok(false),
            code => Err(os_error(format!("remove route {}", describe(route)), code)),
        }
    }

    async fn list_routes(&self, family: Family, table: u32) -> Result<Vec<Route>> {
        if table != MAIN_TABLE {
            // Windows has one routing table.
            return Ok(Vec::new());
        }
        let mut raw: *mut MIB_IPFORWARD_TABLE2 = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out pointer; on success it points to a table that
        // must be released with FreeMibTable, which the guard below does.
        let code = unsafe { GetIpForwardTable2(address_family(family), &mut raw) };
        if code != 0 {
            return Err(os_error("list routes".into(), code));
        }
        let table = MibTable(raw);
        // SAFETY: the table holds `NumEntries` rows laid out after its header, valid
        // until FreeMibTable (when `table` drops, after the rows are copied out).
        let rows = unsafe {
            std::slice::from_raw_parts(
                (&raw const (*table.0).Table).cast::<MIB_IPFORWARD_ROW2>(),
                (*table.0).NumEntries as usize,
            )
        };
        Ok(rows.iter().filter_map(route_of).collect())
    }
}

/// A table from IP Helper, released with `FreeMibTable`.
struct MibTable(*mut MIB_IPFORWARD_TABLE2);

impl Drop for MibTable {
    fn drop(&mut self) {
        // SAFETY: the pointer came from GetIpForwardTable2 and is freed once.
        unsafe { FreeMibTable(self.0.cast()) };
    }
}

/// The route row for `route`, or `None` when its interface does not exist.
fn forward_row(route: &Route) -> Result<Option<MIB_IPFORWARD_ROW2>> {
    if route.kind == RouteKind::Unreachable {
        return Err(Error::Unsupported(
            "unreachable routes (the kill switch blocks traffic on Windows)",
        ));
    }
    if route.table_or_main() != MAIN_TABLE {
        return Err(Error::Unsupported("routing tables other than the main one"));
    }
    let device = route.device.as_deref().ok_or_else(|| Error::Invalid {
        what: "route",
        detail: format!("{} names no interface", describe(route)),
    })?;
    let Some(luid) = luid_of(device)? else {
        return Ok(None);
    };
    let mut row = MIB_IPFORWARD_ROW2::default();
    // SAFETY: `row` is a valid, writable row; the call fills in defaults (infinite
    // lifetimes, no loopback, ...).
    unsafe { InitializeIpForwardEntry(&mut row) };
    row.InterfaceLuid = luid;
    row.DestinationPrefix.Prefix = sockaddr_inet(route.destination.addr());
    row.DestinationPrefix.PrefixLength = route.destination.prefix();
    row.NextHop = match route.gateway {
        Some(gateway) => sockaddr_inet(gateway),
        None => sockaddr_inet(unspecified(route.destination.family())),
    };
    row.Metric = route.metric.unwrap_or(0);
    row.Protocol = MIB_IPPROTO_NETMGMT;
    Ok(Some(row))
}

/// The route a row describes, `None` for one of an interface without an alias.
fn route_of(row: &MIB_IPFORWARD_ROW2) -> Option<Route> {
    let destination = ip_of(&row.DestinationPrefix.Prefix)?;
    let destination = IpNet::new(destination, row.DestinationPrefix.PrefixLength).ok()?;
    let gateway = ip_of(&row.NextHop).filter(|ip| !ip.is_unspecified());
    Some(Route {
        destination,
        device: alias_of(row.InterfaceLuid),
        gateway,
        table: None,
        metric: Some(row.Metric),
        kind: RouteKind::Unicast,
    })
}

fn describe(route: &Route) -> String {
    let mut text = format!("{:?}", route.destination);
    if let Some(gateway) = route.gateway {
        text.push_str(&format!(" via {gateway}"));
    }
    if let Some(device) = &route.device {
        text.push_str(&format!(" dev {device}"));
    }
    text
}

fn os_error(op: String, code: WIN32_ERROR) -> Error {
    Error::Os {
        op,
        detail: std::io::Error::from_raw_os_error(i32::try_from(code).unwrap_or(i32::MAX))
            .to_string(),
    }
}

/// The LUID of the interface `alias`, `None` when there is none.
pub(crate) fn luid_of(alias: &str) -> Result<Option<NET_LUID_LH>> {
    let wide: Vec<u16> = alias.encode_utf16().chain(std::iter::once(0)).collect();
    let mut luid = NET_LUID_LH::default();
    // SAFETY: `wide` is NUL-terminated and outlives the call; `luid` is a valid out
    // pointer.
    match unsafe { ConvertInterfaceAliasToLuid(wide.as_ptr(), &mut luid) } {
        0 => Ok(Some(luid)),
        // ERROR_INVALID_PARAMETER is also what an unknown alias answers.
        _ => Ok(None),
    }
}

/// The alias (the name shown in Network Connections) of the interface `luid`.
fn alias_of(luid: NET_LUID_LH) -> Option<String> {
    // IF_MAX_STRING_SIZE + 1
    let mut alias = [0u16; 257];
    // SAFETY: `luid` is read; `alias` is writable for the length passed.
    let code = unsafe { ConvertInterfaceLuidToAlias(&luid, alias.as_mut_ptr(), alias.len()) };
    if code != 0 {
        return None;
    }
    let len = alias.iter().position(|c| *c == 0).unwrap_or(alias.len());
    Some(String::from_utf16_lossy(alias.get(..len)?))
}

/// Sets the interface's MTU for one family.
fn set_mtu(luid: NET_LUID_LH, family: ADDRESS_FAMILY, mtu: u16) -> Result<()> {
    let mut row = MIB_IPINTERFACE_ROW::default();
    // SAFETY: `row` is a valid, writable row.
    unsafe { InitializeIpInterfaceEntry(&mut row) };
    row.Family = family;
    row.InterfaceLuid = luid;
    // SAFETY: `row` names the interface and family; the call fills in the rest.
    let code = unsafe { GetIpInterfaceEntry(&mut row) };
    if code != 0 {
        return Err(os_error(
            format!("read the interface (family {family})"),
            code,
        ));
    }
    row.NlMtu = u32::from(mtu);
    // SetIpInterfaceEntry rejects IPv4 rows whose SitePrefixLength is not 0 (see its
    // documentation's remarks), which GetIpInterfaceEntry may return.
    if family == AF_INET {
        row.SitePrefixLength = 0;
    }
    // SAFETY: `row` is the interface's current row with the MTU changed.
    let code = unsafe { SetIpInterfaceEntry(&mut row) };
    if code != 0 {
        return Err(os_error(
            format!("set the MTU to {mtu} (family {family})"),
            code,
        ));
    }
    Ok(())
}

fn address_family(family: Family) -> ADDRESS_FAMILY {
    match family {
        Family::V4 => AF_INET,
        Family::V6 => AF_INET6,
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// `ip` as the socket address IP Helper rows carry (port 0).
fn sockaddr_inet(ip: IpAddr) -> SOCKADDR_INET {
    match ip {
        IpAddr::V4(v4) => SOCKADDR_INET {
            Ipv4: SOCKADDR_IN {
                sin_family: AF_INET,
                sin_port: 0,
                sin_addr: IN_ADDR {
                    S_un: IN_ADDR_0 {
                        // Network byte order: the octets as they appear in memory.
                        S_addr: u32::from_ne_bytes(v4.octets()),
                    },
                },
                sin_zero: [0; 8],
            },
        },
        IpAddr::V6(v6) => SOCKADDR_INET {
            Ipv6: SOCKADDR_IN6 {
                sin6_family: AF_INET6,
                sin6_addr: IN6_ADDR {
                    u: IN6_ADDR_0 { Byte: v6.octets() },
                },
                ..SOCKADDR_IN6::default()
            },
        },
    }
}

/// The address in a row's socket address; `None` for another family.
fn ip_of(address: &SOCKADDR_INET) -> Option<IpAddr> {
    // SAFETY: every variant of the union starts with the family, so reading it is
    // valid whatever was written; the variant read next is the one it names.
    unsafe {
        match address.si_family {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::from(
                address.Ipv4.sin_addr.S_un.S_addr.to_ne_bytes(),
            ))),
            AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(address.Ipv6.sin6_addr.u.Byte))),
            _ => None,
        }
    }
}

/// A stable GUID for the adapter named `name`, so that Windows sees the same network
/// interface every time (instead of a new "Network 2", "Network 3", ... with default
/// firewall profiles each time), as WireGuard for Windows derives one per tunnel name.
/// FNV-1a over a fixed prefix and the name, shaped as a version 8 (custom) GUID.
fn adapter_guid(name: &str) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for byte in b"corridor adapter\0".iter().chain(name.as_bytes()) {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    // RFC 9562 §5.8: version 8 in bits 48..52, variant 0b10 in bits 64..66.
    (hash & !(0xf << 76) & !(0b11 << 62)) | (0x8 << 76) | (0b10 << 62)
}

/// Sets the tunnel interface's own DNS servers and search list
/// (`SetInterfaceDnsSettings`, Windows 10 2004 and later), once per family. They go
/// with the adapter, so there is nothing to undo.
pub(crate) fn set_interface_dns(interface: &str, config: &DnsConfig) -> Result<()> {
    let luid = luid_of(interface)?.ok_or_else(|| Error::NoSuchInterface(interface.to_string()))?;
    let mut guid = GUID::default();
    // SAFETY: `luid` is read, `guid` is a valid out pointer.
    let code = unsafe { ConvertInterfaceLuidToGuid(&luid, &mut guid) };
    if code != 0 {
        return Err(os_error(format!("find the GUID of {interface}"), code));
    }
    let mut search = wide(&config.search_domains.join(","));
    for (v6, flag) in [(false, 0), (true, DNS_SETTING_IPV6)] {
        let servers: Vec<String> = config
            .servers
            .iter()
            .filter(|s| s.is_ipv6() == v6)
            .map(IpAddr::to_string)
            .collect();
        if servers.is_empty() && v6 {
            continue;
        }
        let mut servers = wide(&servers.join(","));
        let settings = DNS_INTERFACE_SETTINGS {
            Version: DNS_INTERFACE_SETTINGS_VERSION1,
            Flags: u64::from(flag | DNS_SETTING_NAMESERVER | DNS_SETTING_SEARCHLIST),
            NameServer: servers.as_mut_ptr(),
            SearchList: search.as_mut_ptr(),
            ..DNS_INTERFACE_SETTINGS::default()
        };
        // SAFETY: the settings' strings are NUL-terminated buffers alive for the call,
        // which only reads them.
        let code = unsafe { SetInterfaceDnsSettings(guid, &settings) };
        if code != 0 {
            let family = if v6 { "IPv6" } else { "IPv4" };
            return Err(os_error(
                format!("set the {family} DNS servers of {interface}"),
                code,
            ));
        }
    }
    Ok(())
}

/// Writes `rule` under the NRPT key, replacing a rule of the same key.
pub(crate) fn write_nrpt_rule(rule: &NrptRule) -> Result<()> {
    let path = wide(&format!("{NRPT_KEY}\\{}", rule.key));
    let op = || format!("write the DNS policy rule {}", rule.key);
    let mut key: HKEY = std::ptr::null_mut();
    // SAFETY: `path` is NUL-terminated; `key` is a valid out pointer; the class,
    // security attributes and disposition may be null.
    let code = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            path.as_ptr(),
            0,
            std::ptr::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_ALL_ACCESS,
            std::ptr::null(),
            &mut key,
            std::ptr::null_mut(),
        )
    };
    if code != 0 {
        return Err(os_error(op(), code));
    }
    let key = RegKey(key);
    let names = multi_sz(&rule.names);
    let values: [(&str, u32, Vec<u8>); 6] = [
        ("Version", REG_DWORD, RULE_VERSION.to_le_bytes().to_vec()),
        ("Name", REG_MULTI_SZ, utf16_bytes(&names)),
        (
            "GenericDNSServers",
            REG_SZ,
            utf16_bytes(&wide(&rule.servers)),
        ),
        (
            "ConfigOptions",
            REG_DWORD,
            CONFIG_GENERIC_DNS_SERVERS.to_le_bytes().to_vec(),
        ),
        ("IPSECCARestriction", REG_SZ, utf16_bytes(&wide(""))),
        ("Comment", REG_SZ, utf16_bytes(&wide(&rule.comment))),
    ];
    for (name, kind, data) in values {
        let name_w = wide(name);
        let len = u32::try_from(data.len()).map_err(|_| Error::Invalid {
            what: "DNS policy rule",
            detail: format!("{name} is too long"),
        })?;
        // SAFETY: `key` is open for writing; the name is NUL-terminated and `data` is
        // readable for `len` bytes, both alive for the call.
        let code = unsafe { RegSetValueExW(key.0, name_w.as_ptr(), 0, kind, data.as_ptr(), len) };
        if code != 0 {
            return Err(os_error(format!("{} ({name})", op()), code));
        }
    }
    Ok(())
}

/// Deletes the NRPT rule `key`; `Ok(false)` when there is none.
pub(crate) fn delete_nrpt_rule(key: &str) -> Result<bool> {
    let path = wide(&format!("{NRPT_KEY}\\{key}"));
    // SAFETY: `path` is NUL-terminated and alive for the call.
    match unsafe { RegDeleteTreeW(HKEY_LOCAL_MACHINE, path.as_ptr()) } {
        0 => Ok(true),
        ERROR_FILE_NOT_FOUND => Ok(false),
        code => Err(os_error(format!("delete the DNS policy rule {key}"), code)),
    }
}

/// An open registry key, closed on drop.
struct RegKey(HKEY);

impl Drop for RegKey {
    fn drop(&mut self) {
        // SAFETY: the key was opened by this module and is closed once.
        unsafe { RegCloseKey(self.0) };
    }
}

/// `s` as a NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// UTF-16 code units as the little-endian bytes the registry stores.
fn utf16_bytes(units: &[u16]) -> Vec<u8> {
    units.iter().flat_map(|u| u.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip() {
        for ip in [
            "198.18.0.1".parse::<IpAddr>().unwrap(),
            "0.0.0.0".parse().unwrap(),
            "fd00::1:2".parse().unwrap(),
            "::".parse().unwrap(),
        ] {
            assert_eq!(ip_of(&sockaddr_inet(ip)), Some(ip));
        }
        let v4 = sockaddr_inet("198.18.0.1".parse().unwrap());
        // SAFETY: written as IPv4 just above.
        let raw = unsafe { v4.Ipv4.sin_addr.S_un.S_addr };
        assert_eq!(raw.to_ne_bytes(), [198, 18, 0, 1]);
    }

    #[test]
    fn adapter_guids_are_stable_per_name_and_well_formed() {
        let a = adapter_guid("corridor0");
        assert_eq!(a, adapter_guid("corridor0"));
        assert_ne!(a, adapter_guid("corridor1"));
        assert_eq!((a >> 76) & 0xf, 8, "version");
        assert_eq!((a >> 62) & 0b11, 0b10, "variant");
    }

    #[test]
    fn routes_that_windows_cannot_express_are_refused_by_name() {
        let net = IpNet::new("198.18.0.0".parse().unwrap(), 15).unwrap();
        let Err(err) = forward_row(&Route::unreachable(net)) else {
            panic!("an unreachable route was accepted");
        };
        assert!(matches!(err, Error::Unsupported(_)), "{err}");
        let mut other_table = Route::via_device(net, "corridor0");
        other_table.table = Some(100);
        assert!(matches!(
            forward_row(&other_table),
            Err(Error::Unsupported(_))
        ));
        let mut no_device = Route::via_device(net, "x");
        no_device.device = None;
        let Err(err) = forward_row(&no_device) else {
            panic!("a route without an interface was accepted");
        };
        assert!(err.to_string().contains("names no interface"), "{err}");
    }

    #[test]
    fn a_missing_interface_is_nothing_to_remove() {
        let os = OsNetwork::connect().unwrap();
        let net = IpNet::new("198.18.0.0".parse().unwrap(), 15).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let route = Route::via_device(net, "no such corridor adapter");
            assert!(!os.remove_route(&route).await.unwrap());
            assert!(
                !os.remove_address("no such corridor adapter", net)
                    .await
                    .unwrap()
            );
            assert!(!os.delete_link("no such corridor adapter").await.unwrap());
        });
    }

    #[test]
    fn the_routing_table_reads() {
        let os = OsNetwork::connect().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let routes = rt.block_on(os.list_routes(Family::V4, MAIN_TABLE)).unwrap();
        for route in &routes {
            assert_eq!(route.destination.family(), Family::V4);
        }
        assert!(
            rt.block_on(os.list_routes(Family::V4, 100))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nrpt_rules_are_written_and_removed_in_the_registry() {
        use windows_sys::Win32::System::Registry::{RRF_RT_ANY, RegGetValueW};
        let rule = NrptRule {
            key: "{Corridor-test0}".into(),
            names: vec![".corp.example".into()],
            servers: "198.18.2.53;fd00::53".into(),
            comment: "Corridor VPN: test".into(),
        };
        write_nrpt_rule(&rule).unwrap();
        let path = wide(&format!("{NRPT_KEY}\\{}", rule.key));
        let read = |value: &str| {
            let mut data = [0u16; 128];
            let mut len = u32::try_from(std::mem::size_of_val(&data)).unwrap();
            let mut kind = 0;
            let name = wide(value);
            // SAFETY: all pointers are valid for the call; `len` is the buffer size.
            let code = unsafe {
                RegGetValueW(
                    HKEY_LOCAL_MACHINE,
                    path.as_ptr(),
                    name.as_ptr(),
                    RRF_RT_ANY,
                    &mut kind,
                    data.as_mut_ptr().cast(),
                    &mut len,
                )
            };
            assert_eq!(code, 0, "{value}");
            (kind, data[..len as usize / 2].to_vec())
        };
        let (kind, name) = read("Name");
        assert_eq!(kind, REG_MULTI_SZ);
        assert_eq!(String::from_utf16(&name).unwrap(), ".corp.example\0\0");
        let (kind, servers) = read("GenericDNSServers");
        assert_eq!(kind, REG_SZ);
        assert_eq!(
            String::from_utf16(&servers).unwrap(),
            "198.18.2.53;fd00::53\0"
        );
        let (kind, options) = read("ConfigOptions");
        assert_eq!((kind, options), (REG_DWORD, vec![8, 0]));
        assert!(delete_nrpt_rule(&rule.key).unwrap());
        assert!(!delete_nrpt_rule(&rule.key).unwrap());
    }
}
