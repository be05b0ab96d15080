//! CPU and memory use from two stats samples, with the meaning `docker stats` gives them.
//!
//! CPU: Docker divides the container's CPU time over the window by the whole host's CPU time
//! (`system_cpu_usage`) and multiplies by the number of CPUs, which comes to the container's CPU
//! time per second of the window: 100% is one CPU. Podman 4.3 reports `system_cpu_usage` far
//! too low (about a quarter of what `/proc/stat` counts on a 2-CPU host), which makes that
//! formula read 190% for a container held to half a CPU. So the window is measured by the
//! samples' own timestamps instead, which both engines report correctly.
//!
//! Memory: usage less the inactive page cache (`inactive_file` on cgroup v2,
//! `total_inactive_file` on v1), which the kernel can reclaim, as Docker's CLI shows it.

use bollard::models::{ContainerMemoryStats, ContainerStatsResponse};

use super::convert::timestamp;
use crate::container::ContainerStats;

/// Resource use between two samples of the same container.
pub(crate) fn container_stats(
    before: &ContainerStatsResponse,
    after: &ContainerStatsResponse,
) -> ContainerStats {
    let memory = after.memory_stats.clone().unwrap_or_default();
    let memory_bytes = memory_in_use(&memory);
    let memory_limit_bytes = memory.limit.unwrap_or(0);
    let memory_percent = if memory_limit_bytes == 0 {
        0.0
    } else {
        memory_bytes as f64 / memory_limit_bytes as f64 * 100.0
    };
    ContainerStats {
        cpu_percent: cpu_percent(before, after),
        memory_bytes,
        memory_limit_bytes,
        memory_percent,
    }
}

/// CPU use in percent of one CPU: the container's CPU time between the samples over the time
/// between them; 0 when either lacks the counters or no time passed.
fn cpu_percent(before: &ContainerStatsResponse, after: &ContainerStatsResponse) -> f64 {
    let cpu_time = |sample: &ContainerStatsResponse| {
        sample.cpu_stats.as_ref()?.cpu_usage.as_ref()?.total_usage
    };
    let read_at = |sample: &ContainerStatsResponse| sample.read.as_deref().and_then(timestamp);
    let (Some(cpu_before), Some(cpu_after), Some(read_before), Some(read_after)) = (
        cpu_time(before),
        cpu_time(after),
        read_at(before),
        read_at(after),
    ) else {
        return 0.0;
    };
    let elapsed_nanos = read_after.as_nanosecond() - read_before.as_nanosecond();
    if elapsed_nanos <= 0 {
        return 0.0;
    }
    cpu_after.saturating_sub(cpu_before) as f64 / elapsed_nanos as f64 * 100.0
}

/// Memory in use, without the reclaimable page cache.
fn memory_in_use(memory: &ContainerMemoryStats) -> u64 {
    let usage = memory.usage.unwrap_or(0);
    let cache = memory.stats.as_ref().and_then(|stats| {
        stats
            .get("inactive_file")
            .or_else(|| stats.get("total_inactive_file"))
            .copied()
    });
    match cache {
        Some(cache) if cache < usage => usage - cache,
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage};
    use std::collections::HashMap;

    fn sample(cpu_time: u64, read: &str) -> ContainerStatsResponse {
        ContainerStatsResponse {
            read: Some(read.to_owned()),
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(cpu_time),
                    ..Default::default()
                }),
                // Wrong, as Podman 4.3 reports it: it must not matter.
                system_cpu_usage: Some(cpu_time / 4),
                online_cpus: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_percent_is_cpu_time_per_second_of_the_window() {
        // Half a second of CPU time in one second: half of one CPU.
        let before = sample(1_000_000_000, "2026-11-22T00:00:00Z");
        let after = sample(1_500_000_000, "2026-11-22T00:00:01Z");
        assert_eq!(cpu_percent(&before, &after), 50.0);
        // Three seconds of CPU time in two seconds: one and a half CPUs.
        let later = sample(4_500_000_000, "2026-11-22T00:00:03.000000000Z");
        assert_eq!(cpu_percent(&after, &later), 150.0);
    }

    #[test]
    fn missing_counters_idle_containers_and_no_time_give_zero() {
        let idle = sample(5, "2026-11-22T00:00:00Z");
        assert_eq!(cpu_percent(&idle, &sample(5, "2026-11-22T00:00:01Z")), 0.0);
        assert_eq!(cpu_percent(&idle, &idle), 0.0);
        let unread = ContainerStatsResponse {
            read: None,
            ..sample(10, "")
        };
        assert_eq!(cpu_percent(&idle, &unread), 0.0);
        assert_eq!(cpu_percent(&ContainerStatsResponse::default(), &idle), 0.0);
    }

    #[test]
    fn memory_excludes_the_inactive_page_cache() {
        let with = |stats: &[(&str, u64)]| ContainerMemoryStats {
            usage: Some(100 << 20),
            limit: Some(400 << 20),
            stats: Some(
                stats
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), *value))
                    .collect::<HashMap<_, _>>(),
            ),
            ..Default::default()
        };
        assert_eq!(
            memory_in_use(&with(&[("inactive_file", 40 << 20)])),
            60 << 20
        );
        assert_eq!(
            memory_in_use(&with(&[("total_inactive_file", 30 << 20)])),
            70 << 20
        );
        assert_eq!(memory_in_use(&with(&[])), 100 << 20);
        let sample = ContainerStatsResponse {
            memory_stats: Some(with(&[("inactive_file", 0)])),
            ..Default::default()
        };
        let stats = container_stats(&sample, &sample);
        let memory = (
            stats.memory_bytes,
            stats.memory_limit_bytes,
            stats.memory_percent,
        );
        assert_eq!(memory, (100 << 20, 400 << 20, 25.0));
    }
}
