//! The command line, as clap types. Parsing errors exit with status 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Corridor: an IKEv2/IPsec VPN client.
///
/// Exit status: 0 success, 1 the profile asked for is missing, ambiguous or already
/// stored (or a `diagnose` step failed), 2 wrong command-line usage, 65 the file is not a usable profile, 74 a file
/// system or I/O failure.
#[derive(Debug, Parser)]
#[command(name = "corridor", version, propagate_version = true)]
pub(crate) struct Cli {
    /// A local profile directory. Without it, `corridor profile` uses the Corridor
    /// service's store (its socket: $CORRIDOR_SOCKET, default
    /// /run/corridor/corridord.sock), and `up` / `diagnose` use
    /// $XDG_DATA_HOME/corridor/profiles, else ~/.local/share/corridor/profiles.
    #[arg(long, global = true, env = "CORRIDOR_PROFILES_DIR", value_name = "DIR")]
    pub(crate) profiles_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Import, inspect and remove connection profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Connect to a profile's gateway step by step and report what works, then delete
    /// the IKE SA again. Exit status 0 only when every step succeeds.
    Diagnose(DiagnoseArgs),
    /// Connect to a profile's gateway and carry traffic through a TUN device until
    /// SIGINT or SIGTERM (needs root). Exit status 0 after a clean disconnect, 1 when the
    /// session failed.
    Up(UpArgs),
    /// Disconnect the tunnel `corridor up` runs (it deletes the SA and restores the
    /// network), and wait until that is done.
    Down(DownArgs),
    /// Connect a profile through the Corridor service (corridord) and wait until the
    /// tunnel is up. Exit status 0 when connected, 1 when it failed (the reason is
    /// printed).
    Connect(ConnectArgs),
    /// Disconnect the service's tunnel and wait until the network is restored.
    Disconnect(DisconnectArgs),
    /// Show the connections of the Corridor service (corridord). Exit status 1 when the
    /// service cannot be reached.
    Status(StatusArgs),
    /// Show the Corridor service's recent log lines, and with --follow the new ones as
    /// they come.
    Logs(LogsArgs),
    /// Show or change the computer's profile policy (through the Corridor service;
    /// changes need an administrator): which keys may sign profiles, whether unsigned
    /// profiles and legacy algorithms are allowed.
    Policy(PolicyArgs),
}

/// Where the service listens.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// The service's socket.
    #[arg(
        long,
        env = "CORRIDOR_SOCKET",
        value_name = "PATH",
        default_value = corridor_ipc::DEFAULT_SOCKET
    )]
    pub(crate) socket: PathBuf,
}

/// `corridor connect`.
///
/// The password comes from --password-stdin, else from the keychain when it was
/// remembered, else from a prompt. The service keeps it in memory for this connection
/// only (it needs it again to reconnect).
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// A profile's id, name or id prefix, as the service lists them.
    pub(crate) profile: String,
    /// The user name for this connection (instead of the profile's).
    #[arg(long, value_name = "NAME")]
    pub(crate) username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Read the client certificate's password from standard input (the second line
    /// when --password-stdin is also given).
    #[arg(long)]
    pub(crate) p12_password_stdin: bool,
    /// Keep the passwords in your keychain once the connection is up, and use them
    /// next time without asking.
    #[arg(long)]
    pub(crate) remember: bool,
    /// Forget the passwords kept for this profile (before connecting).
    #[arg(long, conflicts_with = "remember")]
    pub(crate) forget: bool,
    /// Return once the service accepted the request, without waiting for the tunnel.
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// How long to wait for the tunnel to come up.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(crate) timeout: u64,
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
}

/// `corridor disconnect`.
#[derive(Debug, Args)]
pub(crate) struct DisconnectArgs {
    /// The connected profile's name or id (default: whatever is connected).
    pub(crate) profile: Option<String>,
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
}

/// `corridor status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print the service's answer as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
}

/// Log severity on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LevelArg {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// `corridor logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Keep printing new lines until interrupted.
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
    /// How many recent lines to print first.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub(crate) lines: u32,
    /// The least severe level to print.
    #[arg(long, value_enum, default_value = "info")]
    pub(crate) level: LevelArg,
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
}

