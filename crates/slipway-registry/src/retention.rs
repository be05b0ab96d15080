//! Retention: which tags and manifests to keep, as policy, and removing the rest.
//!
//! A [`RetentionPolicy`] applies to the repositories its globs match (the first matching policy
//! wins). It keeps a tag when any of its `keep_*` rules does: among the N most recently pushed,
//! matching a pattern, or pushed or pulled within a period; a policy with no `keep_*` rule
//! removes no tags. With `delete_untagged_after`, a manifest that no surviving tag holds goes once
//! it is older than that, unless an index that stays lists it; a referrer (signature, SBOM) lives
//! and dies with its subject.
//!
//! Retention works in two steps so that `--dry-run` shows exactly what a real run does:
//! [`Registry::plan_retention`] reads every repository and returns a [`RetentionPlan`] with a
//! reason for each removal; [`Registry::apply_retention`] carries it out, re-checking each
//! removal under the repository's lock (a tag pushed again since the plan is left alone). Removed
//! manifests' blobs are freed by the next garbage collection.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use globset::GlobSet;
use serde::Serialize;
use slipway_store::RegistryEventKind;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::name::{GlobError, RepositoryName, Tag, repository_globs, tag_globs};
use crate::registry::{Registry, remove_manifest};
use crate::repositories::{RevisionRecord, TagRecord, tag_order};

/// What to keep in the repositories a policy applies to.
#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    repositories: GlobSet,
    keep_last: Option<u32>,
    keep_tags: Option<(GlobSet, Vec<String>)>,
    keep_recent: Option<Duration>,
    delete_untagged_after: Option<Duration>,
}

/// The rules of a [`RetentionPolicy`], as written in config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRules {
    /// Repository globs the policy applies to.
    pub repositories: Vec<String>,
    /// Keep the N most recently pushed tags.
    pub keep_last: Option<u32>,
    /// Keep tags matching these globs.
    pub keep_tags: Vec<String>,
    /// Keep tags pushed or pulled within this period.
    pub keep_recent: Option<Duration>,
    /// Delete manifests no tag holds once older than this.
    pub delete_untagged_after: Option<Duration>,
}

impl RetentionPolicy {
    /// Compiles `rules`.
    pub fn new(rules: &RetentionRules) -> Result<RetentionPolicy, GlobError> {
        let keep_tags = if rules.keep_tags.is_empty() {
            None
        } else {
            Some((tag_globs(&rules.keep_tags)?, rules.keep_tags.clone()))
        };
        Ok(RetentionPolicy {
            repositories: repository_globs(&rules.repositories)?,
            keep_last: rules.keep_last,
            keep_tags,
            keep_recent: rules.keep_recent,
            delete_untagged_after: rules.delete_untagged_after,
        })
    }

    fn applies_to(&self, repository: &RepositoryName) -> bool {
        self.repositories.is_match(repository.as_str())
    }

    fn keeps_tags_by_rule(&self) -> bool {
        self.keep_last.is_some() || self.keep_tags.is_some() || self.keep_recent.is_some()
    }
}

impl From<&slipway_config::RetentionSettings> for RetentionRules {
    fn from(settings: &slipway_config::RetentionSettings) -> RetentionRules {
        RetentionRules {
            repositories: settings.repositories.clone(),
            keep_last: settings.keep_last,
            keep_tags: settings.keep_tags.clone(),
            keep_recent: settings.keep_recent.map(slipway_config::DurationText::get),
            delete_untagged_after: settings
                .delete_untagged_after
                .map(slipway_config::DurationText::get),
        }
    }
}

/// Policies in order: the first that applies to a repository is its policy.
#[derive(Debug, Clone, Default)]
pub struct RetentionPolicies(Vec<RetentionPolicy>);

impl RetentionPolicies {
    /// The policies, in order.
    pub fn new(policies: Vec<RetentionPolicy>) -> RetentionPolicies {
        RetentionPolicies(policies)
    }

    /// Compiles the `[[registry.server.retention]]` tables.
    pub fn from_settings(
        settings: &[slipway_config::RetentionSettings],
    ) -> Result<RetentionPolicies, GlobError> {
        settings
            .iter()
            .map(|settings| RetentionPolicy::new(&settings.into()))
            .collect::<Result<_, _>>()
            .map(RetentionPolicies)
    }

