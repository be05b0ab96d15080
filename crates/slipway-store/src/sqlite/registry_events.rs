//! [`RegistryEventStore`] over SQLite: the `registry_events` table.

use rusqlite::types::Type;
use rusqlite::{Row, ToSql, named_params};

use super::SqliteStore;
use crate::{
    NewRegistryEvent, RegistryEvent, RegistryEventId, RegistryEventKind, RegistryEventQuery,
    RegistryEventStore, StoreError,
};

impl RegistryEventStore for SqliteStore {
    fn record_registry_event(
        &self,
        event: &NewRegistryEvent,
    ) -> Result<RegistryEventId, StoreError> {
        let at_ns =
            i64::try_from(event.at.as_nanosecond()).map_err(|_| StoreError::OutOfRange {
                field: "at",
                value: event.at.to_string(),
            })?;
        self.write(|transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO registry_events (at_ns, kind, repository, tag, digest, detail) \
                     VALUES (:at_ns, :kind, :repository, :tag, :digest, :detail)",
                )?
                .execute(named_params! {
                    ":at_ns": at_ns,
                    ":kind": kind_name(event.kind),
                    ":repository": event.repository,
                    ":tag": event.tag,
                    ":digest": event.digest,
                    ":detail": event.detail,
                })?;
            Ok(RegistryEventId::new(transaction.last_insert_rowid()))
        })
    }

    fn registry_events(
        &self,
        query: &RegistryEventQuery,
    ) -> Result<Vec<RegistryEvent>, StoreError> {
        let kind = query.kind.map(kind_name);
        let mut conditions = Vec::new();
        let mut parameters: Vec<&dyn ToSql> = Vec::new();
        if let Some(kind) = &kind {
            conditions.push("kind = ?");
            parameters.push(kind);
        }
        if let Some(repository) = &query.repository {
            conditions.push("repository = ?");
            parameters.push(repository);
        }
        // SQLite reads a negative LIMIT as no limit.
        let limit = query.limit.map_or(-1, i64::from);
        parameters.push(&limit);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT id, at_ns, kind, repository, tag, digest, detail FROM registry_events \
             {filter} ORDER BY at_ns DESC, id DESC LIMIT ?"
        );
        self.read(|transaction| {
            transaction
                .prepare_cached(&sql)?
                .query_map(parameters.as_slice(), decode)?
                .collect()
        })
    }
}

fn decode(row: &Row<'_>) -> rusqlite::Result<RegistryEvent> {
    let at_ns: i64 = row.get("at_ns")?;
    let at = jiff::Timestamp::from_nanosecond(at_ns.into()).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(1, Type::Integer, error.to_string().into())
    })?;
    let kind: String = row.get("kind")?;
    let kind = match kind.as_str() {
        "push" => RegistryEventKind::Push,
        "delete" => RegistryEventKind::Delete,
        "gc" => RegistryEventKind::Gc,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                2,
                Type::Text,
                format!("kind: {other:?}").into(),
            ));
        }
    };
    Ok(RegistryEvent {
        id: RegistryEventId::new(row.get("id")?),
        record: NewRegistryEvent {
            at,
            kind,
            repository: row.get("repository")?,
            tag: row.get("tag")?,
            digest: row.get("digest")?,
            detail: row.get("detail")?,
        },
    })
}

/// How a kind is spelled in the `kind` column.
fn kind_name(kind: RegistryEventKind) -> &'static str {
    match kind {
        RegistryEventKind::Push => "push",
        RegistryEventKind::Delete => "delete",
        RegistryEventKind::Gc => "gc",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: RegistryEventKind, repository: &str, at: &str) -> NewRegistryEvent {
        NewRegistryEvent {
            at: at.parse().unwrap(),
            kind,
            repository: Some(repository.to_owned()),
            tag: Some("v1".to_owned()),
            digest: Some(format!("sha256:{}", "a".repeat(64))),
            detail: "manifest".to_owned(),
        }
    }

    #[test]
    fn events_read_back_newest_first_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let first = event(RegistryEventKind::Push, "shop/web", "2025-03-01T10:00:00Z");
        let second = event(
            RegistryEventKind::Delete,
            "shop/web",
            "2025-03-01T11:00:00Z",
        );
        let other = event(RegistryEventKind::Push, "shop/api", "2025-03-01T12:00:00Z");
        let ids: Vec<RegistryEventId> = [&first, &second, &other]
            .into_iter()
            .map(|event| store.record_registry_event(event).unwrap())
            .collect();

        let all = store
            .registry_events(&RegistryEventQuery::default())
            .unwrap();
        assert_eq!(
            all.iter().map(|event| event.id).collect::<Vec<_>>(),
            [ids[2], ids[1], ids[0]]
        );
        assert_eq!(all[2].record, first);

        let web_pushes = RegistryEventQuery {
            kind: Some(RegistryEventKind::Push),
            repository: Some("shop/web".to_owned()),
            limit: None,
        };
        let pushes = store.registry_events(&web_pushes).unwrap();
        assert_eq!(pushes.len(), 1);
        assert_eq!(pushes[0].record, first);
        let newest = RegistryEventQuery {
            limit: Some(1),
            ..RegistryEventQuery::default()
        };
        assert_eq!(store.registry_events(&newest).unwrap()[0].record, other);
    }
}
