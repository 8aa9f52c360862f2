//! The node's resource use for heartbeats, read from Linux's /proc:
//! this process's CPU share since the previous sample, and memory in use
//! and in total. Elsewhere the figures are zero.

use std::sync::Mutex;
use std::time::Instant;

use hotswap_core::domain::NodeMetrics;
use hotswap_http::agent::NodeMetricsSource;

/// Clock ticks per second of /proc/self/stat (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// Samples /proc.
#[derive(Debug)]
pub(crate) struct ProcMetrics {
    last: Mutex<Option<(Instant, u64)>>,
}

fn meminfo(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime of this process, in clock ticks.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may
    // contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

impl ProcMetrics {
    pub(crate) fn new() -> Self {
        Self {
            last: Mutex::new(None),
        }
    }

    /// The machine's memory, when /proc tells.
    pub(crate) fn total_memory_bytes() -> Option<u64> {
        meminfo("MemTotal:")
    }
}

impl NodeMetricsSource for ProcMetrics {
    fn sample(&self) -> NodeMetrics {
        let mut m = NodeMetrics::default();
        if let (Some(total), Some(available)) = (meminfo("MemTotal:"), meminfo("MemAvailable:")) {
            m.memory_total_bytes = total;
            m.memory_used_bytes = total.saturating_sub(available);
        }
        let now = Instant::now();
        if let Some(ticks) = cpu_ticks() {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, before)) = *last {
                let wall = now.duration_since(at).as_secs_f64();
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                if wall > 0.0 {
                    let used = (ticks.saturating_sub(before)) as f64 / TICKS_PER_SEC;
                    m.cpu_percent = (used / wall / cores * 100.0).clamp(0.0, 100.0);
                }
            }
            *last = Some((now, ticks));
        }
        m
    }
}