    /// Whether there is no policy at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn for_repository(&self, repository: &RepositoryName) -> Option<&RetentionPolicy> {
        self.0.iter().find(|policy| policy.applies_to(repository))
    }
}

/// What retention would remove, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionPlan {
    /// The removals, repository by repository: tags first, then manifests.
    pub removals: Vec<Removal>,
}

/// One thing retention removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The repository.
    pub repository: RepositoryName,
    /// The tag or manifest.
    #[serde(flatten)]
    pub target: RemovalTarget,
    /// Why no rule keeps it.
    pub reason: String,
}

/// A tag or a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RemovalTarget {
    /// A tag, which pointed at `digest` when planned.
    Tag {
        /// The tag.
        tag: Tag,
        /// What it pointed at.
        digest: Digest,
    },
    /// A manifest with every tag left on it.
    Manifest {
        /// The manifest.
        digest: Digest,
    },
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionOutcome {
    /// Tags removed.
    pub tags_removed: usize,
    /// Manifests removed.
    pub manifests_removed: usize,
    /// Removals left alone because the repository changed since the plan.
    pub skipped: usize,
}

/// A repository as retention sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) tags: Vec<(Tag, TagRecord)>,
    pub(crate) revisions: BTreeMap<Digest, RevisionRecord>,
    pub(crate) pulls: HashMap<Digest, SystemTime>,
}

impl Registry {
    /// Decides what `policies` remove from every repository, as of `now`.
    pub async fn plan_retention(
        &self,
        policies: &RetentionPolicies,
        now: SystemTime,
    ) -> Result<RetentionPlan, RegistryError> {
        let policies = policies.clone();
        self.metadata(move |repositories| {
            let mut removals = Vec::new();
            for name in repositories.names()? {
                let Some(policy) = policies.for_repository(&name) else {
                    continue;
                };
                let revisions: BTreeMap<Digest, RevisionRecord> =
                    repositories.revisions(&name)?.into_iter().collect();
                let pulls = revisions
                    .keys()
                    .filter_map(|digest| {
                        Some((digest.clone(), repositories.last_pull(&name, digest)?))
                    })
                    .collect();
                let snapshot = Snapshot {
                    tags: repositories.tags(&name)?,
                    revisions,
                    pulls,
                };
                removals.extend(plan(policy, &name, &snapshot, now));
            }
            Ok(RetentionPlan { removals })
        })
        .await
    }

    /// Carries out `plan`, skipping what changed since it was made, and records each removal.
    pub async fn apply_retention(
        &self,
        plan: &RetentionPlan,
    ) -> Result<RetentionOutcome, RegistryError> {
        let mut outcome = RetentionOutcome::default();
        for removal in &plan.removals {
            let (name, target) = (removal.repository.clone(), removal.target.clone());
            let removed = self
                .metadata(move |repositories| {
                    let _lock = repositories.lock(&name)?;
                    match &target {
                        RemovalTarget::Tag { tag, digest } => match repositories.tag(&name, tag)? {
                            Some(record) if &record.digest == digest => {
                                repositories.remove_tag(&name, tag)
                            }
                            _ => Ok(false),
                        },
                        RemovalTarget::Manifest { digest } => {
                            let tagged = repositories
                                .tags(&name)?
                                .iter()
                                .any(|(_, record)| &record.digest == digest);
                            if tagged {
                                Ok(false)
                            } else {
                                remove_manifest(repositories, &name, digest)
                            }
                        }
                    }
                })
                .await?;
            if !removed {
                outcome.skipped += 1;
                continue;
            }
            let (tag, digest, what) = match &removal.target {
                RemovalTarget::Tag { tag, digest } => {
                    outcome.tags_removed += 1;
                    (Some(tag), digest, "tag")
                }
                RemovalTarget::Manifest { digest } => {
                    outcome.manifests_removed += 1;
                    (None, digest, "manifest")
                }
            };
            let detail = format!("{what} removed by retention: {}", removal.reason);
            self.record(
                RegistryEventKind::Delete,
                Some(&removal.repository),
                tag,
                Some(digest),
                &detail,
            )
            .await;
        }
        Ok(outcome)
    }
}

