//! What `/proc` says about a replica's processes: which belong to its process group, their CPU
//! time and resident memory, and which carry a replica's marker in their environment.
//!
//! Only Linux has `/proc`; elsewhere these answer "nothing found", and the process runtime still
//! runs replicas but reports no usage.

use std::path::Path;

/// The numbers of one process, from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcStat {
    /// The process group.
    pub(super) pgrp: i32,
    /// User plus system CPU time, in clock ticks.
    pub(super) cpu_ticks: u64,
    /// Resident memory, in pages.
    pub(super) rss_pages: u64,
}

/// Reads the fields of `/proc/PID/stat` this module needs. The second field, the command name in
/// parentheses, may itself hold spaces and parentheses, so fields are counted from the last `)`.
pub(super) fn parse_stat(text: &str) -> Option<ProcStat> {
    let (_, rest) = text.rsplit_once(')')?;
    // After the name: state(3) ppid(4) pgrp(5) … utime(14) stime(15) … rss(24), 1-based in
    // proc(5); `fields[0]` is field 3.
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let field = |number: usize| fields.get(number - 3).copied();
    let pgrp = field(5)?.parse().ok()?;
    let utime: u64 = field(14)?.parse().ok()?;
    let stime: u64 = field(15)?.parse().ok()?;
    // rss is signed in the kernel's format; a negative value (never seen in practice) counts 0.
    let rss: i64 = field(24)?.parse().ok()?;
    Some(ProcStat {
        pgrp,
        cpu_ticks: utime.saturating_add(stime),
        rss_pages: u64::try_from(rss).unwrap_or(0),
    })
}

/// Every process id listed in `/proc`.
fn process_ids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The processes of group `pgid`. Processes that exit while being read are skipped.
pub(super) fn group_members(pgid: i32) -> Vec<ProcStat> {
    process_ids()
        .into_iter()
        .filter_map(|pid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_stat(&text)
        })
        .filter(|stat| stat.pgrp == pgid)
        .collect()
}

/// The processes whose environment holds exactly `marker` (`NAME=value`).
///
/// The process runtime marks every child with its replica's directory, so a child started by a
/// supervisor that died before recording it is still found and stopped.
pub(super) fn processes_marked(marker: &str) -> Vec<i32> {
    process_ids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&byte| byte == 0)
                    .any(|entry| entry == marker.as_bytes())
            })
        })
        .collect()
}

/// The host's memory in bytes, from `MemTotal` in `/proc/meminfo`.
pub(super) fn host_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string(Path::new("/proc/meminfo")).ok()?;
    parse_mem_total(&text)
}

fn parse_mem_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        let text = "4242 (node (worker) x) S 1 4240 4240 0 -1 4194560 1000 0 0 0 \
                    250 75 0 0 20 0 11 0 123456 1000000000 12000 18446744073709551615";
        assert_eq!(
            parse_stat(text),
            Some(ProcStat {
                pgrp: 4240,
                cpu_ticks: 325,
                rss_pages: 12000,
            })
        );
        assert_eq!(parse_stat("4242 (node) S 1"), None);
        assert_eq!(parse_stat("no parenthesis at all"), None);
    }

    #[test]
    fn this_process_is_in_its_own_group() {
        let pgid = nix::unistd::getpgrp().as_raw();
        assert!(!group_members(pgid).is_empty());
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        assert_eq!(
            parse_mem_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
        assert!(host_memory_bytes().is_some_and(|bytes| bytes > 0));
    }

    proptest! {
        #[test]
        fn parse_stat_never_panics(text in ".{0,200}") {
            let _ = parse_stat(&text);
        }

        #[test]
        fn any_command_name_leaves_the_fields_readable(name in "[ -~]{0,32}") {
            let text = format!("1 ({name}) R 0 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 9");
            prop_assert_eq!(parse_stat(&text), Some(ProcStat { pgrp: 77, cpu_ticks: 11, rss_pages: 9 }));
        }
    }
}
