//! Windows: the kill switch's filters ([`crate::wfp_rules`]) added to the Windows
//! Filtering Platform through the base filtering engine's user-mode API.
//!
//! The engine is opened with a dynamic session. Microsoft, `FWPM_SESSION0`:
//! "FWPM_SESSION_FLAG_DYNAMIC: When this flag is set, any objects added during the
//! session are automatically deleted when the session ends." A session ends when its
//! engine handle is closed, and the engine closes the handles of a process that exits
//! or crashes, so the filters can never outlive corridord by accident: no journal entry
//! is needed, and dropping [`WfpSession`] removes them. The sublayer and every filter
//! are added in one transaction ("FwpmTransactionBegin0... all changes made within the
//! transaction are committed or aborted together"), so the host never runs with half
//! of them.

// The filtering engine has no safe wrapper among the chosen dependencies; each unsafe
// block states why it is sound.
#![allow(unsafe_code)]

use std::net::IpAddr;
use std::ptr;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::NetworkManagement::WindowsFilteringPlatform::{
    FWP_ACTION_BLOCK, FWP_ACTION_PERMIT, FWP_ACTION_TYPE, FWP_CONDITION_FLAG_IS_LOOPBACK,
    FWP_CONDITION_VALUE0, FWP_CONDITION_VALUE0_0, FWP_DATA_TYPE, FWP_MATCH_EQUAL,
    FWP_MATCH_FLAGS_ALL_SET, FWP_MATCH_TYPE, FWP_UINT8, FWP_UINT16, FWP_UINT32, FWP_UINT64,
    FWP_V4_ADDR_AND_MASK, FWP_V4_ADDR_MASK, FWP_V6_ADDR_AND_MASK, FWP_V6_ADDR_MASK, FWP_VALUE0,
    FWP_VALUE0_0, FWPM_ACTION0, FWPM_ACTION0_0, FWPM_CONDITION_FLAGS,
    FWPM_CONDITION_IP_LOCAL_INTERFACE, FWPM_CONDITION_IP_LOCAL_PORT, FWPM_CONDITION_IP_PROTOCOL,
    FWPM_CONDITION_IP_REMOTE_ADDRESS, FWPM_CONDITION_IP_REMOTE_PORT, FWPM_DISPLAY_DATA0,
    FWPM_FILTER_CONDITION0, FWPM_FILTER0, FWPM_LAYER_ALE_AUTH_CONNECT_V4,
    FWPM_LAYER_ALE_AUTH_CONNECT_V6, FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4,
    FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6, FWPM_SESSION_FLAG_DYNAMIC, FWPM_SESSION0, FWPM_SUBLAYER0,
    FwpmEngineClose0, FwpmEngineOpen0, FwpmFilterAdd0, FwpmSubLayerAdd0, FwpmTransactionAbort0,
    FwpmTransactionBegin0, FwpmTransactionCommit0,
};
use windows_sys::Win32::System::Rpc::RPC_C_AUTHN_DEFAULT;
use windows_sys::core::GUID;

use crate::error::{Error, Result};
use crate::killswitch::KillSwitch;
use crate::wfp_rules::{self, WfpAction, WfpCondition, WfpFilter, WfpLayer};

/// Corridor's sublayer. A fixed key, so a second kill switch (another corridord) is
/// refused with "already exists" instead of stacking up.
const SUBLAYER_KEY: GUID = GUID::from_u128(0x0238_4453_67cc_43a4_9f89_5dad_6e3e_3d6b);

/// The sublayer's weight: the highest, so Corridor's filters see traffic before other
/// software's sublayers (whose blocks still apply: "Block" overrides "Permit").
const SUBLAYER_WEIGHT: u16 = u16::MAX;

/// `FWPM_CONDITION_ICMP_TYPE`. fwpmu.h defines it as `FWPM_CONDITION_IP_LOCAL_PORT`:
/// at the ALE layers an ICMP packet's type is carried in the local-port field.
const CONDITION_ICMP_TYPE: GUID = FWPM_CONDITION_IP_LOCAL_PORT;

