//! Batched I/O on the NAT-T socket: one system call receives many datagrams
//! (`recvmmsg`, with the kernel coalescing datagrams of a flow into one buffer,
//! `UDP_GRO`) and one sends a run of equal-size datagrams to one client (UDP generic
//! segmentation offload). quinn-udp owns the system calls and falls back to one
//! datagram per call where the kernel lacks either.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::ops::Range;

use corridor_esp::gso_runs;
use quinn_udp::{BATCH_SIZE, RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Room for one receive buffer: the largest UDP payload, which is also the most the
/// kernel coalesces into one buffer.
const SLOT: usize = 65_536;

/// The NAT-T socket with batched I/O switched on.
pub(crate) struct NatT {
    socket: UdpSocket,
    state: UdpSocketState,
}

impl std::fmt::Debug for NatT {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatT")
            .field("socket", &self.socket)
            .field("gso_segments", &self.state.max_gso_segments())
            .field("gro_segments", &self.state.gro_segments())
            .finish()
    }
}

/// Datagrams of one batched receive, in buffers allocated once.
pub(crate) struct Received {
    storage: Vec<u8>,
    meta: [RecvMeta; BATCH_SIZE],
    /// Where each datagram came from and where it lies in [`Received::storage_mut`].
    pub(crate) datagrams: Vec<(SocketAddr, Range<usize>)>,
}

impl Received {
    pub(crate) fn new() -> Self {
        Self {
            storage: vec![0; SLOT * BATCH_SIZE],
            meta: [RecvMeta::default(); BATCH_SIZE],
            datagrams: Vec::with_capacity(BATCH_SIZE),
        }
    }

    /// The buffer the datagrams lie in.
    pub(crate) fn storage(&self) -> &[u8] {
        &self.storage
    }

    /// The buffer and the datagrams' places in it, for in-place work.
    pub(crate) fn parts_mut(&mut self) -> (&mut [u8], &[(SocketAddr, Range<usize>)]) {
        (&mut self.storage, &self.datagrams)
    }
}

/// What a batched send did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) datagrams: usize,
    pub(crate) errors: usize,
}

impl NatT {
    /// Switches `socket` to batched I/O.
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
        let state = UdpSocketState::new(UdpSockRef::from(&socket))?;
        tracing::debug!(
            gso_segments = state.max_gso_segments(),
            gro_segments = state.gro_segments(),
            "batched I/O on the NAT-T socket"
        );
        Ok(Self { socket, state })
    }

    /// The socket, for single datagrams (IKE replies).
    pub(crate) fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Waits until a receive may succeed.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// Reads what is queued without waiting (one system call) into `rx`, splitting
    /// coalesced buffers into their datagrams. Returns how many datagrams;
    /// `WouldBlock` when nothing was queued.
    pub(crate) fn try_recv(&self, rx: &mut Received) -> io::Result<usize> {
        rx.datagrams.clear();
        let received = {
            let mut chunks = rx.storage.chunks_exact_mut(SLOT);
            let mut slices: [IoSliceMut<'_>; BATCH_SIZE] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            let (state, meta, socket) = (&self.state, &mut rx.meta, &self.socket);
            socket.try_io(Interest::READABLE, || {
                state.recv(UdpSockRef::from(socket), &mut slices, meta)
            })?
        };
        for (i, meta) in rx.meta.iter().enumerate().take(received) {
            let start = i * SLOT;
            let len = meta.len.min(SLOT);
            // Without coalescing the stride is the whole buffer.
            let stride = if meta.stride == 0 {
                len.max(1)
            } else {
                meta.stride
            };
            let mut at = 0;
            while at < len {
                let end = (at + stride).min(len);
                rx.datagrams.push((meta.addr, start + at..start + end));
                at = end;
            }
        }
        Ok(rx.datagrams.len())
    }

    /// Sends the datagrams at `segments` of `bytes` (back to back) to `destination`,
    /// one system call per run of equal-size datagrams. A refused segmented send (a
    /// device without segmentation) is repeated one datagram at a time; quinn-udp stops
    /// segmenting from then on.
    pub(crate) async fn send(
        &self,
        destination: SocketAddr,
        bytes: &[u8],
        segments: &[Range<usize>],
    ) -> Sent {
        let mut sent = Sent::default();
        for run in gso_runs(segments, self.state.max_gso_segments().max(1)) {
            let contents = bytes.get(run.bytes.clone()).unwrap_or_default();
            match self
                .send_one(destination, contents, (run.count > 1).then_some(run.size))
                .await
            {
                Ok(()) => sent.datagrams += run.count,
                Err(e) if run.count > 1 && self.state.max_gso_segments() <= 1 => {
                    tracing::debug!(error = %e, "segmented send refused; one by one");
                    for datagram in contents.chunks(run.size) {
                        match self.send_one(destination, datagram, None).await {
                            Ok(()) => sent.datagrams += 1,
                            Err(_) => sent.errors += 1,
                        }
                    }
                }
                Err(e) => {
                    tracing::trace!(error = %e, datagrams = run.count, "ESP send failed");
                    sent.errors += run.count;
                }
            }
        }
        sent
    }

    async fn send_one(
        &self,
        destination: SocketAddr,
        contents: &[u8],
        segment_size: Option<usize>,
    ) -> io::Result<()> {
        let transmit = Transmit {
            destination,
            ecn: None,
            contents,
            segment_size,
            src_ip: None,
        };
        self.socket
            .async_io(Interest::WRITABLE, || {
                self.state
                    .try_send(UdpSockRef::from(&self.socket), &transmit)
            })
            .await
    }
}
