//! A userspace UDP relay that delays, jitters, reorders and drops datagrams, for a kernel
//! without netem.
//!
//! `lab relay` listens on a set of addresses and forwards each to an upstream address
//! (in the lab: relay address ports 500 and 4500 to the gateway's). Every client flow
//! (listening socket plus client address) gets its own upstream socket, so the gateway
//! sees the relay as a NAT. Each datagram, in either direction, is scheduled
//! `delay + uniform(0, jitter)` later; with probability `reorder` it is held back a
//! further `reorder_gap` so that later datagrams overtake it; with probability `loss` it
//! is dropped. All random draws come from one ChaCha8 generator seeded on the command line
//! and are taken in arrival order, so a run is repeatable as far as arrival order is.
//!
//! Settings change at run time: the relay reads JSON [`RelaySettings`] from a Unix
//! datagram control socket ([`send_settings`]).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How the relay treats datagrams. All zero: forward at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySettings {
    /// Fixed delay in milliseconds, each direction.
    pub delay_ms: u32,
    /// Extra random delay, uniform in 0..=jitter_ms.
    pub jitter_ms: u32,
    /// Datagrams per thousand held back by `reorder_gap_ms` so that later ones overtake.
    pub reorder_permille: u16,
    /// How long a reordered datagram is held back (0 means 10 ms).
    pub reorder_gap_ms: u32,
    /// Datagrams per thousand dropped.
    pub loss_permille: u16,
}

impl RelaySettings {
    fn validate(&self) -> Result<()> {
        if self.reorder_permille > 1000 || self.loss_permille > 1000 {
            bail!("relay rates are per thousand (0-1000): {self:?}");
        }
        if self.delay_ms > 60_000 || self.jitter_ms > 60_000 || self.reorder_gap_ms > 60_000 {
            bail!("relay delays above 60 s are not supported: {self:?}");
        }
        Ok(())
    }

    fn is_passthrough(&self) -> bool {
        *self == Self::default()
    }
}

/// Everything `lab relay` needs.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Listening address and the upstream address it forwards to.
    pub maps: Vec<(SocketAddr, SocketAddr)>,
    /// Initial settings.
    pub settings: RelaySettings,
    /// Seed of the random generator.
    pub seed: u64,
    /// Unix datagram socket to receive new settings on.
    pub control: Option<PathBuf>,
}

/// A datagram waiting for its time.
struct Scheduled {
    due: Instant,
    seq: u64,
    socket: Arc<UdpSocket>,
    to: Option<SocketAddr>,
    data: Vec<u8>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

struct Queue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    rng: ChaCha8Rng,
    seq: u64,
    settings: RelaySettings,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops, sends at once, or schedules one datagram according to the settings.
    fn submit(&self, socket: &Arc<UdpSocket>, to: Option<SocketAddr>, data: &[u8]) {
        let mut q = self.lock();
        let s = q.settings;
        if s.is_passthrough() {
            drop(q);
            send(socket, to, data);
            return;
        }
        if s.loss_permille > 0 && q.rng.random_range(0..1000) < u32::from(s.loss_permille) {
            return;
        }
        let mut delay = u64::from(s.delay_ms);
        if s.jitter_ms > 0 {
            delay += q.rng.random_range(0..=u64::from(s.jitter_ms));
        }
        if s.reorder_permille > 0 && q.rng.random_range(0..1000) < u32::from(s.reorder_permille) {
            delay += u64::from(if s.reorder_gap_ms == 0 {
                10
            } else {
                s.reorder_gap_ms
            });
        }
        q.seq += 1;
        let item = Scheduled {
            due: Instant::now() + Duration::from_millis(delay),
            seq: q.seq,
            socket: Arc::clone(socket),
            to,
            data: data.to_vec(),
        };
        q.heap.push(Reverse(item));
        drop(q);
        self.ready.notify_one();
    }