/// What `policy` removes from the repository `snapshot` shows, as of `now`.
pub(crate) fn plan(
    policy: &RetentionPolicy,
    name: &RepositoryName,
    snapshot: &Snapshot,
    now: SystemTime,
) -> Vec<Removal> {
    let mut removals = Vec::new();
    let mut surviving: Vec<&(Tag, TagRecord)> = snapshot.tags.iter().collect();
    if policy.keeps_tags_by_rule() {
        let mut by_push = surviving.clone();
        by_push.sort_by(|(a, a_record), (b, b_record)| {
            b_record
                .pushed_at
                .cmp(&a_record.pushed_at)
                .then_with(|| tag_order(a, b))
        });
        for (rank, (tag, record)) in by_push.into_iter().enumerate() {
            if let Some(reason) = tag_removal_reason(
                policy,
                rank,
                tag,
                record,
                snapshot.pulls.get(&record.digest),
                now,
            ) {
                surviving.retain(|(kept, _)| kept != tag);
                removals.push(Removal {
                    repository: name.clone(),
                    target: RemovalTarget::Tag {
                        tag: tag.clone(),
                        digest: record.digest.clone(),
                    },
                    reason,
                });
            }
        }
    }
    if let Some(after) = policy.delete_untagged_after {
        let alive = alive(
            snapshot,
            surviving.iter().map(|(_, record)| record.digest.clone()),
        );
        removals.extend(
            untagged_removals(snapshot, &alive, after, now)
                .into_iter()
                .map(|(digest, reason)| Removal {
                    repository: name.clone(),
                    target: RemovalTarget::Manifest { digest },
                    reason,
                }),
        );
    }
    removals
}

/// Why no rule keeps a tag, or `None` when one does. `rank` is its place among the tags by push
/// time, newest first, from 0.
fn tag_removal_reason(
    policy: &RetentionPolicy,
    rank: usize,
    tag: &Tag,
    record: &TagRecord,
    last_pull: Option<&SystemTime>,
    now: SystemTime,
) -> Option<String> {
    let pushed_ago = age(now, SystemTime::from(record.pushed_at));
    let pulled_ago = last_pull.map(|pulled| age(now, *pulled));
    let mut reasons = Vec::new();
    if let Some(keep_last) = policy.keep_last {
        if rank < keep_last as usize {
            return None;
        }
        reasons.push(format!(
            "it is the {} most recently pushed (keep_last = {keep_last})",
            ordinal(rank + 1)
        ));
    }
    if let Some((globs, patterns)) = &policy.keep_tags {
        if globs.is_match(tag.as_str()) {
            return None;
        }
        reasons.push(format!(
            "it matches none of keep_tags ({})",
            patterns.join(", ")
        ));
    }
    if let Some(period) = policy.keep_recent {
        if pushed_ago < period || pulled_ago.is_some_and(|ago| ago < period) {
            return None;
        }
        let pulled = pulled_ago.map_or("never pulled".to_owned(), |ago| {
            format!("last pulled {} ago", human(ago))
        });
        reasons.push(format!(
            "it was pushed {} ago and {pulled} (keep_recent = {})",
            human(pushed_ago),
            human(period)
        ));
    }
    Some(reasons.join("; "))
}

/// The manifests the surviving tags hold: the tagged ones, what indexes among them list, and
/// their referrers, transitively.
fn alive(snapshot: &Snapshot, tagged: impl Iterator<Item = Digest>) -> HashSet<Digest> {
    let mut referrers: HashMap<&Digest, Vec<&Digest>> = HashMap::new();
    for (digest, record) in &snapshot.revisions {
        if let Some(subject) = &record.subject {
            referrers.entry(subject).or_default().push(digest);
        }
    }
    let mut alive = HashSet::new();
    let mut pending: Vec<Digest> = tagged.collect();
    while let Some(digest) = pending.pop() {
        if !alive.insert(digest.clone()) {
            continue;
        }
        if let Some(record) = snapshot.revisions.get(&digest) {
            pending.extend(record.manifests.iter().cloned());
        }
        pending.extend(
            referrers
                .get(&digest)
                .into_iter()
                .flatten()
                .map(|referrer| (*referrer).clone()),
        );
    }
    alive
}