/// `corridor up`.
///
/// Secrets are read as with `corridor diagnose`. The network changes (TUN device,
/// addresses, routes, resolv.conf) are journalled under --state-dir and undone on exit,
/// or at the next start after a crash.
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// A stored profile's id or name, or the path of a profile file (.json or .sswan).
    pub(crate) profile: String,
    /// Read the EAP password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Read the PKCS#12 password from standard input (the second line when
    /// --password-stdin is also given).
    #[arg(long)]
    pub(crate) p12_password_stdin: bool,
    /// Where the journal of network changes lives.
    #[arg(long, value_name = "DIR", default_value = "/run/corridor")]
    pub(crate) state_dir: PathBuf,
    /// The resolv.conf-format file to point at the tunnel's DNS servers when
    /// systemd-resolved is not running (with it, DNS is set on the tunnel's link).
    #[arg(long, value_name = "PATH", default_value = "/etc/resolv.conf")]
    pub(crate) resolv_conf: PathBuf,
    /// Leave DNS alone.
    #[arg(long, conflicts_with = "resolv_conf")]
    pub(crate) no_dns: bool,
    /// The TUN interface's name. macOS names utun interfaces itself: `utunN` asks for
    /// that unit, `utun` (the default there) for the next free one.
    #[arg(long, value_name = "NAME", default_value = corridor_platform::DEFAULT_TUN_NAME)]
    pub(crate) tun_name: String,
    /// End when the connection is lost instead of connecting again (with growing waits:
    /// 1 s, 2 s, 4 s ... 60 s) while the tunnel's routes keep traffic in.
    #[arg(long)]
    pub(crate) no_reconnect: bool,
}

/// `corridor down`.
#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// The state directory the tunnel was brought up with.
    #[arg(long, value_name = "DIR", default_value = "/run/corridor")]
    pub(crate) state_dir: PathBuf,
    /// How long to wait for the tunnel to close and restore the network.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub(crate) timeout: u64,
}

impl DownArgs {
    pub(crate) fn wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout)
    }
}

