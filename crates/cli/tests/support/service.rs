//! The corridord server code on a private socket, in this test process: for the CLI
//! tests that need a real service but no tunnel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use corridor_service::connections::{Connections, ConnectionsConfig};
use corridor_service::events::Hub;
use corridor_service::profiles::Profiles;
use corridor_service::server::{ServerConfig, Service, bind, serve};

/// Serves `profiles` (and `hub`'s log lines) on `dir/corridord.sock` from its own thread
/// until the test process ends; members of `group` are let in besides root. Returns
/// the socket once it accepts connections.
pub fn start_service(dir: &Path, group: Option<u32>, profiles: Profiles, hub: Hub) -> PathBuf {
    let socket = dir.join("corridord.sock");
    let config = ServerConfig {
        socket: socket.clone(),
        group,
    };
    let connections = Connections::new(
        ConnectionsConfig {
            run_dir: dir.join("run"),
            host: corridor_connection::HostOptions::default(),
        },
        hub.clone(),
    );
    let service = Arc::new(Service {
        profiles,
        hub,
        connections,
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = bind(&config).await.unwrap();
            ready_tx.send(()).unwrap();
            serve(listener, config, service, std::future::pending()).await;
        });
    });
    ready_rx.recv().unwrap();
    socket
}
