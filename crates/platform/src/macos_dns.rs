//! macOS DNS: reading and writing keys of the SystemConfiguration dynamic store, the
//! database configd builds the resolver configuration from (`man 8 configd`,
//! `man 8 scutil`). The dictionaries themselves are made in `dynstore.rs`; this module
//! converts them to and from CoreFoundation property lists and talks to configd.
//!
//! Keys written here are not persistent (they live in configd's memory, not in the
//! preferences), so a reboot drops them; a crash of corridord does not, which is why
//! each write is journalled before it is made.

// CoreFoundation collections hand out untyped pointers to their elements, and the
// SystemConfiguration error functions have no safe wrapper; each unsafe block states
// why it is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};

use serde_json::{Map, Number, Value};
use system_configuration::core_foundation::array::CFArray;
use system_configuration::core_foundation::base::CFType;
use system_configuration::core_foundation::boolean::CFBoolean;
use system_configuration::core_foundation::dictionary::CFDictionary;
use system_configuration::core_foundation::number::CFNumber;
use system_configuration::core_foundation::propertylist::{CFPropertyList, CFPropertyListSubClass};
use system_configuration::core_foundation::string::CFString;
use system_configuration::dynamic_store::{SCDynamicStore, SCDynamicStoreBuilder};

use crate::dynstore::{self, Undo};
use crate::error::{Error, Result};

#[link(name = "SystemConfiguration", kind = "framework")]
unsafe extern "C" {
    /// The calling thread's status of its last SystemConfiguration call (`SCError(3)`).
    fn SCError() -> c_int;
    /// The message for a status (`SCErrorString(3)`).
    fn SCErrorString(status: c_int) -> *const c_char;
}

/// What SystemConfiguration said about the calling thread's last failed call.
fn last_error() -> String {
    // SAFETY: SCError takes no arguments and reads a thread-local status.
    let status = unsafe { SCError() };
    // SAFETY: SCErrorString takes any status and answers a pointer to a constant,
    // NUL-terminated message (or NULL, checked below) that lives as long as the process.
    let text = unsafe { SCErrorString(status) };
    if text.is_null() {
        return format!("status {status}");
    }
    // SAFETY: `text` is non-null and points to a NUL-terminated string (above).
    let message = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    format!("{message} (status {status})")
}

/// A session with configd.
fn open() -> Result<SCDynamicStore> {
    SCDynamicStoreBuilder::new("corridord")
        .build()
        .ok_or_else(|| Error::Os {
            op: "open the SystemConfiguration dynamic store".into(),
            detail: last_error(),
        })
}

/// The value of `key`, `None` if the store has no such key.
pub(crate) fn read_key(key: &str) -> Result<Option<Value>> {
    let store = open()?;
    read(&store, key)
}

fn read(store: &SCDynamicStore, key: &str) -> Result<Option<Value>> {
    match store.get(key) {
        Some(plist) => to_json(&plist).map(Some).map_err(|detail| Error::Os {
            op: format!("read {key}"),
            detail,
        }),
        None => Ok(None),
    }
}

/// Sets `key` to `value`, replacing what was there.
pub(crate) fn write_key(key: &str, value: &Value) -> Result<()> {
    let plist = to_plist(value).map_err(|detail| Error::Invalid {
        what: "dynamic store value",
        detail,
    })?;
    let store = open()?;
    if store.set_raw(key, &plist) {
        Ok(())
    } else {
        Err(Error::Os {
            op: format!("write {key}"),
            detail: last_error(),
        })
    }
}

/// The primary network service's ID: the one `State:/Network/Global/IPv4` names (or
/// `…/IPv6` on a host without IPv4). `None` when there is no primary service (no
/// network).
pub(crate) fn primary_service() -> Result<Option<String>> {
    let store = open()?;
    for key in [dynstore::GLOBAL_IPV4_KEY, dynstore::GLOBAL_IPV6_KEY] {
        if let Some(global) = read(&store, key)?
            && let Some(id) = dynstore::primary_service(&global)
        {
            return Ok(Some(id.to_string()));
        }
    }
    Ok(None)
}

