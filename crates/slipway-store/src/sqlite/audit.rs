//! [`AuditStore`] over SQLite: the `audit_entries` table, a hash chain.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, named_params};

use super::{SqliteStore, timestamp_ns};
use crate::audit::GENESIS_HASH;
use crate::{
    AuditCheck, AuditEntry, AuditProblem, AuditStore, NewAuditEntry, Page, PageRequest, StoreError,
};

const COLUMNS: &str = "id, at_ns, actor, action, target, detail, remote_addr, prev_hash, hash";

impl AuditStore for SqliteStore {
    fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let at_ns = timestamp_ns("at", entry.at)?;
        self.write(|transaction| {
            // Under the write lock (IMMEDIATE), so no other appender, in this process or
            // another, can read the same last entry and fork the chain.
            let last: Option<(i64, String)> = transaction
                .prepare_cached("SELECT id, hash FROM audit_entries ORDER BY id DESC LIMIT 1")?
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let (previous_id, prev_hash) = last.unwrap_or_else(|| (0, GENESIS_HASH.to_owned()));
            let id = previous_id + 1;
            let hash = AuditEntry::compute_hash(id, entry, &prev_hash);
            transaction
                .prepare_cached(
                    "INSERT INTO audit_entries (id, at_ns, actor, action, target, detail, \
                     remote_addr, prev_hash, hash) VALUES (:id, :at_ns, :actor, :action, \
                     :target, :detail, :remote_addr, :prev_hash, :hash)",
                )?
                .execute(named_params! {
                    ":id": id,
                    ":at_ns": at_ns,
                    ":actor": entry.actor,
                    ":action": entry.action,
                    ":target": entry.target,
                    ":detail": entry.detail,
                    ":remote_addr": entry.remote_addr,
                    ":prev_hash": prev_hash,
                    ":hash": hash,
                })?;
            Ok(AuditEntry {
                id,
                record: entry.clone(),
                prev_hash,
                hash,
            })
        })
    }

    fn audit_entries(&self, page: &PageRequest) -> Result<Page<AuditEntry>, StoreError> {
        self.newest_first("audit_entries", COLUMNS, page, decode, |entry| entry.id)
    }

    fn verify_audit(&self) -> Result<AuditCheck, StoreError> {
        self.read(|transaction| {
            let mut statement = transaction.prepare(&format!(
                "SELECT {COLUMNS} FROM audit_entries ORDER BY id ASC"
            ))?;
            let mut rows = statement.query([])?;
            let (mut previous_id, mut previous_hash) = (0, GENESIS_HASH.to_owned());
            let mut entries = 0;
            while let Some(row) = rows.next()? {
                let entry = decode(row)?;
                if let Some(problem) = check(&entry, previous_id, &previous_hash) {
                    return Ok(AuditCheck::Broken {
                        id: entry.id,
                        problem,
                    });
                }
                entries += 1;
                previous_id = entry.id;
                previous_hash = entry.hash;
            }
            Ok(AuditCheck::Intact {
                entries,
                head: (entries > 0).then_some(previous_hash),
            })
        })
    }
}

/// What is wrong with `entry` after an entry `previous_id` whose hash is `previous_hash`.
fn check(entry: &AuditEntry, previous_id: i64, previous_hash: &str) -> Option<AuditProblem> {
    if entry.prev_hash != previous_hash {
        return Some(AuditProblem::BrokenLink {
            expected: previous_hash.to_owned(),
            found: entry.prev_hash.clone(),
        });
    }
    if entry.id != previous_id + 1 {
        return Some(AuditProblem::Gap {
            previous: previous_id,
        });
    }
    if AuditEntry::compute_hash(entry.id, &entry.record, &entry.prev_hash) != entry.hash {
        return Some(AuditProblem::HashMismatch);
    }
    None
}

fn decode(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let at_ns: i64 = row.get("at_ns")?;
    let at = jiff::Timestamp::from_nanosecond(at_ns.into()).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(1, Type::Integer, error.to_string().into())
    })?;
    Ok(AuditEntry {
        id: row.get("id")?,
        record: NewAuditEntry {
            at,
            actor: row.get("actor")?,
            action: row.get("action")?,
            target: row.get("target")?,
            detail: row.get("detail")?,
            remote_addr: row.get("remote_addr")?,
        },
        prev_hash: row.get("prev_hash")?,
        hash: row.get("hash")?,
    })
}
