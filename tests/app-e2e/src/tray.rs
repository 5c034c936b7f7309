//! A minimal tray host: owns `org.kde.StatusNotifierWatcher` on the session bus, as a
//! desktop panel does, so an app's StatusNotifierItem registers with it; then reads
//! the item's menu through the dbusmenu interface (`com.canonical.dbusmenu`) and sends
//! it clicks, exactly what a panel does when the user picks a menu entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// A registered item: the bus name that owns it and its object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub bus_name: String,
    pub path: String,
}

#[derive(Debug, Default)]
struct Watcher {
    items: Arc<Mutex<Vec<Item>>>,
}

/// The watcher interface of the StatusNotifierItem specification (freedesktop.org),
/// in its KDE-named form, which libayatana-appindicator looks for.
#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// An item registers with either its object path (the caller's unique name owns
    /// it) or a bus name (its object lives at the spec's default path).
    async fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) {
        let sender = header.sender().map(ToString::to_string).unwrap_or_default();
        let item = if service.starts_with('/') {
            Item {
                bus_name: sender,
                path: service.to_string(),
            }
        } else {
            Item {
                bus_name: service.to_string(),
                path: "/StatusNotifierItem".to_string(),
            }
        };
        let announced = format!("{}{}", item.bus_name, item.path);
        if let Ok(mut items) = self.items.lock() {
            items.push(item);
        }
        let _ = Self::status_notifier_item_registered(&emitter, &announced).await;
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .map(|items| {
                items
                    .iter()
                    .map(|i| format!("{}{}", i.bus_name, i.path))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(signal)]
    async fn status_notifier_item_registered(
        emitter: &SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_host_registered(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// The tray host on a session bus.
#[derive(Debug)]
pub struct TrayHost {
    connection: zbus::Connection,
    items: Arc<Mutex<Vec<Item>>>,
}

/// One entry of a tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// The dbusmenu id (what a click names).
    pub id: i32,
    pub label: String,
    pub enabled: bool,
    /// `separator` for separators, empty for ordinary entries.
    pub kind: String,
}

impl TrayHost {
    /// Connects to the bus at `address` and owns the watcher's name there.
    pub async fn start(address: &str) -> Result<Self> {
        let items = Arc::new(Mutex::new(Vec::new()));
        let watcher = Watcher {
            items: Arc::clone(&items),
        };
        let connection = zbus::connection::Builder::address(address)?
            .serve_at("/StatusNotifierWatcher", watcher)?
            .name("org.kde.StatusNotifierWatcher")?
            .build()
            .await
            .context("owning org.kde.StatusNotifierWatcher on the test's session bus")?;
        Ok(TrayHost { connection, items })
    }

    /// Waits for the first item to register.
    pub async fn wait_for_item(&self, timeout: Duration) -> Result<Item> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(item) = self.items.lock().ok().and_then(|i| i.first().cloned()) {
                return Ok(item);
            }
            if Instant::now() > deadline {
                bail!("no tray icon registered with the watcher within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The object path of `item`'s dbusmenu (its `Menu` property).
    async fn menu_path(&self, item: &Item) -> Result<OwnedObjectPath> {
        let reply = self
            .connection
            .call_method(
                Some(item.bus_name.as_str()),
                item.path.as_str(),
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &("org.kde.StatusNotifierItem", "Menu"),
            )
            .await
            .context("reading the tray item's Menu property")?;
        let value: OwnedValue = reply.body().deserialize()?;
        OwnedObjectPath::try_from(value).context("the Menu property is not an object path")
    }

    /// The menu's entries, top level, in order.
    pub async fn menu(&self, item: &Item) -> Result<Vec<MenuEntry>> {
        let path = self.menu_path(item).await?;
        let reply = self
            .connection
            .call_method(
                Some(item.bus_name.as_str()),
                path.as_str(),
                Some("com.canonical.dbusmenu"),
                "GetLayout",
                &(0i32, -1i32, Vec::<String>::new()),
            )
            .await
            .context("calling GetLayout on the tray menu")?;
        type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);
        let (_revision, (_root, _props, children)): (u32, Layout) = reply.body().deserialize()?;
        children.iter().map(entry).collect()
    }

    /// Clicks the entry labelled `label` (as a panel does when the user picks it).
    pub async fn click(&self, item: &Item, label: &str) -> Result<()> {
        let menu = self.menu(item).await?;
        let wanted = label.replace('_', "");
        let entry = menu
            .iter()
            .find(|e| e.label == wanted)
            .ok_or_else(|| anyhow!("the tray menu has no `{label}` entry: {menu:?}"))?;
        if !entry.enabled {
            bail!("the tray menu entry `{label}` is disabled");
        }
        let path = self.menu_path(item).await?;
        self.connection
            .call_method(
                Some(item.bus_name.as_str()),
                path.as_str(),
                Some("com.canonical.dbusmenu"),
                "Event",
                &(entry.id, "clicked", Value::from(0i32), 0u32),
            )
            .await
            .with_context(|| format!("clicking `{label}` in the tray menu"))?;
        Ok(())
    }

    /// Waits until the menu has an entry labelled `label`.
    pub async fn wait_for_entry(&self, item: &Item, label: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let wanted = label.replace('_', "");
        loop {
            let menu = self.menu(item).await?;
            if menu.iter().any(|e| e.label == wanted) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the tray menu had no `{label}` entry within {timeout:?}: {menu:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// One `(ia{sv}av)` layout node as an entry. Labels lose their underscores (GTK
/// mnemonic marks), and so do the labels a test looks for.
fn entry(node: &OwnedValue) -> Result<MenuEntry> {
    let Value::Structure(node) = &**node else {
        bail!("a tray menu node is not a structure: {node:?}");
    };
    let fields = node.fields();
    let (Some(Value::I32(id)), Some(Value::Dict(props))) = (fields.first(), fields.get(1)) else {
        bail!("a tray menu node has no id and properties: {fields:?}");
    };
    let props: HashMap<String, OwnedValue> = HashMap::try_from(props.try_clone()?)?;
    let prop = |name: &str| -> Option<&Value<'static>> {
        props.get(name).map(|v| match &**v {
            Value::Value(inner) => &**inner,
            other => other,
        })
    };
    let label = match prop("label") {
        Some(Value::Str(s)) => s.as_str().replace('_', ""),
        _ => String::new(),
    };
    let enabled = !matches!(prop("enabled"), Some(Value::Bool(false)));
    let kind = match prop("type") {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => String::new(),
    };
    Ok(MenuEntry {
        id: *id,
        label,
        enabled,
        kind,
    })
}