/// Puts `key` back as it was before Corridor wrote it (see [`dynstore::undo`]).
pub(crate) fn restore_key(key: &str, original: Option<&Value>) -> Result<bool> {
    let store = open()?;
    let current = read(&store, key)?;
    match dynstore::undo(current.as_ref(), original) {
        Undo::Nothing => Ok(false),
        Undo::Write(value) => {
            write_key(key, value)?;
            Ok(true)
        }
        Undo::Remove => {
            if store.remove(key) {
                Ok(true)
            } else {
                Err(Error::Os {
                    op: format!("remove {key}"),
                    detail: last_error(),
                })
            }
        }
    }
}

/// A property list as JSON: strings, numbers, booleans, arrays and dictionaries (all
/// a service's DNS entity holds). Data and dates have no JSON form and are refused.
fn to_json(plist: &CFPropertyList) -> std::result::Result<Value, String> {
    if let Some(s) = plist.downcast::<CFString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(b) = plist.downcast::<CFBoolean>() {
        return Ok(Value::Bool(b.into()));
    }
    if let Some(n) = plist.downcast::<CFNumber>() {
        // CFNumberGetValue refuses a lossy conversion, so a fractional number is no
        // integer and is read as a double.
        if let Some(i) = n.to_i64() {
            return Ok(Value::from(i));
        }
        return n
            .to_f64()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "a number that is neither an integer nor finite".to_string());
    }
    if let Some(array) = plist.downcast::<CFArray>() {
        let mut items = Vec::new();
        for item in array.iter() {
            let item: *const c_void = *item;
            // SAFETY: the elements of a property-list array are non-null property
            // lists; wrapping under the get rule retains the element for as long as
            // the wrapper lives, independent of the array.
            let item = unsafe { CFPropertyList::wrap_under_get_rule(item) };
            items.push(to_json(&item)?);
        }
        return Ok(Value::Array(items));
    }
    if let Some(dict) = plist.downcast::<CFDictionary>() {
        let (keys, values) = dict.get_keys_and_values();
        let mut map = Map::new();
        for (key, value) in keys.into_iter().zip(values) {
            // SAFETY: the keys and values of a property-list dictionary are non-null
            // property lists, retained by the wrappers (get rule) while in use.
            let (key, value) = unsafe {
                (
                    CFPropertyList::wrap_under_get_rule(key),
                    CFPropertyList::wrap_under_get_rule(value),
                )
            };
            let key = key
                .downcast::<CFString>()
                .ok_or_else(|| "a dictionary key that is not a string".to_string())?;
            map.insert(key.to_string(), to_json(&value)?);
        }
        return Ok(Value::Object(map));
    }
    Err("a value of a type JSON cannot hold (data or a date)".into())
}

/// JSON as a property list; `null` has no property-list form and is refused.
fn to_plist(value: &Value) -> std::result::Result<CFPropertyList, String> {
    Ok(match value {
        Value::Null => return Err("null has no property-list form".into()),
        Value::Bool(b) => CFBoolean::from(*b).into_CFPropertyList(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => CFNumber::from(i).into_CFPropertyList(),
            (None, Some(f)) => CFNumber::from(f).into_CFPropertyList(),
            (None, None) => return Err(format!("the number {n} does not fit")),
        },
        Value::String(s) => CFString::new(s).into_CFPropertyList(),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|item| to_plist(item).map(CFPropertyList::into_CFType))
                .collect::<std::result::Result<Vec<CFType>, String>>()?;
            CFArray::from_CFTypes(&items)
                .into_untyped()
                .into_CFPropertyList()
        }
        Value::Object(map) => {
            let pairs = map
                .iter()
                .map(|(k, v)| Ok((CFString::new(k), to_plist(v)?.into_CFType())))
                .collect::<std::result::Result<Vec<(CFString, CFType)>, String>>()?;
            CFDictionary::from_CFType_pairs(&pairs)
                .into_untyped()
                .into_CFPropertyList()
        }
    })
}