/// `corridor diagnose`.
///
/// Secrets are read from standard input with the flags below (with both flags, the
/// first line is the EAP password and the second the PKCS#12 password), or else asked
/// for on the terminal without echo.
#[derive(Debug, Args)]
pub(crate) struct DiagnoseArgs {
    /// A stored profile's id or name, or the path of a profile file (.json or .sswan),
    /// which is then read without being stored.
    pub(crate) profile: String,
    /// Read the EAP password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Read the PKCS#12 password from standard input (the second line when
    /// --password-stdin is also given).
    #[arg(long)]
    pub(crate) p12_password_stdin: bool,
    /// Keep the SA up this many seconds before deleting it.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub(crate) hold: u64,
    /// Give up on an unanswered request after this many seconds (default 35).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) timeout: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// Import a profile into the store: Corridor (.json), strongSwan (.sswan), Apple
    /// (.mobileconfig), Windows ProfileXML or an Add-VpnConnection PowerShell script, or
    /// a signed profile; the format is recognised from the content.
    Import {
        /// The profile file.
        file: PathBuf,
        /// Overwrite a stored profile with the same id, and remove one with the same name.
        #[arg(long)]
        replace: bool,
        /// Keep the passwords the file carries (an EAP password, a PKCS#12 password) in
        /// your keychain for `corridor connect`, instead of leaving them out.
        #[arg(long)]
        remember: bool,
        #[command(flatten)]
        options: ImportArgs,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a profile file without storing it, and print what an import would do.
    Validate {
        /// The profile file.
        file: PathBuf,
        #[command(flatten)]
        options: ImportArgs,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the stored profiles (and any damaged files in the store).
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a stored profile (secrets masked, embedded certificates elided).
    Show {
        /// The profile's id, or its name (case does not matter when it is unique).
        profile: String,
        /// Print the profile as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a stored profile.
    Remove {
        /// The profile's id, or its name (case does not matter when it is unique).
        profile: String,
    },
    /// Change fields of a stored profile, e.g. `auth.eap_identity=alice gateway.port=4500`
    /// (VALUE is read as JSON when it is valid JSON, else taken as a string; `null`
    /// removes the field). Prints the fields that changed. Fields of a managed profile
    /// that IT locked cannot be changed; other changes to it are kept for you alone.
    Set {
        /// The profile's id, or its name (case does not matter when it is unique).
        profile: String,
        /// The changes, as PATH=VALUE.
        #[arg(required = true, value_name = "PATH=VALUE")]
        assignments: Vec<String>,
    },
    /// Write a stored profile as a Corridor profile file to hand on, without its secrets
    /// (the pre-shared key is left out).
    Export {
        /// The profile's id, or its name (case does not matter when it is unique).
        profile: String,
        /// The file to write (default: standard output).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Write all your own profiles, complete with their pre-shared keys, to one backup
    /// file (readable by you only).
    Backup {
        /// The backup file to write.
        file: PathBuf,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Restore the profiles of a backup file: all of them or, if any is invalid or
    /// clashes with a stored one, none.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Overwrite stored profiles with the same id, and remove ones with the same
        /// name.
        #[arg(long)]
        replace: bool,
    },
    /// Sign a profile file for handing out (for IT; no service is involved). The file
    /// must import cleanly; computers whose policy trusts the key show the profile as
    /// signed and refuse it if anything in it changes.
    Sign {
        /// The profile file (any format Corridor imports).
        file: PathBuf,
        /// The signing key: a PKCS#8 PEM private key (EC P-256, Ed25519, or RSA of 2048
        /// bits or more).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// Where to write the signed profile (default: FILE with the extension
        /// .signed.json).
        #[arg(short = 'o', long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// Print the public key of a signing key (PEM), for administrators to trust with
    /// `corridor policy trust-key`.
    PublicKey {
        /// The signing key (PKCS#8 PEM).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
    },
}

/// `yes` or `no` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum YesNo {
    Yes,
    No,
}

/// `corridor policy ...`: the computer's profile policy, kept by the service.
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(subcommand)]
    pub(crate) command: PolicyCommand,
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Show the policy: trusted signing keys, unsigned imports, legacy algorithms.
    Show {
        /// Print the policy as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change the policy's switches (administrators only).
    Set {
        /// Whether profiles without a trusted signature may be imported.
        #[arg(long, value_enum, value_name = "yes|no")]
        allow_unsigned_imports: Option<YesNo>,
        /// Whether profiles may use legacy algorithms (3DES, SHA-1 only, DH groups
        /// weaker than modp2048).
        #[arg(long, value_enum, value_name = "yes|no")]
        allow_legacy_crypto: Option<YesNo>,
    },
    /// Trust a key to sign profiles (administrators only).
    TrustKey {
        /// The public key, PEM (`corridor profile public-key --key KEY` prints it).
        public_key: PathBuf,
        /// The name shown for profiles it signed (`IT department`).
        #[arg(long)]
        name: String,
    },
    /// Stop trusting a signing key (administrators only).
    UntrustKey {
        /// The key's name in the policy.
        name: String,
    },
}

/// Options shared by `import` and `validate`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// A PKCS#12 file with the client certificate and key, for profiles that leave the
    /// certificate to be chosen on the device.
    #[arg(long, value_name = "FILE.p12")]
    pub(crate) client_cert: Option<PathBuf>,
    /// Read the PKCS#12 password from the first line of standard input, so the container
    /// is opened and checked now (without it only its structure is checked).
    #[arg(long)]
    pub(crate) p12_password_stdin: bool,
    /// A CA certificate file (PEM or DER) to trust for the gateway; repeatable. Windows
    /// profiles (ProfileXML, PowerShell scripts) never carry it: without it their
    /// imports trust the system's root certificates.
    #[arg(long = "ca", value_name = "FILE")]
    pub(crate) ca: Vec<PathBuf>,
    /// The profile's name, instead of the one in the file (a ProfileXML has none).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
}
