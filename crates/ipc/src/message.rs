//! The messages. Each enum is internally tagged (`"type"`, `"op"`, `"kind"`, `"state"`)
//! so the JSON reads well in logs and a packet capture, and every struct refuses
//! unknown fields: a typo in a client is an error, not a silently ignored setting.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use corridor_model::{Base64Bytes, Secret};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message on every connection.
    Hello(ClientHello),
    /// A request; the answer carries the same `id`.
    Request {
        /// Chosen by the client; echoed in the response.
        id: u64,
        /// What is asked.
        request: Request,
    },
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// The answer to [`ClientMessage::Hello`].
    Hello(ServerHello),
    /// The answer to the request `id`.
    Response {
        /// The request's id.
        id: u64,
        /// Its result.
        outcome: Box<Outcome>,
    },
    /// Pushed after [`Request::Subscribe`].
    Event {
        /// What happened.
        event: Event,
    },
    /// The server closes this connection (bad input, shutting down).
    Goodbye {
        /// Why.
        error: ErrorReply,
    },
}

/// The client's hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientHello {
    /// [`crate::PROTOCOL_VERSION`] of the client.
    pub protocol: u32,
    /// Program and version, for logs (`corridor 0.1.0`).
    pub client: String,
}

/// The server's hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerHello {
    /// [`crate::PROTOCOL_VERSION`] of the server.
    pub protocol: u32,
    /// Program and version (`corridord 0.1.0`).
    pub server: String,
    /// Who the OS says the client is, and what that allows.
    pub caller: Caller,
}

/// The caller as the OS identified it (peer credentials, pipe client token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    /// User id (on Windows: a stable number derived from the SID).
    pub uid: u32,
    /// Account name, when the OS knows it.
    pub user: Option<String>,
    /// May change managed profiles and settings (root, Administrators).
    pub admin: bool,
}

/// What a client may ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The profiles the caller can see.
    ListProfiles,
    /// One profile, by id, name or unique id prefix; secrets removed.
    GetProfile {
        /// Id, name or id prefix.
        profile: String,
    },
    /// Imports a profile file (any supported format, detected from the content).
    ImportProfile {
        /// The file's name, for messages and format hints.
        file_name: String,
        /// The file's bytes (base64 in JSON).
        contents: Base64Bytes,
        /// Replace a profile with the same id instead of refusing.
        replace: bool,
        /// Check everything an import checks (format, policy, a profile with the same
        /// id or name) and answer with the report, but save nothing: the preview a
        /// client shows before the user confirms. Left out of the JSON when false, as
        /// older clients send it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dry_run: bool,
    },
    /// Removes one of the caller's profiles.
    RemoveProfile {
        /// Id, name or id prefix.
        profile: String,
    },
    /// Changes fields of a profile with a JSON merge patch (RFC 7386), such as
    /// `{"auth": {"eap_identity": "alice"}}`. A member's change to a managed profile is
    /// kept for them alone and refused when it touches a locked field.
    EditProfile {
        /// Id, name or id prefix.
        profile: String,
        /// The merge patch.
        changes: serde_json::Value,
    },
    /// One profile as a Corridor JSON file to hand on, without its secrets.
    ExportProfile {
        /// Id, name or id prefix.
        profile: String,
    },
    /// A backup file of all the caller's own profiles, complete with their pre-shared
    /// keys.
    BackupProfiles,
    /// Restores a backup file into the caller's store, all profiles or none.
    RestoreProfiles {
        /// The backup file's bytes.
        contents: Base64Bytes,
        /// Replace profiles with the same id (and remove others with the same name)
        /// instead of refusing.
        replace: bool,
    },
    /// Connects a profile; progress arrives as [`Event::State`].
    Connect {
        /// Id, name or id prefix.
        profile: String,
        /// Overrides the profile's user name for this connection.
        username: Option<String>,
        /// Secrets for this one connection; the service keeps them in memory only.
        secrets: ConnectSecrets,
    },
    /// Disconnects one profile, or every connection of the caller.
    Disconnect {
        /// Id, name or id prefix; `None` for all.
        profile: Option<String>,
    },
    /// The state of every connection the caller can see.
    Status,
    /// Starts pushing events (state changes, 1 s stats, and log lines at `log_level`
    /// or more severe when given).
    Subscribe {
        /// Log lines to forward; `None` for none.
        log_level: Option<LogLevel>,
    },
    /// Stops pushing events.
    Unsubscribe,
    /// The service's most recent log lines.
    RecentLogs {
        /// At most this many, newest last.
        max_lines: u32,
    },
    /// The computer's profile policy (any member may read it).
    GetPolicy,
    /// Replaces the computer's profile policy (administrators only); it is saved and
    /// applies to every later import and connect.
    SetPolicy {
        /// The new policy.
        policy: corridor_model::Policy,
    },
}

/// Secrets for one connect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectSecrets {
    /// EAP password.
    pub password: Option<Secret>,
    /// Passphrase of the client certificate's key or PKCS#12 file.
    pub key_passphrase: Option<Secret>,
}

/// A request's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// It worked.
    Ok {
        /// The answer.
        reply: Reply,
    },
    /// It did not; nothing was changed.
    Error {
        /// What went wrong.
        error: ErrorReply,
    },
}

