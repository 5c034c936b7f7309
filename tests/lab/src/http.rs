//! A tiny HTTP/1.1 server and client, enough to prove that TCP flows through a tunnel.
//!
//! The server (`lab http-serve`) answers every request, whatever the path or method, with
//! `200 OK` and a fixed plain-text page, then closes the connection. The client sends one
//! GET and reads the whole response. Both use only `std::net`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// How long a connection may take to send its request or read the response.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The most request header bytes the server reads before answering anyway.
const MAX_REQUEST: usize = 16 * 1024;

/// Serves `body` on every address in `addrs` until the process is stopped.
pub fn serve(addrs: &[SocketAddr], body: &str) -> Result<()> {
    if addrs.is_empty() {
        bail!("http-serve needs at least one --addr");
    }
    let mut threads = Vec::new();
    for addr in addrs {
        let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        let body = body.to_string();
        threads.push(thread::spawn(move || accept_loop(&listener, &body)));
    }
    eprintln!(
        "http-serve: listening on {}",
        addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn accept_loop(listener: &TcpListener, body: &str) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let body = body.to_string();
        thread::spawn(move || {
            if let Err(e) = answer(stream, &body) {
                eprintln!("http-serve: {e:#}");
            }
        });
    }
}

/// Reads the request head (up to a blank line) and answers `200 OK` with `body`.
fn answer(mut stream: TcpStream, body: &str) -> Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 2048];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buf).context("reading the request")?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let first_line = String::from_utf8_lossy(&request)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    eprintln!("http-serve: {peer} {first_line}");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(response.as_bytes())
        .context("writing the response")?;
    Ok(())
}

/// A parsed HTTP response.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Sends `GET path` to `addr` from the calling thread's network namespace.
pub fn get(addr: SocketAddr, path: &str) -> Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("sending a request to {addr}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the response from {addr}"))?;
    parse_response(&raw).with_context(|| format!("response from {addr}"))
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse> {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("no end of headers in {} bytes", raw.len());
    };
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .with_context(|| format!("bad status line '{status_line}'"))?;
    Ok(HttpResponse {
        status,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_answers_any_path() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || accept_loop(&listener, "hello lab\n"));
        let resp = get(addr, "/any/path?x=1").unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, "hello lab\n");
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse_response(b"nonsense").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }
}