/// The manifests outside `alive` that go, with why, in the order they can go: an index's
/// children once the index goes, a referrer with its subject.
fn untagged_removals(
    snapshot: &Snapshot,
    alive: &HashSet<Digest>,
    after: Duration,
    now: SystemTime,
) -> Vec<(Digest, String)> {
    let mut removed: Vec<(Digest, String)> = Vec::new();
    let mut gone: HashSet<&Digest> = HashSet::new();
    loop {
        let mut changed = false;
        for (digest, record) in &snapshot.revisions {
            if alive.contains(digest) || gone.contains(digest) {
                continue;
            }
            let pushed_ago = age(now, SystemTime::from(record.pushed_at));
            let reason = match &record.subject {
                Some(subject) if gone.contains(subject) => {
                    Some(format!("a referrer of {subject}, which goes"))
                }
                Some(subject)
                    if !snapshot.revisions.contains_key(subject) && pushed_ago > after =>
                {
                    Some(format!(
                        "a referrer of {subject}, which is not in the repository, pushed {} ago (delete_untagged_after = {})",
                        human(pushed_ago),
                        human(after)
                    ))
                }
                Some(_) => None,
                None => {
                    let listed = snapshot.revisions.iter().any(|(index, index_record)| {
                        index != digest
                            && !gone.contains(index)
                            && index_record.manifests.contains(digest)
                    });
                    (!listed && pushed_ago > after).then(|| {
                        format!(
                            "untagged, pushed {} ago (delete_untagged_after = {})",
                            human(pushed_ago),
                            human(after)
                        )
                    })
                }
            };
            if let Some(reason) = reason {
                gone.insert(digest);
                removed.push((digest.clone(), reason));
                changed = true;
            }
        }
        if !changed {
            return removed;
        }
    }
}