/// An open filtering engine with the kill switch's filters. Dropping it closes the
/// engine, and the dynamic session's filters go with it.
pub(crate) struct WfpSession {
    engine: HANDLE,
    filters: usize,
}

impl std::fmt::Debug for WfpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WfpSession")
            .field("filters", &self.filters)
            .finish_non_exhaustive()
    }
}

// SAFETY: the engine handle is an opaque token the filtering engine's client library
// accepts from any thread; this type uses it only in `apply` (before it is shared) and
// in `drop` (with exclusive access), so sharing or moving the value cannot race on it.
unsafe impl Send for WfpSession {}
// SAFETY: no method taking `&self` touches the handle (see above).
unsafe impl Sync for WfpSession {}

impl Drop for WfpSession {
    fn drop(&mut self) {
        // SAFETY: `engine` came from FwpmEngineOpen0 and is closed exactly once, here.
        let code = unsafe { FwpmEngineClose0(self.engine) };
        if code != 0 {
            tracing::warn!("closing the filtering engine failed: 0x{code:08X}");
        }
    }
}

impl WfpSession {
    /// Opens a dynamic session and adds Corridor's sublayer and `policy`'s filters in
    /// one transaction. The tunnel interface must exist (its LUID is looked up now).
    pub(crate) fn apply(policy: &KillSwitch) -> Result<Self> {
        let filters = wfp_rules::filters(policy);
        let mut native = Vec::with_capacity(filters.len());
        for filter in &filters {
            native.push(NativeFilter::new(filter, &mut tunnel_luid)?);
        }
        let mut session = Self::open()?;
        let txn = Transaction::begin(session.engine)?;
        let mut sublayer_name = wide("Corridor kill switch");
        let sublayer = FWPM_SUBLAYER0 {
            subLayerKey: SUBLAYER_KEY,
            displayData: FWPM_DISPLAY_DATA0 {
                name: sublayer_name.as_mut_ptr(),
                description: ptr::null_mut(),
            },
            weight: SUBLAYER_WEIGHT,
            ..Default::default()
        };
        // SAFETY: `sublayer` and the name it points to live across the call; a null
        // security descriptor means the default one.
        let code = unsafe { FwpmSubLayerAdd0(session.engine, &sublayer, ptr::null_mut()) };
        check(code, || "add the kill switch's WFP sublayer".to_string())?;
        for (filter, native) in filters.iter().zip(native.iter_mut()) {
            let raw = native.filter0();
            let mut id = 0u64;
            // SAFETY: `raw` points into `native` (name, conditions and the values they
            // point to), which outlives the call; BFE copies the filter.
            let code = unsafe { FwpmFilterAdd0(session.engine, &raw, ptr::null_mut(), &mut id) };
            check(code, || {
                format!(
                    "add the WFP filter \"{}\" ({:?}, {:?})",
                    filter.name, filter.action, filter.layer
                )
            })?;
        }
        txn.commit()?;
        tracing::info!(filters = filters.len(), "kill switch filters added");
        session.filters = filters.len();
        Ok(session)
    }

    /// How many filters the session holds.
    pub(crate) fn filters(&self) -> usize {
        self.filters
    }

    fn open() -> Result<Self> {
        let mut name = wide("Corridor kill switch");
        let session = FWPM_SESSION0 {
            displayData: FWPM_DISPLAY_DATA0 {
                name: name.as_mut_ptr(),
                description: ptr::null_mut(),
            },
            flags: FWPM_SESSION_FLAG_DYNAMIC,
            ..Default::default()
        };
        let mut engine: HANDLE = ptr::null_mut();
        // SAFETY: a null server name means the local engine; RPC_C_AUTHN_DEFAULT with
        // no identity lets RPC choose (the documented local use); `session` and its
        // name live across the call and `engine` is a valid out pointer.
        let code = unsafe {
            FwpmEngineOpen0(
                ptr::null(),
                RPC_C_AUTHN_DEFAULT as u32,
                ptr::null(),
                &session,
                &mut engine,
            )
        };
        check(code, || {
            "open the filtering engine (FwpmEngineOpen0)".to_string()
        })?;
        Ok(Self { engine, filters: 0 })
    }
}

