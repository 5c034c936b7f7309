//! Systems without an implementation yet: everything builds and every operation
//! answers [`Error::Unsupported`].

use crate::error::{Error, Result};
use crate::types::{Family, IpNet, Route, TunCapabilities};
use crate::{NetworkOs, Tun};

/// No TUN device can exist here; the type has no values.
#[derive(Debug)]
pub enum TunDevice {}

impl Tun for TunDevice {
    fn name(&self) -> &str {
        match *self {}
    }
    fn capabilities(&self) -> TunCapabilities {
        match *self {}
    }
    async fn recv(&self, _buf: &mut [u8]) -> Result<usize> {
        match *self {}
    }
    async fn send(&self, _packet: &[u8]) -> Result<usize> {
        match *self {}
    }
}

/// Placeholder network layer.
#[derive(Debug, Clone)]
pub struct OsNetwork;

impl OsNetwork {
    /// Always fails: nothing to connect to.
    pub fn connect() -> Result<Self> {
        Err(Error::Unsupported("network configuration"))
    }
}

impl NetworkOs for OsNetwork {
    type Tun = TunDevice;
    async fn create_tun(&self, _name: &str, _mtu: u16) -> Result<TunDevice> {
        Err(Error::Unsupported("TUN device"))
    }
    async fn delete_link(&self, _name: &str) -> Result<bool> {
        Err(Error::Unsupported("interface removal"))
    }
    async fn add_address(&self, _device: &str, _net: IpNet) -> Result<()> {
        Err(Error::Unsupported("address assignment"))
    }
    async fn remove_address(&self, _device: &str, _net: IpNet) -> Result<bool> {
        Err(Error::Unsupported("address removal"))
    }
    async fn add_route(&self, _route: &Route) -> Result<()> {
        Err(Error::Unsupported("routes"))
    }
    async fn remove_route(&self, _route: &Route) -> Result<bool> {
        Err(Error::Unsupported("routes"))
    }
    async fn list_routes(&self, _family: Family, _table: u32) -> Result<Vec<Route>> {
        Err(Error::Unsupported("routes"))
    }
}
