//! CPU time as the OS accounts it: `getrusage` for this process, `/proc/<pid>/stat` for the
//! server process.

use anyhow::{Context as _, anyhow};
use std::time::Duration;

/// User plus system CPU time this process has used so far (all threads).
pub fn self_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we hand it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// User plus system CPU time process `pid` has used so far, from `/proc/<pid>/stat` (clock
/// ticks, usually 10 ms each).
pub fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_stat_cpu(&stat, clock_ticks_per_second())
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// utime (field 14) plus stime (field 15) of a `/proc/<pid>/stat` line. The command name (field
/// 2) may hold spaces and parentheses, so fields are counted after its closing parenthesis.
fn parse_stat_cpu(stat: &str, ticks_per_second: u64) -> anyhow::Result<Duration> {
    let rest = &stat[stat.rfind(')').ok_or_else(|| anyhow!("bad stat line"))? + 1..];
    let mut fields = rest.split_whitespace();
    // rest starts at field 3 (state); utime is field 14, i.e. the 12th here.
    let utime: u64 = fields.nth(11).ok_or_else(|| anyhow!("no utime"))?.parse()?;
    let stime: u64 = fields.next().ok_or_else(|| anyhow!("no stime"))?.parse()?;
    let ticks = utime + stime;
    Ok(Duration::from_nanos(
        ticks * 1_000_000_000 / ticks_per_second,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_a_strange_name() {
        let line = "1234 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_stat_cpu(line, 100).unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn reads_own_stat() {
        let _ = process_cpu(std::process::id()).unwrap();
        let _ = self_cpu();
    }
}
