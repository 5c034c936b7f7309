//! CPU time from /proc: one process tree's user+system time, and the whole machine's
//! busy time.

use std::collections::HashMap;
use std::fs;

use anyhow::{Context, Result};

/// Clock ticks per second of the /proc counters (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// (parent pid, utime + stime in ticks) of one process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is parenthesised and may hold spaces; fields restart after it.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... utime(14) stime(15), counted from 1.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// User plus system CPU seconds used so far by `root` and every process below it
/// (all threads included; children that already exited are not).
pub(crate) fn tree_seconds(root: u32) -> Result<f64> {
    let mut procs: HashMap<u32, (u32, u64)> = HashMap::new();
    for entry in fs::read_dir("/proc").context("reading /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(s) = stat(pid) {
            procs.insert(pid, s);
        }
    }
    let Some(&(_, own)) = procs.get(&root) else {
        anyhow::bail!("process {root} is gone");
    };
    let mut total = own;
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, (ppid, ticks)) in &procs {
            if *ppid == parent && *pid != root {
                total += ticks;
                frontier.push(*pid);
            }
        }
    }
    Ok(total as f64 / ticks_per_second())
}

/// Busy CPU seconds of the whole machine (all CPUs, everything but idle and iowait).
pub(crate) fn machine_seconds() -> Result<f64> {
    let text = fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = text.lines().next().context("/proc/stat is empty")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = v
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, x)| *x)
        .sum();
    Ok(busy as f64 / ticks_per_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_has_a_stat() {
        let me = std::process::id();
        assert!(tree_seconds(me).unwrap() >= 0.0);
        assert!(machine_seconds().unwrap() > 0.0);
    }
}