    /// Sends scheduled datagrams when they are due; runs forever.
    fn sender_loop(&self) {
        let mut q = self.lock();
        loop {
            let now = Instant::now();
            let wait = match q.heap.peek() {
                None => None,
                Some(Reverse(top)) if top.due <= now => Some(Duration::ZERO),
                Some(Reverse(top)) => Some(top.due - now),
            };
            match wait {
                Some(Duration::ZERO) => {
                    if let Some(Reverse(item)) = q.heap.pop() {
                        drop(q);
                        send(&item.socket, item.to, &item.data);
                        q = self.lock();
                    }
                }
                Some(d) => {
                    q = self
                        .ready
                        .wait_timeout(q, d)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
                None => {
                    q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }
}

fn send(socket: &UdpSocket, to: Option<SocketAddr>, data: &[u8]) {
    let result = match to {
        Some(addr) => socket.send_to(data, addr),
        None => socket.send(data),
    };
    if let Err(e) = result {
        eprintln!("relay: send failed: {e}");
    }
}

/// Runs the relay until the process is stopped.
pub fn run(config: RelayConfig) -> Result<()> {
    config.settings.validate()?;
    if config.maps.is_empty() {
        bail!("the relay needs at least one --map LISTEN=UPSTREAM");
    }
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            heap: BinaryHeap::new(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            seq: 0,
            settings: config.settings,
        }),
        ready: Condvar::new(),
    });
    let mut listeners = Vec::new();
    for (listen, upstream) in &config.maps {
        let socket = UdpSocket::bind(listen).with_context(|| format!("binding {listen}"))?;
        listeners.push((Arc::new(socket), *listen, *upstream));
    }
    if let Some(path) = &config.control {
        let control = bind_control(path)?;
        let shared = Arc::clone(&shared);
        thread::spawn(move || control_loop(&control, &shared));
    }
    {
        let shared = Arc::clone(&shared);
        thread::spawn(move || shared.sender_loop());
    }
    eprintln!(
        "relay: seed {}, settings {:?}, maps {}",
        config.seed,
        config.settings,
        config
            .maps
            .iter()
            .map(|(l, u)| format!("{l}={u}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut threads = Vec::new();
    for (socket, listen, upstream) in listeners {
        let shared = Arc::clone(&shared);
        threads.push(thread::spawn(move || {
            listen_loop(&socket, listen, upstream, &shared)
        }));
    }
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => bail!("a relay thread panicked"),
        }
    }
    Ok(())
}

/// Receives from clients on one listening socket and forwards through per-client flows.
fn listen_loop(
    socket: &Arc<UdpSocket>,
    listen: SocketAddr,
    upstream: SocketAddr,
    shared: &Arc<Shared>,
) -> Result<()> {
    let mut flows: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, client) = socket
            .recv_from(&mut buf)
            .with_context(|| format!("receiving on {listen}"))?;
        let flow = match flows.get(&client) {
            Some(flow) => Arc::clone(flow),
            None => {
                let flow = open_flow(socket, listen, upstream, client, shared)?;
                flows.insert(client, Arc::clone(&flow));
                flow
            }
        };
        shared.submit(&flow, None, &buf[..n]);
    }
}

/// A new upstream socket for `client`, with a thread carrying answers back.
fn open_flow(
    listener: &Arc<UdpSocket>,
    listen: SocketAddr,
    upstream: SocketAddr,
    client: SocketAddr,
    shared: &Arc<Shared>,
) -> Result<Arc<UdpSocket>> {
    let flow = UdpSocket::bind(SocketAddr::new(listen.ip(), 0))
        .with_context(|| format!("binding an upstream socket on {}", listen.ip()))?;
    flow.connect(upstream)
        .with_context(|| format!("connecting to {upstream}"))?;
    let flow = Arc::new(flow);
    let local = flow.local_addr().map(|a| a.to_string()).unwrap_or_default();
    eprintln!("relay: new flow {client} -> {listen} -> {local} -> {upstream}");
    let back = Arc::clone(&flow);
    let listener = Arc::clone(listener);
    let shared = Arc::clone(shared);
    thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match back.recv(&mut buf) {
                Ok(n) => shared.submit(&listener, Some(client), &buf[..n]),
                // ICMP port unreachable from upstream surfaces here; keep going.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => {
                    eprintln!("relay: flow {client}: {e}");
                    return;
                }
            }
        }
    });
    Ok(flow)
}

fn bind_control(path: &Path) -> Result<UnixDatagram> {
    let _ = std::fs::remove_file(path);
    UnixDatagram::bind(path)
        .with_context(|| format!("binding the control socket {}", path.display()))
}

