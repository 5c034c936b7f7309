//! Notice of the host's network changing, from the OS: every routing-table change
//! (a new Wi-Fi network, a cable plugged in, a VPN of someone else's, DHCP moving the
//! default route) is reported by the kernel, through `route_manager`: rtnetlink's route
//! multicast groups on Linux, the PF_ROUTE routing socket on macOS, `NotifyRouteChange2`
//! on Windows.
//!
//! A change is only a hint to look again: whoever waits re-checks what it depends on
//! (the address it reaches the gateway from), because most changes (the tunnel's own
//! routes among them) do not matter to it. Where notifications cannot be had (no
//! permission, an OS layer that lacks them) [`RouteEvents::changed`] never resolves
//! and the caller's periodic check is all there is.

/// A subscription to routing-table changes.
pub struct RouteEvents {
    listener: Option<route_manager::AsyncRouteListener>,
}

impl std::fmt::Debug for RouteEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteEvents")
            .field("subscribed", &self.listener.is_some())
            .finish()
    }
}

impl RouteEvents {
    /// Subscribes. Never fails: without notifications the subscription is inert (and
    /// says so at debug level).
    pub fn subscribe() -> Self {
        let listener = match route_manager::AsyncRouteListener::new() {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::debug!("no route change notifications ({e}); checking periodically");
                None
            }
        };
        Self { listener }
    }

    /// Whether the OS delivers notifications to this subscription.
    pub fn is_subscribed(&self) -> bool {
        self.listener.is_some()
    }

    /// Resolves at the next routing-table change the OS reports. Cancel-safe. After an
    /// error the subscription is dropped and this never resolves again.
    pub async fn changed(&mut self) {
        let Some(listener) = self.listener.as_mut() else {
            return std::future::pending().await;
        };
        match listener.listen().await {
            Ok(change) => tracing::trace!(%change, "route change"),
            Err(e) => {
                tracing::debug!("route change notifications ended ({e}); checking periodically");
                self.listener = None;
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subscribing works or degrades to "no notifications"; it never fails or panics
    /// (under Wine, for one, the Windows notification API may be missing).
    #[tokio::test]
    async fn subscribing_never_fails() {
        let events = RouteEvents::subscribe();
        let shown = format!("{events:?}");
        assert!(shown.contains("subscribed"), "{shown}");
        #[cfg(target_os = "linux")]
        assert!(
            events.is_subscribed(),
            "rtnetlink route groups need no privilege"
        );
    }
}
