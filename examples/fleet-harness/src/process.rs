//! What a process costs, from `/proc`: CPU time (user and system) and
//! resident memory; and the same summed over every process of a name (the
//! PostgreSQL server's backends).

use std::time::Duration;

/// CPU time used so far by process `pid`, or `None` when it is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_of(&stat).map(ticks)
}

/// CPU time used so far by every process whose command name is `name`.
pub fn cpu_time_of_all(name: &str) -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| command_of(stat) == Some(name))
        .filter_map(|stat| ticks_of(&stat))
        .map(ticks)
        .sum()
}

/// Resident memory of process `pid` in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The command name in a `/proc/PID/stat` line: between the parentheses.
fn command_of(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    stat.get(open + 1..close)
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in clock
/// ticks. Fields are counted after the command, which may hold spaces.
fn ticks_of(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Linux reports CPU time in units of `USER_HZ`, 100 per second on every
/// architecture it supports.
fn ticks(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_in_its_command_reads_right() {
        let stat = "4242 (tokio runtime) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 9 0";
        assert_eq!(command_of(stat), Some("tokio runtime"));
        assert_eq!(ticks_of(stat), Some(175));
        assert_eq!(ticks(175), Duration::from_millis(1750));
    }

    #[test]
    fn this_process_has_a_cpu_time_and_memory() {
        let me = std::process::id();
        assert!(cpu_time(me).is_some());
        assert!(rss_bytes(me).unwrap() > 1024 * 1024);
        assert!(cpu_time(u32::MAX).is_none());
    }
}