/// An open transaction; aborted when dropped uncommitted.
struct Transaction {
    engine: HANDLE,
    open: bool,
}

impl Transaction {
    fn begin(engine: HANDLE) -> Result<Self> {
        // SAFETY: `engine` is an open engine handle.
        let code = unsafe { FwpmTransactionBegin0(engine, 0) };
        check(code, || "begin a WFP transaction".to_string())?;
        Ok(Self { engine, open: true })
    }

    fn commit(mut self) -> Result<()> {
        self.open = false;
        // SAFETY: `engine` is open and has this transaction in progress.
        let code = unsafe { FwpmTransactionCommit0(self.engine) };
        check(code, || {
            "commit the kill switch's WFP transaction".to_string()
        })
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.open {
            // SAFETY: `engine` is open and has this transaction in progress.
            let _ = unsafe { FwpmTransactionAbort0(self.engine) };
        }
    }
}

/// The LUID of the tunnel interface `alias`, as WFP's `FWP_UINT64` wants it.
fn tunnel_luid(alias: &str) -> Result<u64> {
    let luid =
        crate::imp::luid_of(alias)?.ok_or_else(|| Error::NoSuchInterface(alias.to_string()))?;
    // SAFETY: NET_LUID_LH is a union of a u64 and bit fields over the same 64 bits;
    // every bit pattern is a valid u64.
    Ok(unsafe { luid.Value })
}

/// A filter in the engine's layout, owning everything its pointers point to. The
/// vectors holding the pointed-to values are filled before any pointer is taken and
/// never grow afterwards, so the pointers stay valid while the value lives.
struct NativeFilter {
    name: Vec<u16>,
    layer: GUID,
    action: FWP_ACTION_TYPE,
    weight: u8,
    conditions: Vec<FWPM_FILTER_CONDITION0>,
    luids: Vec<u64>,
    v4: Vec<FWP_V4_ADDR_AND_MASK>,
    v6: Vec<FWP_V6_ADDR_AND_MASK>,
}

