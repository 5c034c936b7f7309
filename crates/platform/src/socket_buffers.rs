//! Socket buffers big enough for a tunnel's bursts.
//!
//! ESP datagrams arrive in bursts: a TCP sender inside the tunnel pushes out whole
//! windows, and the gateway's side batches them further. The OS default receive buffer
//! (208 KiB on Linux) holds about a hundred full-size datagrams, well under a
//! millisecond at gigabit rates; when the tunnel's task is descheduled for longer, the
//! kernel drops what does not fit (`UdpRcvbufErrors`) and every TCP flow inside the
//! tunnel takes the loss for congestion and slows down. Measured in the lab before
//! this existed: 12 % of the datagrams of a download dropped at the client's socket.
//!
//! So the tunnel's UDP socket asks for [`TUNNEL_SOCKET_BUFFER`] each way. A buffer is
//! only memory while datagrams wait in it, so a large one costs nothing at rest.

use std::io;

use socket2::SockRef;

/// What the tunnel's UDP socket asks for, each way. Linux counts a buffer at twice the
/// size asked for (the other half is its bookkeeping), so it accounts 8 MiB there.
pub const TUNNEL_SOCKET_BUFFER: usize = 4 << 20;

/// The buffer sizes a socket ended up with, as the OS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketBuffers {
    /// Bytes of received datagrams the socket can hold.
    pub receive: usize,
    /// Bytes of datagrams waiting to be sent it can hold.
    pub send: usize,
}

/// Grows `socket`'s receive and send buffers to `bytes` each, or as close to it as the
/// OS allows; never shrinks them. Returns the sizes the socket has afterwards.
///
/// On Linux a privileged process (`CAP_NET_ADMIN`, as the service is) passes the
/// system-wide ceiling (`net.core.rmem_max`, `wmem_max`) with `SO_RCVBUFFORCE`; else
/// the ceiling applies (Linux silently caps at it; macOS refuses a size above
/// `kern.ipc.maxsockbuf`, so the request halves until the OS accepts it).
///
/// # Errors
/// The OS refused to report a socket's buffer sizes (the socket is not a socket).
pub fn enlarge_socket_buffers(
    socket: &tokio::net::UdpSocket,
    bytes: usize,
) -> io::Result<SocketBuffers> {
    let sock = SockRef::from(socket);
    let before = SocketBuffers {
        receive: sock.recv_buffer_size()?,
        send: sock.send_buffer_size()?,
    };
    if before.receive < bytes {
        grow(bytes, before.receive, |size| {
            forced(socket, Direction::Receive, size).or_else(|_| sock.set_recv_buffer_size(size))
        });
    }
    if before.send < bytes {
        grow(bytes, before.send, |size| {
            forced(socket, Direction::Send, size).or_else(|_| sock.set_send_buffer_size(size))
        });
    }
    Ok(SocketBuffers {
        receive: sock.recv_buffer_size()?,
        send: sock.send_buffer_size()?,
    })
}

/// Asks `set` for `bytes`, halving on refusal while that stays above `current`.
fn grow(mut bytes: usize, current: usize, mut set: impl FnMut(usize) -> io::Result<()>) {
    while bytes > current {
        match set(bytes) {
            Ok(()) => return,
            Err(e) => {
                tracing::trace!(error = %e, bytes, "socket buffer size refused");
                bytes /= 2;
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Receive,
    Send,
}

/// `SO_RCVBUFFORCE` / `SO_SNDBUFFORCE`: past the system-wide ceiling, for a privileged
/// process.
#[cfg(target_os = "linux")]
fn forced(socket: &tokio::net::UdpSocket, direction: Direction, bytes: usize) -> io::Result<()> {
    use nix::sys::socket::{setsockopt, sockopt};
    match direction {
        Direction::Receive => setsockopt(socket, sockopt::RcvBufForce, &bytes),
        Direction::Send => setsockopt(socket, sockopt::SndBufForce, &bytes),
    }
    .map_err(io::Error::from)
}

/// Other systems have no way past the ceiling.
#[cfg(not(target_os = "linux"))]
fn forced(_socket: &tokio::net::UdpSocket, _direction: Direction, _bytes: usize) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buffers_grow_and_never_shrink() {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let before = SockRef::from(&socket).recv_buffer_size().unwrap();
        let after = enlarge_socket_buffers(&socket, 2 * before).unwrap();
        // Unprivileged, the system-wide ceiling may stop it short of the request, but
        // it never ends below where it started.
        assert!(after.receive >= before);
        let again = enlarge_socket_buffers(&socket, 1024).unwrap();
        assert_eq!(again, after, "a smaller request changes nothing");
    }

    #[test]
    fn a_refused_size_is_halved_until_accepted() {
        let mut asked = Vec::new();
        grow(1 << 20, 1 << 16, |size| {
            asked.push(size);
            if size > 1 << 18 {
                Err(io::Error::from(io::ErrorKind::InvalidInput))
            } else {
                Ok(())
            }
        });
        assert_eq!(asked, [1 << 20, 1 << 19, 1 << 18]);

        // Never below the current size.
        asked.clear();
        grow(1 << 20, 1 << 19, |size| {
            asked.push(size);
            Err(io::Error::from(io::ErrorKind::InvalidInput))
        });
        assert_eq!(asked, [1 << 20]);
    }
}
