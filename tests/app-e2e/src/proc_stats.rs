//! CPU time and memory of a process and its descendants, from /proc: what the app costs
//! while it sits in the tray (the app's own process and WebKit's web and network
//! processes it starts).

use std::collections::HashMap;
use std::fs;

/// CPU seconds (user + system) and memory of a process tree at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreeSample {
    pub cpu_secs: f64,
    /// Resident set size summed over the tree (shared pages counted in each process).
    pub rss_kib: u64,
    /// Proportional set size summed over the tree (shared pages divided among their
    /// users: the honest total).
    pub pss_kib: u64,
    pub processes: usize,
}

/// Every pid with its parent pid.
fn parents() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(fields) = stat_fields(pid)
            && let Some(ppid) = fields.get(1).and_then(|s| s.parse().ok())
        {
            map.insert(pid, ppid);
        }
    }
    map
}

/// The fields of /proc/<pid>/stat after the parenthesised command name (state first).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// `root` and all its descendants.
pub fn tree(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut members = vec![root];
    let mut i = 0;
    while i < members.len() {
        let parent = members[i];
        members.extend(
            parents
                .iter()
                .filter(|(_, p)| **p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    members
}

/// A `key:   N kB` line's N from a /proc status-like file.
fn kib(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Samples the tree rooted at `root`.
pub fn sample(root: u32) -> TreeSample {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let mut total = TreeSample::default();
    for pid in tree(root) {
        let Some(fields) = stat_fields(pid) else {
            continue;
        };
        // utime and stime are fields 14 and 15 of stat (11 and 12 after the name).
        let cpu: u64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i).and_then(|s| s.parse::<u64>().ok()))
            .sum();
        total.cpu_secs += cpu as f64 / ticks;
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        total.rss_kib += kib(&status, "VmRSS:");
        let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        total.pss_kib += kib(&rollup, "Pss:");
        total.processes += 1;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_sampled_with_its_memory() {
        let me = std::process::id();
        assert!(tree(me).contains(&me));
        let s = sample(me);
        assert!(s.processes >= 1);
        assert!(s.rss_kib > 0 && s.pss_kib > 0, "{s:?}");
    }

    #[test]
    fn a_kib_line_is_read_and_a_missing_one_is_zero() {
        let text = "Name:\tx\nVmRSS:\t  1234 kB\n";
        assert_eq!(kib(text, "VmRSS:"), 1234);
        assert_eq!(kib(text, "Pss:"), 0);
    }
}
