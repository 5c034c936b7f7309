//! The results table, the Corridor/strongSwan ratios and the targets.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// Client CPU per GB must be at most this share of strongSwan libipsec's.
const CPU_TARGET_RATIO: f64 = 0.25;
/// Corridor against the test peer must reach this many Mbit/s.
const TESTPEER_TARGET_MBIT: f64 = 4000.0;

/// The measured paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    CorridorStrongswan,
    StrongswanStrongswan,
    CorridorTestpeer,
    BareVeth,
}

impl Which {
    pub(crate) fn from_letter(c: char) -> Option<Self> {
        match c {
            'a' => Some(Self::CorridorStrongswan),
            'b' => Some(Self::StrongswanStrongswan),
            'c' => Some(Self::CorridorTestpeer),
            'd' => Some(Self::BareVeth),
            _ => None,
        }
    }

    fn letter(self) -> char {
        match self {
            Self::CorridorStrongswan => 'a',
            Self::StrongswanStrongswan => 'b',
            Self::CorridorTestpeer => 'c',
            Self::BareVeth => 'd',
        }
    }

    pub(crate) fn title(self) -> String {
        let what = match self {
            Self::CorridorStrongswan => "Corridor -> strongSwan libipsec",
            Self::StrongswanStrongswan => "strongSwan libipsec -> strongSwan libipsec",
            Self::CorridorTestpeer => "Corridor -> corridor-testpeer",
            Self::BareVeth => "bare veth (no tunnel)",
        };
        format!("({}) {what}", self.letter())
    }
}

/// What a full-speed run lost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Losses {
    /// UDP datagrams dropped at a full receive buffer, client and gateway together.
    pub(crate) datagrams_dropped: u64,
    /// TCP segments the iperf3 sender sent again, when iperf3 reports it.
    pub(crate) tcp_retransmits: Option<u64>,
}

impl std::fmt::Display for Losses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} datagrams dropped at full sockets, ",
            self.datagrams_dropped
        )?;
        match self.tcp_retransmits {
            Some(n) => write!(f, "{n} TCP retransmissions"),
            None => write!(f, "TCP retransmissions not reported"),
        }
    }
}

/// One direction's numbers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Direction {
    pub(crate) mbit: f64,
    /// What the full-speed run lost.
    pub(crate) losses: Losses,
    /// Client process CPU seconds per GB (`None` for the bare veth: kernel only).
    pub(crate) client_cpu_per_gb: Option<f64>,
    /// Busy CPU seconds of the whole machine per GB.
    pub(crate) machine_cpu_per_gb: f64,
}

/// One path's results.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    which: Which,
    up: Direction,
    down: Direction,
    error: Option<String>,
}

impl Row {
    pub(crate) fn new(which: Which) -> Self {
        Self {
            which,
            up: Direction::default(),
            down: Direction::default(),
            error: None,
        }
    }

    pub(crate) fn failed(which: Which, error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::new(which)
        }
    }

    pub(crate) fn set(
        &mut self,
        download: bool,
        mbit: f64,
        losses: Losses,
        client: Option<f64>,
        machine: f64,
    ) {
        let d = Direction {
            mbit,
            losses,
            client_cpu_per_gb: client,
            machine_cpu_per_gb: machine,
        };
        if download {
            self.down = d;
        } else {
            self.up = d;
        }
    }
}

fn find(rows: &[Row], which: Which) -> Option<&Row> {
    rows.iter().find(|r| r.which == which && r.error.is_none())
}

fn cpu(c: Option<f64>) -> String {
    c.map_or_else(|| "kernel".to_string(), |c| format!("{c:.3}"))
}

/// The table as text.
pub(crate) fn render(rows: &[Row], summary: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n{summary}");
    let _ = writeln!(
        s,
        "{:<48} {:>9} {:>9} {:>11} {:>11} {:>11} {:>11}",
        "path", "up Mb/s", "down Mb/s", "up cli/GB", "down cli/GB", "up all/GB", "down all/GB"
    );
    for r in rows {
        if let Some(e) = &r.error {
            let _ = writeln!(
                s,
                "{:<48} failed: {}",
                r.which.title(),
                e.lines().next().unwrap_or("")
            );
            continue;
        }
        let _ = writeln!(
            s,
            "{:<48} {:>9.0} {:>9.0} {:>11} {:>11} {:>11.3} {:>11.3}",
            r.which.title(),
            r.up.mbit,
            r.down.mbit,
            cpu(r.up.client_cpu_per_gb),
            cpu(r.down.client_cpu_per_gb),
            r.up.machine_cpu_per_gb,
            r.down.machine_cpu_per_gb
        );
    }
    let _ = writeln!(
        s,
        "(cli/GB: CPU seconds per GB of the client process tree, user+system; all/GB: the whole machine's busy CPU seconds per GB)"
    );
    let _ = writeln!(s, "\nLost at full speed:");
    for r in rows.iter().filter(|r| r.error.is_none()) {
        let _ = writeln!(
            s,
            "  {:<46} up: {}; down: {}",
            r.which.title(),
            r.up.losses,
            r.down.losses
        );
    }
    let (a, b, c) = (
        find(rows, Which::CorridorStrongswan),
        find(rows, Which::StrongswanStrongswan),
        find(rows, Which::CorridorTestpeer),
    );
    if let (Some(a), Some(b)) = (a, b) {
        let _ = writeln!(s, "\nCorridor / strongSwan (a / b):");
        for (name, x, y) in [("upload", &a.up, &b.up), ("download", &a.down, &b.down)] {
            let cpu_ratio = x
                .client_cpu_per_gb
                .zip(y.client_cpu_per_gb)
                .map(|(x, y)| x / y);
            let _ = writeln!(
                s,
                "  {name:<8} throughput {:.2}x, client CPU/GB {} (target <= {CPU_TARGET_RATIO}x: {})",
                x.mbit / y.mbit,
                cpu_ratio.map_or("-".into(), |r| format!("{r:.2}x")),
                match cpu_ratio {
                    Some(r) if r <= CPU_TARGET_RATIO => "met",
                    Some(_) => "NOT met",
                    None => "-",
                }
            );
        }
    }
    if let Some(c) = c {
        for (name, d) in [("upload", &c.up), ("download", &c.down)] {
            let _ = writeln!(
                s,
                "(c) {name}: {:.0} Mbit/s (target >= {TESTPEER_TARGET_MBIT} on the 2-core CI machine: {})",
                d.mbit,
                if d.mbit >= TESTPEER_TARGET_MBIT {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
    }
    s
}

fn dir_json(d: &Direction) -> Value {
    json!({
        "mbit_per_s": d.mbit,
        "datagrams_dropped": d.losses.datagrams_dropped,
        "tcp_retransmits": d.losses.tcp_retransmits,
        "client_cpu_s_per_gb": d.client_cpu_per_gb,
        "machine_cpu_s_per_gb": d.machine_cpu_per_gb,
    })
}

/// The results as JSON.
pub(crate) fn json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "path": r.which.letter().to_string(),
                    "title": r.which.title(),
                    "error": r.error,
                    "upload": dir_json(&r.up),
                    "download": dir_json(&r.down),
                })
            })
            .collect(),
    )
}
