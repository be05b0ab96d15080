//! [`ScanStore`] over SQLite: the `scans` and `scan_reports` tables.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, ToSql, Transaction, named_params};

use super::SqliteStore;
use crate::{
    NewScan, Scan, ScanGate, ScanId, ScanQuery, ScanStore, ScanVerdict, SeverityCounts, StoreError,
};

const COLUMNS: &str = "id, digest, image_id, reference, scanned_at_ns, outcome, fail_on, \
     max_advisory_age_s, critical, high, medium, low, unknown";

impl ScanStore for SqliteStore {
    fn record_scan(&self, scan: &NewScan) -> Result<ScanId, StoreError> {
        let scanned_at_ns =
            i64::try_from(scan.scanned_at.as_nanosecond()).map_err(|_| StoreError::OutOfRange {
                field: "scanned_at",
                value: scan.scanned_at.to_string(),
            })?;
        let outcome = match &scan.verdict {
            ScanVerdict::Passed => "passed",
            ScanVerdict::Failed { .. } => "failed",
            ScanVerdict::NotChecked { .. } => "not_checked",
        };
        let reasons = scan.verdict.reasons();
        let max_advisory_age_s = scan
            .judged_with
            .as_ref()
            .map(|gate| i64::try_from(gate.max_advisory_age_s).unwrap_or(i64::MAX));
        self.write(|transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO scans (digest, image_id, reference, scanned_at_ns, passed, \
                     outcome, fail_on, max_advisory_age_s, critical, high, medium, low, unknown) \
                     VALUES (:digest, :image_id, :reference, :scanned_at_ns, :passed, \
                     :outcome, :fail_on, :max_advisory_age_s, \
                     :critical, :high, :medium, :low, :unknown)",
                )?
                .execute(named_params! {
                    ":digest": scan.digest,
                    ":image_id": scan.image_id,
                    ":reference": scan.reference,
                    ":scanned_at_ns": scanned_at_ns,
                    ":passed": scan.verdict.passed(),
                    ":outcome": outcome,
                    ":fail_on": scan.judged_with.as_ref().and_then(|gate| gate.fail_on.as_deref()),
                    ":max_advisory_age_s": max_advisory_age_s,
                    ":critical": scan.counts.critical,
                    ":high": scan.counts.high,
                    ":medium": scan.counts.medium,
                    ":low": scan.counts.low,
                    ":unknown": scan.counts.unknown,
                })?;
            let id = transaction.last_insert_rowid();
            let mut insert_reason = transaction.prepare_cached(
                "INSERT INTO scan_reasons (scan_id, position, reason) VALUES (?1, ?2, ?3)",
            )?;
            for (position, reason) in (0_i64..).zip(reasons) {
                insert_reason.execute((id, position, reason))?;
            }
            transaction
                .prepare_cached("INSERT INTO scan_reports (scan_id, report) VALUES (?1, ?2)")?
                .execute((id, &scan.report))?;
            Ok(ScanId::new(id))
        })
    }

    fn scan(&self, id: ScanId) -> Result<Option<Scan>, StoreError> {
        self.read(|transaction| {
            let sql = format!("SELECT {COLUMNS} FROM scans WHERE id = ?1");
            let scan = transaction
                .prepare_cached(&sql)?
                .query_row([id.get()], decode)
                .optional()?;
            scan.map(|scan| with_report(transaction, with_reasons(transaction, scan)?))
                .transpose()
        })
    }

    fn latest_scan(&self, digest: &str) -> Result<Option<Scan>, StoreError> {
        self.read(|transaction| {
            // Two indexed lookups rather than one OR, which SQLite would answer with a scan.
            let mut newest: Option<Scan> = None;
            for column in ["digest", "image_id"] {
                let sql = format!(
                    "SELECT {COLUMNS} FROM scans WHERE {column} = ?1 ORDER BY scanned_at_ns DESC, id DESC LIMIT 1"
                );
                let found = transaction.prepare_cached(&sql)?.query_row([digest], decode).optional()?;
                if let Some(found) = found
                    && newest.as_ref().is_none_or(|best| (found.record.scanned_at, found.id) > (best.record.scanned_at, best.id))
                {
                    newest = Some(found);
                }
            }
            newest.map(|scan| with_report(transaction, with_reasons(transaction, scan)?)).transpose()
        })
    }

    fn scans(&self, query: &ScanQuery) -> Result<Vec<Scan>, StoreError> {
        let mut parameters: Vec<&dyn ToSql> = Vec::new();
        let filter = match &query.digest {
            Some(digest) => {
                parameters.push(digest);
                parameters.push(digest);
                "WHERE digest = ? OR image_id = ?"
            }
            None => "",
        };
        // SQLite reads a negative LIMIT as no limit.
        let limit = query.limit.map_or(-1, i64::from);
        parameters.push(&limit);
        let sql = format!(
            "SELECT {COLUMNS} FROM scans {filter} ORDER BY scanned_at_ns DESC, id DESC LIMIT ?"
        );
        self.read(|transaction| {
            let scans: Vec<Scan> = transaction
                .prepare_cached(&sql)?
                .query_map(parameters.as_slice(), decode)?
                .collect::<Result<_, _>>()?;
            scans
                .into_iter()
                .map(|scan| with_reasons(transaction, scan))
                .collect()
        })
    }
}