fn age(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

/// A duration the way retention settings are written: the largest whole unit (`40d`, `5h`).
fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + DAY * 1000
    }

    fn digest(text: &str) -> Digest {
        Digest::sha256(text.as_bytes())
    }

    fn at(days_ago: u64) -> jiff::Timestamp {
        jiff::Timestamp::try_from(now() - DAY * u32::try_from(days_ago).unwrap()).unwrap()
    }

    fn revision(days_ago: u64, subject: Option<&str>, manifests: &[&str]) -> RevisionRecord {
        RevisionRecord {
            media_type: crate::manifest::OCI_MANIFEST.to_owned(),
            size: 1,
            pushed_at: at(days_ago),
            artifact_type: None,
            subject: subject.map(digest),
            manifests: manifests.iter().map(|m| digest(m)).collect(),
            annotations: BTreeMap::new(),
        }
    }

    fn tag(name: &str, target: &str, days_ago: u64) -> (Tag, TagRecord) {
        (
            name.parse().unwrap(),
            TagRecord {
                digest: digest(target),
                pushed_at: at(days_ago),
            },
        )
    }

    fn policy(rules: RetentionRules) -> RetentionPolicy {
        RetentionPolicy::new(&RetentionRules {
            repositories: vec!["**".into()],
            ..rules
        })
        .unwrap()
    }

    fn removed(removals: &[Removal]) -> Vec<String> {
        removals
            .iter()
            .map(|removal| match &removal.target {
                RemovalTarget::Tag { tag, .. } => format!("tag {tag}"),
                RemovalTarget::Manifest { digest: removed } => {
                    let name = [
                        "a",
                        "b",
                        "c",
                        "d",
                        "index",
                        "sig",
                        "orphan-sig",
                        "sig-of-sig",
                    ]
                    .into_iter()
                    .find(|name| &digest(name) == removed)
                    .unwrap_or("?");
                    format!("manifest {name}")
                }
            })
            .collect()
    }

    fn name() -> RepositoryName {
        "shop/web".parse().unwrap()
    }

    #[test]
    fn keep_last_keeps_the_newest_tags_and_explains_the_rest() {
        let snapshot = Snapshot {
            tags: vec![tag("v1", "a", 30), tag("v2", "b", 20), tag("v3", "c", 10)],
            revisions: [("a", 30), ("b", 20), ("c", 10)]
                .into_iter()
                .map(|(m, d)| (digest(m), revision(d, None, &[])))
                .collect(),
            pulls: HashMap::new(),
        };
        let removals = plan(
            &policy(RetentionRules {
                keep_last: Some(2),
                ..RetentionRules::default()
            }),
            &name(),
            &snapshot,
            now(),
        );
        assert_eq!(removed(&removals), ["tag v1"]);
        assert_eq!(
            removals[0].reason,
            "it is the 3rd most recently pushed (keep_last = 2)"
        );
    }

    #[test]
    fn any_keep_rule_keeps_a_tag_and_untagged_manifests_go_when_old() {
        let snapshot = Snapshot {
            tags: vec![
                tag("v1.0.0", "a", 90),
                tag("main", "b", 60),
                tag("prod-1", "c", 50),
                tag("pulled", "d", 70),
            ],
            revisions: [("a", 90), ("b", 60), ("c", 50), ("d", 70)]
                .into_iter()
                .map(|(m, d)| (digest(m), revision(d, None, &[])))
                .collect(),
            pulls: [(digest("d"), now() - DAY)].into_iter().collect(),
        };
        let rules = RetentionRules {
            keep_last: Some(0),
            keep_tags: vec!["v*.*.*".into(), "prod-*".into()],
            keep_recent: Some(30 * DAY),
            delete_untagged_after: Some(30 * DAY),
            ..RetentionRules::default()
        };
        let removals = plan(&policy(rules), &name(), &snapshot, now());
        assert_eq!(removed(&removals), ["tag main", "manifest b"]);
        assert_eq!(
            removals[0].reason,
            "it is the 2nd most recently pushed (keep_last = 0); it matches none of keep_tags (v*.*.*, prod-*); \
             it was pushed 60d ago and never pulled (keep_recent = 30d)"
        );
        assert_eq!(
            removals[1].reason,
            "untagged, pushed 60d ago (delete_untagged_after = 30d)"
        );
    }

    #[test]
    fn referrers_live_and_die_with_their_subject_and_indexes_hold_their_children() {
        let snapshot = Snapshot {
            tags: vec![tag("kept", "index", 5)],
            revisions: [
                (digest("index"), revision(5, None, &["a", "b"])),
                (digest("a"), revision(100, None, &[])),
                (digest("b"), revision(100, None, &[])),
                (digest("c"), revision(100, None, &[])),
                (digest("sig"), revision(1, Some("c"), &[])),
                (digest("sig-of-sig"), revision(1, Some("sig"), &[])),
                (digest("d"), revision(100, None, &[])),
                (digest("orphan-sig"), revision(100, Some("nowhere"), &[])),
            ]
            .into_iter()
            .collect(),
            pulls: HashMap::new(),
        };
        let rules = RetentionRules {
            delete_untagged_after: Some(30 * DAY),
            ..RetentionRules::default()
        };
        let mut gone = removed(&plan(&policy(rules), &name(), &snapshot, now()));
        gone.sort();
        assert_eq!(
            gone,
            [
                "manifest c",
                "manifest d",
                "manifest orphan-sig",
                "manifest sig",
                "manifest sig-of-sig"
            ]
        );
    }

    #[test]
    fn a_policy_without_keep_rules_removes_no_tags() {
        let snapshot = Snapshot {
            tags: vec![tag("old", "a", 500)],
            revisions: [(digest("a"), revision(500, None, &[]))]
                .into_iter()
                .collect(),
            pulls: HashMap::new(),
        };
        let rules = RetentionRules {
            delete_untagged_after: Some(DAY),
            ..RetentionRules::default()
        };
        assert_eq!(plan(&policy(rules), &name(), &snapshot, now()), []);
    }

    #[test]
    fn the_first_matching_policy_applies() {
        let policies = RetentionPolicies::new(vec![
            RetentionPolicy::new(&RetentionRules {
                repositories: vec!["shop/*".into()],
                keep_last: Some(1),
                ..RetentionRules::default()
            })
            .unwrap(),
            policy(RetentionRules {
                keep_last: Some(5),
                ..RetentionRules::default()
            }),
        ]);
        assert_eq!(policies.for_repository(&name()).unwrap().keep_last, Some(1));
        assert_eq!(
            policies
                .for_repository(&"shop/team/web".parse().unwrap())
                .unwrap()
                .keep_last,
            Some(5)
        );
    }

    #[test]
    fn ordinals_and_durations_read_naturally() {
        assert_eq!(
            [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101].map(ordinal),
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st"
            ]
        );
        assert_eq!(human(40 * DAY), "40d");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(59)), "59s");
    }
}