impl NativeFilter {
    /// Converts `filter`, looking interfaces up with `luid_of`.
    fn new(filter: &WfpFilter, luid_of: &mut dyn FnMut(&str) -> Result<u64>) -> Result<Self> {
        let mut this = Self {
            name: wide(&format!("Corridor: {}", filter.name)),
            layer: layer_key(filter.layer),
            action: match filter.action {
                WfpAction::Permit => FWP_ACTION_PERMIT,
                WfpAction::Block => FWP_ACTION_BLOCK,
            },
            weight: filter.weight,
            conditions: Vec::with_capacity(filter.conditions.len()),
            luids: Vec::new(),
            v4: Vec::new(),
            v6: Vec::new(),
        };
        for condition in &filter.conditions {
            match condition {
                WfpCondition::Interface(alias) => this.luids.push(luid_of(alias)?),
                WfpCondition::RemoteAddress(net) => match net.network().addr() {
                    IpAddr::V4(addr) => this.v4.push(FWP_V4_ADDR_AND_MASK {
                        // Host byte order, as the engine's V4 values are.
                        addr: u32::from(addr),
                        mask: u32::MAX
                            .checked_shl(32 - u32::from(net.prefix()))
                            .unwrap_or(0),
                    }),
                    IpAddr::V6(addr) => this.v6.push(FWP_V6_ADDR_AND_MASK {
                        addr: addr.octets(),
                        prefixLength: net.prefix(),
                    }),
                },
                _ => {}
            }
        }
        let (mut luid, mut v4, mut v6) = (0, 0, 0);
        for condition in &filter.conditions {
            let (field, match_type, data_type, value) = match condition {
                WfpCondition::Loopback => (
                    FWPM_CONDITION_FLAGS,
                    FWP_MATCH_FLAGS_ALL_SET,
                    FWP_UINT32,
                    FWP_CONDITION_VALUE0_0 {
                        uint32: FWP_CONDITION_FLAG_IS_LOOPBACK,
                    },
                ),
                WfpCondition::Interface(_) => {
                    let at = this.luids.as_mut_ptr().wrapping_add(luid);
                    luid += 1;
                    (
                        FWPM_CONDITION_IP_LOCAL_INTERFACE,
                        FWP_MATCH_EQUAL,
                        FWP_UINT64,
                        FWP_CONDITION_VALUE0_0 { uint64: at },
                    )
                }
                WfpCondition::RemoteAddress(net) => {
                    let value = match net.family() {
                        crate::types::Family::V4 => {
                            let at = this.v4.as_mut_ptr().wrapping_add(v4);
                            v4 += 1;
                            (FWP_V4_ADDR_MASK, FWP_CONDITION_VALUE0_0 { v4AddrMask: at })
                        }
                        crate::types::Family::V6 => {
                            let at = this.v6.as_mut_ptr().wrapping_add(v6);
                            v6 += 1;
                            (FWP_V6_ADDR_MASK, FWP_CONDITION_VALUE0_0 { v6AddrMask: at })
                        }
                    };
                    (
                        FWPM_CONDITION_IP_REMOTE_ADDRESS,
                        FWP_MATCH_EQUAL,
                        value.0,
                        value.1,
                    )
                }
                WfpCondition::Protocol(proto) => (
                    FWPM_CONDITION_IP_PROTOCOL,
                    FWP_MATCH_EQUAL,
                    FWP_UINT8,
                    FWP_CONDITION_VALUE0_0 { uint8: *proto },
                ),
                WfpCondition::LocalPort(port) => (
                    FWPM_CONDITION_IP_LOCAL_PORT,
                    FWP_MATCH_EQUAL,
                    FWP_UINT16,
                    FWP_CONDITION_VALUE0_0 { uint16: *port },
                ),
                WfpCondition::RemotePort(port) => (
                    FWPM_CONDITION_IP_REMOTE_PORT,
                    FWP_MATCH_EQUAL,
                    FWP_UINT16,
                    FWP_CONDITION_VALUE0_0 { uint16: *port },
                ),
                WfpCondition::IcmpType(icmp) => (
                    CONDITION_ICMP_TYPE,
                    FWP_MATCH_EQUAL,
                    FWP_UINT16,
                    FWP_CONDITION_VALUE0_0 {
                        uint16: u16::from(*icmp),
                    },
                ),
            };
            this.conditions
                .push(condition0(field, match_type, data_type, value));
        }
        Ok(this)
    }

    /// The `FWPM_FILTER0` for `FwpmFilterAdd0`, pointing into `self`. The filter key
    /// is left zero: "If the GUID is zero-initialized in the call to FwpmFilterAdd0,
    /// the Base Filtering Engine (BFE) will generate one."
    fn filter0(&mut self) -> FWPM_FILTER0 {
        let conditions = if self.conditions.is_empty() {
            ptr::null_mut()
        } else {
            self.conditions.as_mut_ptr()
        };
        FWPM_FILTER0 {
            displayData: FWPM_DISPLAY_DATA0 {
                name: self.name.as_mut_ptr(),
                description: ptr::null_mut(),
            },
            layerKey: self.layer,
            subLayerKey: SUBLAYER_KEY,
            weight: FWP_VALUE0 {
                r#type: FWP_UINT8,
                Anonymous: FWP_VALUE0_0 { uint8: self.weight },
            },
            // At most a handful of conditions: the count always fits.
            numFilterConditions: u32::try_from(self.conditions.len()).unwrap_or(0),
            filterCondition: conditions,
            action: FWPM_ACTION0 {
                r#type: self.action,
                Anonymous: FWPM_ACTION0_0::default(),
            },
            ..Default::default()
        }
    }
}

