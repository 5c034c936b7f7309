//! Events for subscribers and the service's recent log lines.
//!
//! [`Hub`] fans events out to every subscribed client (a broadcast channel: a slow
//! client misses events rather than holding the service back) and keeps the last log
//! lines for `RecentLogs`. [`HubLayer`] is the tracing layer that turns the service's
//! own log events into [`LogLine`]s.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use corridor_ipc::{Event, LogLevel, LogLine};
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// Events queued per subscriber before it starts missing some.
const EVENT_QUEUE: usize = 1024;
/// Log lines kept for `RecentLogs`.
const LOG_RING: usize = 2000;

/// The event fan-out and the log ring.
#[derive(Debug, Clone)]
pub struct Hub {
    events: broadcast::Sender<Event>,
    logs: Arc<Mutex<VecDeque<LogLine>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        Self {
            events,
            logs: Arc::new(Mutex::new(VecDeque::with_capacity(LOG_RING))),
        }
    }

    /// A new subscriber's receiver.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends `event` to every subscriber (none is fine).
    pub fn publish(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Keeps `line` and publishes it.
    pub fn log(&self, line: LogLine) {
        if let Ok(mut logs) = self.logs.lock() {
            if logs.len() == LOG_RING {
                logs.pop_front();
            }
            logs.push_back(line.clone());
        }
        self.publish(Event::Log { line });
    }

    /// The last `max` log lines, oldest first.
    pub fn recent_logs(&self, max: usize) -> Vec<LogLine> {
        let Ok(logs) = self.logs.lock() else {
            return Vec::new();
        };
        let skip = logs.len().saturating_sub(max);
        logs.iter().skip(skip).cloned().collect()
    }

    /// The tracing layer feeding this hub.
    pub fn layer(&self) -> HubLayer {
        HubLayer { hub: self.clone() }
    }
}

/// Whether a subscriber that asked for `log_level` gets `event`.
pub fn wanted(event: &Event, log_level: Option<LogLevel>) -> bool {
    match event {
        Event::Log { line } => log_level.is_some_and(|min| line.level >= min),
        _ => true,
    }
}

/// A tracing layer that copies every event into the hub.
#[derive(Debug)]
pub struct HubLayer {
    hub: Hub,
}

/// Collects an event's message and its other fields (`key=value`, after the message).
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for HubLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::TRACE => LogLevel::Trace,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::ERROR => LogLevel::Error,
        };
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.hub.log(LogLine {
            unix_ms,
            level,
            target: meta.target().to_string(),
            message: visitor.message + &visitor.fields,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(level: LogLevel, message: &str) -> LogLine {
        LogLine {
            unix_ms: 0,
            level,
            target: "t".into(),
            message: message.into(),
        }
    }

    #[test]
    fn ring_keeps_the_newest_lines() {
        let hub = Hub::new();
        for i in 0..LOG_RING + 5 {
            hub.log(line(LogLevel::Info, &i.to_string()));
        }
        let last = hub.recent_logs(3);
        assert_eq!(
            last.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            [
                (LOG_RING + 2).to_string(),
                (LOG_RING + 3).to_string(),
                (LOG_RING + 4).to_string()
            ]
        );
        assert_eq!(hub.recent_logs(usize::MAX).len(), LOG_RING);
    }

    #[test]
    fn subscribers_get_log_lines_at_their_level_only() {
        let debug = Event::Log {
            line: line(LogLevel::Debug, "d"),
        };
        let warn = Event::Log {
            line: line(LogLevel::Warn, "w"),
        };
        assert!(!wanted(&debug, None));
        assert!(!wanted(&debug, Some(LogLevel::Info)));
        assert!(wanted(&warn, Some(LogLevel::Info)));
        let stats = Event::Stats {
            profile: uuid::Uuid::nil(),
            stats: corridor_ipc::Stats::default(),
        };
        assert!(wanted(&stats, None));
    }

    #[test]
    fn the_layer_records_message_and_fields() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let hub = Hub::new();
        let subscriber = tracing_subscriber::registry().with(hub.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(id = 7, "imported a profile");
        });
        let lines = hub.recent_logs(10);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].level, LogLevel::Info);
        assert_eq!(lines[0].message, "imported a profile id=7");
    }
}
