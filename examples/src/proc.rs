//! Reading a process's and the machine's figures from `/proc`.

use std::io;
use std::time::Duration;

/// The lines of `/proc/<pid>/status` the experiments read, in KiB where a size.
#[derive(Debug, Clone, Copy)]
pub struct ProcStatus {
    /// `VmRSS`: resident memory now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak of resident memory.
    pub hwm_kib: u64,
    /// `VmSize`: the address space reserved.
    pub vm_size_kib: u64,
    /// `Threads`.
    pub threads: u64,
}

/// Reads `/proc/<pid>/status`.
///
/// # Errors
///
/// If the file cannot be read (no such process) or lacks one of the lines.
pub fn proc_status(pid: u32) -> io::Result<ProcStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> io::Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no {name} in /proc/{pid}/status")))
    };
    Ok(ProcStatus {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
        vm_size_kib: field("VmSize")?,
        threads: field("Threads")?,
    })
}

/// The CPU time (user + system, all threads) process `pid` has used: `utime` and `stime`
/// of `/proc/<pid>/stat`, in clock ticks (10 ms at the usual 100 Hz).
///
/// # Errors
///
/// If the file cannot be read or parsed.
pub fn proc_cpu_time(pid: u32) -> io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let after_name = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line; the first after the name is field 3.
    let ticks = |i: usize| -> io::Result<u64> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other(format!("cannot parse /proc/{pid}/stat")))
    };
    let total = ticks(14)? + ticks(15)?;
    // SAFETY: sysconf takes a constant name and reads no memory of ours; it has no
    // preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100);
    Ok(Duration::from_nanos(total * 1_000_000_000 / hz))
}

/// A `kB` line of `/proc/meminfo` (`KernelStack`, `MemAvailable`, ...), if present.
pub fn meminfo_kib(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU model, core count and kernel, for the record: `model, N cores, Linux x.y`.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_back() {
        let s = proc_status(std::process::id()).unwrap();
        assert!(s.rss_kib > 0 && s.threads >= 1);
        proc_cpu_time(std::process::id()).unwrap();
        assert!(meminfo_kib("MemTotal").unwrap() > 0);
        assert!(proc_status(u32::MAX).is_err());
    }
}