/// Successful answers, one per request kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// For [`Request::ListProfiles`].
    Profiles {
        /// Sorted by name.
        profiles: Vec<ProfileSummary>,
    },
    /// For [`Request::GetProfile`]: the profile without secrets.
    Profile {
        /// The profile.
        profile: Box<corridor_model::Profile>,
        /// Managed (system) profile: read-only to non-admins.
        managed: bool,
        /// The field paths the caller may not change (a path covers the fields under
        /// it); empty for their own profiles and for administrators.
        #[serde(default)]
        locked: Vec<String>,
    },
    /// For [`Request::ImportProfile`].
    Imported {
        /// The stored profile (for a dry run: the profile as it would be stored).
        profile: ProfileSummary,
        /// Every source key and what became of it.
        report: Vec<ImportNote>,
    },
    /// For [`Request::RemoveProfile`].
    Removed {
        /// The removed profile.
        profile: ProfileSummary,
    },
    /// For [`Request::EditProfile`].
    Edited {
        /// The profile after the change.
        profile: ProfileSummary,
        /// The leaf field paths that changed (`auth.eap_identity`); empty when the
        /// patch changed nothing.
        changed: Vec<String>,
    },
    /// For [`Request::ExportProfile`].
    Exported {
        /// A file name for it (`Work-VPN.json`).
        file_name: String,
        /// The Corridor JSON file.
        contents: Base64Bytes,
    },
    /// For [`Request::BackupProfiles`].
    Backup {
        /// The backup file; it holds pre-shared keys.
        contents: Base64Bytes,
        /// How many profiles it holds.
        count: u32,
    },
    /// For [`Request::RestoreProfiles`].
    Restored {
        /// The restored profiles, in the backup's order.
        profiles: Vec<ProfileSummary>,
    },
    /// For [`Request::Connect`] and [`Request::Disconnect`]: accepted; the outcome
    /// arrives as events.
    Accepted,
    /// For [`Request::Status`].
    Status {
        /// One entry per known connection.
        connections: Vec<ConnectionStatus>,
    },
    /// For [`Request::Subscribe`] and [`Request::Unsubscribe`].
    Subscription {
        /// Whether events now flow.
        active: bool,
    },
    /// For [`Request::RecentLogs`].
    Logs {
        /// Oldest first.
        lines: Vec<LogLine>,
    },
    /// For [`Request::GetPolicy`] and [`Request::SetPolicy`]: the policy in force.
    Policy {
        /// The policy.
        policy: corridor_model::Policy,
    },
}

/// A profile in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSummary {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Gateway host.
    pub gateway: String,
    /// Authentication method, as in the profile (`eap-mschapv2`, `cert`...).
    pub auth: String,
    /// Managed by IT (system directory).
    pub managed: bool,
    /// How strong its algorithms are (`strong`, `legacy: modp1024 allowed by policy`).
    #[serde(default)]
    pub posture: String,
}

/// One line of an import report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportNote {
    /// The key in the source file.
    pub source: String,
    /// What it became (`mapped to routing.include`, `dropped: ...`).
    pub outcome: String,
}

/// The state of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionStatus {
    /// The profile.
    pub profile: ProfileSummary,
    /// Where it stands.
    pub state: ConnectionState,
    /// Why it is in this state, in plain language (the last failure, "disconnected by
    /// the user"...).
    pub reason: Option<String>,
    /// While connected.
    pub details: Option<ConnectedDetails>,
    /// Counters since the connection came up.
    pub stats: Option<Stats>,
}

/// The connection state machine's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectionState {
    /// Not connected.
    Disconnected,
    /// Handshake in progress.
    Connecting,
    /// Traffic flows.
    Connected,
    /// Lost and trying again.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// Seconds until the next try.
        retry_in_secs: u32,
    },
    /// Deleting the SA and restoring the host's network.
    Disconnecting,
}

/// What a connected tunnel looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectedDetails {
    /// Addresses the gateway assigned.
    pub virtual_ips: Vec<IpAddr>,
    /// The gateway's address in use.
    pub gateway: IpAddr,
    /// Negotiated IKE suite (`aes256gcm16-prfsha384-ecp384`).
    pub ike_suite: String,
    /// Negotiated ESP suite.
    pub esp_suite: String,
    /// Prefixes routed into the tunnel.
    pub routes: Vec<String>,
    /// DNS servers in use while connected.
    pub dns_servers: Vec<IpAddr>,
    /// Domains resolved through the tunnel.
    pub dns_domains: Vec<String>,
}

/// Counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    /// Inner bytes received through the tunnel.
    pub bytes_in: u64,
    /// Inner bytes sent through the tunnel.
    pub bytes_out: u64,
    /// Inner packets received.
    pub packets_in: u64,
    /// Inner packets sent.
    pub packets_out: u64,
    /// Seconds since the tunnel came up.
    pub uptime_secs: u64,
}

/// Pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A connection changed state.
    State {
        /// Its status after the change.
        status: Box<ConnectionStatus>,
    },
    /// Once a second per connected profile.
    Stats {
        /// The profile.
        profile: Uuid,
        /// Its counters.
        stats: Stats,
    },
    /// A log line at or above the subscribed level.
    Log {
        /// The line.
        line: LogLine,
    },
}

/// Log severity, most verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Per-packet detail.
    Trace,
    /// Protocol steps.
    Debug,
    /// What a user may want to know.
    Info,
    /// Something is off but handled.
    Warn,
    /// Something failed.
    Error,
}

/// One log line of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// Severity.
    pub level: LogLevel,
    /// The module that logged it.
    pub target: String,
    /// The message (never a secret).
    pub message: String,
}

/// A failed request, or why the server closes a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    /// The category, for programs.
    pub code: ErrorCode,
    /// What happened, in plain language, for people.
    pub message: String,
}

/// Error categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message was malformed or broke the protocol.
    BadRequest,
    /// The client speaks another protocol version.
    UnsupportedVersion,
    /// The caller may not do this.
    Unauthorized,
    /// No such profile or connection.
    NotFound,
    /// It conflicts with the current state (already connected, exists...).
    Conflict,
    /// A secret is needed for this connect.
    SecretRequired,
    /// The profile or file is invalid.
    InvalidProfile,
    /// The service failed.
    Internal,
}