fn control_loop(control: &UnixDatagram, shared: &Shared) {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match control.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("relay: control socket: {e}");
                return;
            }
        };
        match serde_json::from_slice::<RelaySettings>(&buf[..n]) {
            Ok(settings) if settings.validate().is_ok() => {
                shared.lock().settings = settings;
                eprintln!("relay: new settings {settings:?}");
            }
            Ok(settings) => eprintln!("relay: refused settings {settings:?}"),
            Err(e) => eprintln!("relay: bad control message: {e}"),
        }
    }
}

/// Sends new settings to a running relay's control socket.
pub fn send_settings(control: &Path, settings: &RelaySettings) -> Result<()> {
    settings.validate()?;
    let message = serde_json::to_vec(settings).context("encoding relay settings")?;
    let socket = UnixDatagram::unbound().context("opening a Unix datagram socket")?;
    socket
        .send_to(&message, control)
        .with_context(|| format!("sending settings to {}", control.display()))?;
    Ok(())
}

/// Parses a `LISTEN=UPSTREAM` mapping such as `198.18.0.2:500=198.18.0.1:500`.
pub fn parse_map(s: &str) -> Result<(SocketAddr, SocketAddr)> {
    let Some((listen, upstream)) = s.split_once('=') else {
        bail!("'{s}' is not LISTEN=UPSTREAM");
    };
    let listen = listen
        .parse()
        .with_context(|| format!("'{listen}' is not an address:port"))?;
    let upstream = upstream
        .parse()
        .with_context(|| format!("'{upstream}' is not an address:port"))?;
    Ok((listen, upstream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(settings: RelaySettings, seed: u64) -> (SocketAddr, UdpSocket, PathBuf) {
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        let listen = probe.local_addr().unwrap();
        drop(probe);
        let control =
            std::env::temp_dir().join(format!("lab-relay-test-{}-{seed}", std::process::id()));
        let config = RelayConfig {
            maps: vec![(listen, upstream_addr)],
            settings,
            seed,
            control: Some(control.clone()),
        };
        thread::spawn(move || run(config));
        thread::sleep(Duration::from_millis(100));
        (listen, upstream, control)
    }

    #[test]
    fn forwards_both_ways_with_delay() {
        let settings = RelaySettings {
            delay_ms: 30,
            ..Default::default()
        };
        let (listen, upstream, control) = start(settings, 1);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        upstream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let t0 = Instant::now();
        client.send_to(b"ping", listen).unwrap();
        let mut buf = [0u8; 16];
        let (n, flow) = upstream.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert!(t0.elapsed() >= Duration::from_millis(30));
        upstream.send_to(b"pong", flow).unwrap();
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"pong");
        assert_eq!(from, listen);
        assert!(t0.elapsed() >= Duration::from_millis(60));

        // Full loss through the control socket: nothing arrives any more.
        send_settings(
            &control,
            &RelaySettings {
                loss_permille: 1000,
                ..Default::default()
            },
        )
        .unwrap();
        thread::sleep(Duration::from_millis(100));
        client.send_to(b"lost", listen).unwrap();
        upstream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        assert!(upstream.recv_from(&mut buf).is_err());
        let _ = std::fs::remove_file(control);
    }

    #[test]
    fn reordering_lets_later_datagrams_overtake() {
        let settings = RelaySettings {
            reorder_permille: 500,
            reorder_gap_ms: 50,
            ..Default::default()
        };
        let (listen, upstream, control) = start(settings, 7);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        upstream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        for i in 0u8..40 {
            client.send_to(&[i], listen).unwrap();
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 4];
        for _ in 0..40 {
            let (n, _) = upstream.recv_from(&mut buf).unwrap();
            assert_eq!(n, 1);
            got.push(buf[0]);
        }
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0u8..40).collect::<Vec<_>>(),
            "nothing lost or duplicated"
        );
        assert_ne!(got, sorted, "some datagrams were reordered");
        let _ = std::fs::remove_file(control);
    }

    #[test]
    fn maps_parse() {
        let (l, u) = parse_map("198.18.0.2:500=198.18.0.1:500").unwrap();
        assert_eq!(l.port(), 500);
        assert_eq!(u.to_string(), "198.18.0.1:500");
        assert!(parse_map("[fd00:18::2]:4500=[fd00:18::1]:4500").is_ok());
        assert!(parse_map("nonsense").is_err());
    }
}