/// Fills in the reasons of a scan that failed or was not checked.
fn with_reasons(transaction: &Transaction<'_>, mut scan: Scan) -> rusqlite::Result<Scan> {
    if let ScanVerdict::Failed { reasons } | ScanVerdict::NotChecked { reasons } =
        &mut scan.record.verdict
    {
        *reasons = transaction
            .prepare_cached("SELECT reason FROM scan_reasons WHERE scan_id = ?1 ORDER BY position")?
            .query_map([scan.id.get()], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(scan)
}

fn with_report(transaction: &Transaction<'_>, mut scan: Scan) -> rusqlite::Result<Scan> {
    scan.record.report = transaction
        .prepare_cached("SELECT report FROM scan_reports WHERE scan_id = ?1")?
        .query_row([scan.id.get()], |row| row.get(0))
        .optional()?
        .unwrap_or_default();
    Ok(scan)
}

fn decode(row: &Row<'_>) -> rusqlite::Result<Scan> {
    let scanned_at_ns: i64 = row.get("scanned_at_ns")?;
    let scanned_at = jiff::Timestamp::from_nanosecond(scanned_at_ns.into()).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(4, Type::Integer, error.to_string().into())
    })?;
    // Reasons are filled in by `with_reasons`.
    let outcome: String = row.get("outcome")?;
    let verdict = match outcome.as_str() {
        "passed" => ScanVerdict::Passed,
        "not_checked" => ScanVerdict::NotChecked {
            reasons: Vec::new(),
        },
        _ => ScanVerdict::Failed {
            reasons: Vec::new(),
        },
    };
    // Both NULL for scans recorded before schema 6, which did not keep their gate.
    let max_advisory_age_s: Option<i64> = row.get("max_advisory_age_s")?;
    let fail_on: Option<String> = row.get("fail_on")?;
    let judged_with = max_advisory_age_s.map(|age| ScanGate {
        fail_on,
        max_advisory_age_s: u64::try_from(age).unwrap_or(0),
    });
    Ok(Scan {
        id: ScanId::new(row.get("id")?),
        record: NewScan {
            digest: row.get("digest")?,
            image_id: row.get("image_id")?,
            reference: row.get("reference")?,
            scanned_at,
            verdict,
            judged_with,
            counts: SeverityCounts {
                critical: row.get("critical")?,
                high: row.get("high")?,
                medium: row.get("medium")?,
                low: row.get("low")?,
                unknown: row.get("unknown")?,
            },
            report: String::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(digest: &str, image_id: Option<&str>, at: &str, verdict: ScanVerdict) -> NewScan {
        NewScan {
            digest: digest.to_owned(),
            image_id: image_id.map(str::to_owned),
            reference: "app:1".to_owned(),
            scanned_at: at.parse().unwrap(),
            verdict,
            judged_with: Some(ScanGate {
                fail_on: Some("critical".to_owned()),
                max_advisory_age_s: 604_800,
            }),
            counts: SeverityCounts {
                critical: 1,
                high: 2,
                medium: 3,
                low: 4,
                unknown: 5,
            },
            report: format!("{{\"target\": \"{digest}\"}}"),
        }
    }

    #[test]
    fn the_latest_scan_of_a_digest_is_found_by_either_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.latest_scan("sha256:m1").unwrap(), None);
        let failed = ScanVerdict::Failed {
            reasons: vec!["1 finding at critical or above".to_owned()],
        };
        let first = store
            .record_scan(&scan(
                "sha256:m1",
                Some("sha256:c1"),
                "2025-01-01T00:00:00Z",
                failed.clone(),
            ))
            .unwrap();
        let second = store
            .record_scan(&scan(
                "sha256:m1",
                Some("sha256:c1"),
                "2025-01-02T00:00:00Z",
                ScanVerdict::Passed,
            ))
            .unwrap();
        store
            .record_scan(&scan(
                "sha256:other",
                None,
                "2025-01-03T00:00:00Z",
                failed.clone(),
            ))
            .unwrap();

        let latest = store.latest_scan("sha256:m1").unwrap().unwrap();
        assert_eq!(latest.id, second);
        assert!(latest.record.verdict.passed());
        assert_eq!(latest.record.report, "{\"target\": \"sha256:m1\"}");
        assert_eq!(
            store.latest_scan("sha256:c1").unwrap().unwrap().id,
            second,
            "found by image id too"
        );

        let first_read = store.scan(first).unwrap().unwrap();
        assert_eq!(
            first_read.record,
            scan(
                "sha256:m1",
                Some("sha256:c1"),
                "2025-01-01T00:00:00Z",
                failed
            )
        );
        let listed = store
            .scans(&ScanQuery {
                digest: Some("sha256:c1".to_owned()),
                limit: None,
            })
            .unwrap();
        assert_eq!(
            listed.iter().map(|scan| scan.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert!(
            listed.iter().all(|scan| scan.record.report.is_empty()),
            "listings leave reports out"
        );
        assert_eq!(
            store
                .scans(&ScanQuery {
                    limit: Some(1),
                    ..ScanQuery::default()
                })
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_not_checked_scan_and_a_scan_judged_without_a_threshold_read_back_as_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut not_checked = scan(
            "sha256:n1",
            None,
            "2025-01-01T00:00:00Z",
            ScanVerdict::NotChecked {
                reasons: vec!["the advisory database holds nothing about npm".to_owned()],
            },
        );
        not_checked.judged_with = Some(ScanGate {
            fail_on: None,
            max_advisory_age_s: 60,
        });
        let id = store.record_scan(&not_checked).unwrap();
        let read = store.scan(id).unwrap().unwrap();
        assert_eq!(read.record, not_checked);
        assert!(!read.record.verdict.passed());
        assert_eq!(read.record.verdict.as_str(), "not checked");
    }
}