fn condition0(
    field: GUID,
    match_type: FWP_MATCH_TYPE,
    data_type: FWP_DATA_TYPE,
    value: FWP_CONDITION_VALUE0_0,
) -> FWPM_FILTER_CONDITION0 {
    FWPM_FILTER_CONDITION0 {
        fieldKey: field,
        matchType: match_type,
        conditionValue: FWP_CONDITION_VALUE0 {
            r#type: data_type,
            Anonymous: value,
        },
    }
}

fn layer_key(layer: WfpLayer) -> GUID {
    match layer {
        WfpLayer::ConnectV4 => FWPM_LAYER_ALE_AUTH_CONNECT_V4,
        WfpLayer::ConnectV6 => FWPM_LAYER_ALE_AUTH_CONNECT_V6,
        WfpLayer::RecvAcceptV4 => FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4,
        WfpLayer::RecvAcceptV6 => FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6,
    }
}

/// `Ok` for `ERROR_SUCCESS`, else the step and the engine's answer (FWP_E_* codes
/// are HRESULT-style, `0x8032....`).
fn check(code: u32, op: impl FnOnce() -> String) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    let text = std::io::Error::from_raw_os_error(i32::from_ne_bytes(code.to_ne_bytes()));
    Err(Error::Os {
        op: op(),
        detail: format!("0x{code:08X}: {text}"),
    })
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::types::IpNet;

    /// A GUID as one number: windows-sys's GUID has neither `PartialEq` nor `Debug`.
    fn key(guid: GUID) -> u128 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&guid.data1.to_be_bytes());
        bytes[4..6].copy_from_slice(&guid.data2.to_be_bytes());
        bytes[6..8].copy_from_slice(&guid.data3.to_be_bytes());
        bytes[8..].copy_from_slice(&guid.data4);
        u128::from_be_bytes(bytes)
    }

    #[test]
    fn guid_keys_read_back() {
        assert_eq!(key(SUBLAYER_KEY), 0x0238_4453_67cc_43a4_9f89_5dad_6e3e_3d6b);
        assert_eq!(key(CONDITION_ICMP_TYPE), key(FWPM_CONDITION_IP_LOCAL_PORT));
    }

    fn policy() -> KillSwitch {
        let mut p = KillSwitch::new("corridor0", "203.0.113.7".parse().unwrap());
        p.block_v4 = true;
        p.block_v6 = true;
        p.permitted = vec![IpNet::new("fd00:1::".parse().unwrap(), 64).unwrap()];
        p
    }

    fn natives() -> Vec<(WfpFilter, NativeFilter)> {
        wfp_rules::filters(&policy())
            .into_iter()
            .map(|f| {
                let n = NativeFilter::new(&f, &mut |alias| {
                    assert_eq!(alias, "corridor0");
                    Ok(0x0006_0000_0123_4567)
                })
                .unwrap();
                (f, n)
            })
            .collect()
    }

    #[test]
    fn filters_convert_to_the_engine_layout() {
        for (filter, mut native) in natives() {
            let raw = native.filter0();
            assert_eq!(key(raw.layerKey), key(layer_key(filter.layer)));
            assert_eq!(key(raw.subLayerKey), key(SUBLAYER_KEY));
            assert_eq!(raw.weight.r#type, FWP_UINT8);
            // SAFETY: the weight was written as uint8 just above.
            assert_eq!(unsafe { raw.weight.Anonymous.uint8 }, filter.weight);
            let expected = match filter.action {
                WfpAction::Permit => FWP_ACTION_PERMIT,
                WfpAction::Block => FWP_ACTION_BLOCK,
            };
            assert_eq!(raw.action.r#type, expected);
            assert_eq!(raw.numFilterConditions as usize, filter.conditions.len());
            assert_eq!(raw.filterCondition.is_null(), filter.conditions.is_empty());
            assert!(!raw.displayData.name.is_null());
        }
    }

    #[test]
    fn condition_values_point_at_the_right_data() {
        let all = natives();
        let (_, mut gateway) = all
            .into_iter()
            .find(|(f, _)| f.name.contains("gateway") && f.layer == WfpLayer::ConnectV4)
            .unwrap();
        let raw = gateway.filter0();
        assert_eq!(raw.numFilterConditions, 4);
        // SAFETY: the pointer and count come from `filter0` over `gateway`, alive here.
        let conditions = unsafe {
            std::slice::from_raw_parts(raw.filterCondition, raw.numFilterConditions as usize)
        };
        assert_eq!(key(conditions[0].fieldKey), key(FWPM_CONDITION_IP_PROTOCOL));
        // SAFETY: each union member read is the one its data type says was written.
        unsafe {
            assert_eq!(conditions[0].conditionValue.Anonymous.uint8, 17);
            assert_eq!(
                key(conditions[1].fieldKey),
                key(FWPM_CONDITION_IP_REMOTE_ADDRESS)
            );
            assert_eq!(conditions[1].conditionValue.r#type, FWP_V4_ADDR_MASK);
            let v4 = *conditions[1].conditionValue.Anonymous.v4AddrMask;
            assert_eq!(v4.addr, 0xCB00_7107);
            assert_eq!(v4.mask, 0xFFFF_FFFF);
            assert_eq!(
                key(conditions[2].fieldKey),
                key(FWPM_CONDITION_IP_REMOTE_PORT)
            );
            assert_eq!(conditions[2].conditionValue.Anonymous.uint16, 500);
            assert_eq!(conditions[3].conditionValue.Anonymous.uint16, 4500);
        }
    }

    #[test]
    fn interface_prefix_and_icmp_conditions() {
        let all = natives();
        for (filter, mut native) in all {
            let raw = native.filter0();
            if raw.numFilterConditions == 0 {
                continue;
            }
            // SAFETY: as above.
            let conditions = unsafe {
                std::slice::from_raw_parts(raw.filterCondition, raw.numFilterConditions as usize)
            };
            // SAFETY: each union member read is the one its data type says was written.
            unsafe {
                if filter.name.starts_with("the tunnel") {
                    assert_eq!(
                        key(conditions[0].fieldKey),
                        key(FWPM_CONDITION_IP_LOCAL_INTERFACE)
                    );
                    assert_eq!(conditions[0].conditionValue.r#type, FWP_UINT64);
                    assert_eq!(
                        *conditions[0].conditionValue.Anonymous.uint64,
                        0x0006_0000_0123_4567
                    );
                }
                if filter.name == "loopback" {
                    assert_eq!(conditions[0].matchType, FWP_MATCH_FLAGS_ALL_SET);
                    assert_eq!(
                        conditions[0].conditionValue.Anonymous.uint32,
                        FWP_CONDITION_FLAG_IS_LOOPBACK
                    );
                }
                if filter.name.starts_with("fd00:1::/64") {
                    assert_eq!(conditions[0].conditionValue.r#type, FWP_V6_ADDR_MASK);
                    let v6 = *conditions[0].conditionValue.Anonymous.v6AddrMask;
                    assert_eq!(v6.prefixLength, 64);
                    assert_eq!(&v6.addr[..4], &[0xfd, 0x00, 0x00, 0x01]);
                }
                if filter.name == "IPv6 Neighbor Discovery" {
                    assert_eq!(conditions.len(), 6);
                    assert_eq!(
                        key(conditions[1].fieldKey),
                        key(FWPM_CONDITION_IP_LOCAL_PORT)
                    );
                    assert_eq!(conditions[1].conditionValue.Anonymous.uint16, 133);
                    assert_eq!(conditions[5].conditionValue.Anonymous.uint16, 137);
                }
            }
        }
    }

    #[test]
    fn a_missing_tunnel_interface_is_named() {
        match WfpSession::apply(&KillSwitch {
            tunnel: "corridor-none9".into(),
            ..policy()
        }) {
            Err(Error::NoSuchInterface(name)) => assert_eq!(name, "corridor-none9"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
