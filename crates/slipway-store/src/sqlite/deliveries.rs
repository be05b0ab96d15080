//! [`DeliveryStore`] over SQLite: the `deliveries` table.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, Transaction, named_params};

use super::queue::enqueue_in;
use super::{SqliteStore, timestamp_ns};
use crate::{
    Delivery, DeliveryId, DeliveryOutcome, DeliveryStore, NewDelivery, Page, PageRequest,
    QueuedRunId, Recorded, StoreError, Trigger,
};

const COLUMNS: &str =
    "id, provider, delivery_id, event, received_at_ns, remote_addr, body_bytes, outcome, reason";

impl DeliveryStore for SqliteStore {
    fn record_delivery(&self, delivery: &NewDelivery) -> Result<Recorded, StoreError> {
        let columns = Columns::of(delivery)?;
        self.write(|transaction| record_in(transaction, delivery, &columns))
    }

    fn accept_delivery(
        &self,
        delivery: &NewDelivery,
        trigger: &Trigger,
        at: jiff::Timestamp,
    ) -> Result<(Recorded, Option<QueuedRunId>), StoreError> {
        let columns = Columns::of(delivery)?;
        let at_ns = timestamp_ns("at", at)?;
        self.write(|transaction| {
            let recorded = record_in(transaction, delivery, &columns)?;
            let queued = match recorded {
                Recorded::New(ref delivery) => {
                    let run = enqueue_in(transaction, trigger, at_ns)?;
                    transaction
                        .prepare_cached("UPDATE run_queue SET delivery = ?1 WHERE id = ?2")?
                        .execute((delivery.id.get(), run.get()))?;
                    Some(run)
                }
                Recorded::Duplicate(_) => None,
            };
            Ok((recorded, queued))
        })
    }

    fn deliveries(&self, page: &PageRequest) -> Result<Page<Delivery>, StoreError> {
        self.newest_first("deliveries", COLUMNS, page, decode, |delivery| {
            delivery.id.get()
        })
    }

    fn update_delivery_outcome(
        &self,
        id: DeliveryId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (outcome, reason) = outcome_columns(outcome);
        self.write(|transaction| {
            let changed = transaction
                .prepare_cached(
                    "UPDATE deliveries SET outcome = :outcome, reason = :reason WHERE id = :id",
                )?
                .execute(
                    named_params! { ":outcome": outcome, ":reason": reason, ":id": id.get() },
                )?;
            Ok(changed == 1)
        })
    }
}

fn find(
    transaction: &Transaction<'_>,
    provider: &str,
    delivery_id: &str,
) -> rusqlite::Result<Option<Delivery>> {
    transaction
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE provider = ?1 AND delivery_id = ?2"
        ))?
        .query_row((provider, delivery_id), decode)
        .optional()
}

fn outcome_columns(outcome: &DeliveryOutcome) -> (&'static str, Option<&str>) {
    match outcome {
        DeliveryOutcome::Accepted => ("accepted", None),
        DeliveryOutcome::Duplicate => ("duplicate", None),
        DeliveryOutcome::Refused(reason) => ("refused", Some(reason)),
        DeliveryOutcome::Skipped(reason) => ("skipped", Some(reason)),
    }
}

fn decode(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let received_at_ns: i64 = row.get("received_at_ns")?;
    let received_at = jiff::Timestamp::from_nanosecond(received_at_ns.into()).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(4, Type::Integer, error.to_string().into())
    })?;
    let body_bytes: i64 = row.get("body_bytes")?;
    let outcome: String = row.get("outcome")?;
    let reason: Option<String> = row.get("reason")?;
    let outcome = match (outcome.as_str(), reason) {
        ("accepted", _) => DeliveryOutcome::Accepted,
        ("duplicate", _) => DeliveryOutcome::Duplicate,
        ("refused", reason) => DeliveryOutcome::Refused(reason.unwrap_or_default()),
        ("skipped", reason) => DeliveryOutcome::Skipped(reason.unwrap_or_default()),
        (other, _) => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                7,
                Type::Text,
                format!("outcome: {other:?}").into(),
            ));
        }
    };
    Ok(Delivery {
        id: DeliveryId::new(row.get("id")?),
        record: NewDelivery {
            provider: row.get("provider")?,
            delivery_id: row.get("delivery_id")?,
            event: row.get("event")?,
            received_at,
            remote_addr: row.get("remote_addr")?,
            body_bytes: body_bytes.try_into().unwrap_or_default(),
            outcome,
        },
    })
}

/// The columns of a delivery that need converting, converted before the transaction.
struct Columns {
    received_at_ns: i64,
    body_bytes: i64,
}

impl Columns {
    fn of(delivery: &NewDelivery) -> Result<Columns, StoreError> {
        Ok(Columns {
            received_at_ns: timestamp_ns("received_at", delivery.received_at)?,
            body_bytes: i64::try_from(delivery.body_bytes).map_err(|_| StoreError::OutOfRange {
                field: "body_bytes",
                value: delivery.body_bytes.to_string(),
            })?,
        })
    }
}

/// Records `delivery`, or finds the one already handled under its id, in `transaction`.
fn record_in(
    transaction: &Transaction<'_>,
    delivery: &NewDelivery,
    columns: &Columns,
) -> rusqlite::Result<Recorded> {
    let (outcome, reason) = outcome_columns(&delivery.outcome);
    // Looked up and inserted under the write lock: two receivers of the same delivery
    // cannot both see it as new.
    let first = find(transaction, &delivery.provider, &delivery.delivery_id)?;
    let retried = match first {
        // A refused delivery started nothing: its redelivery (after the secret was fixed,
        // say) is handled afresh, in the first one's row.
        Some(first) if matches!(first.record.outcome, DeliveryOutcome::Refused(_)) => {
            Some(first.id)
        }
        Some(first) => return Ok(Recorded::Duplicate(first)),
        None => None,
    };
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO deliveries (id, provider, delivery_id, event, \
             received_at_ns, remote_addr, body_bytes, outcome, reason) VALUES (:id, \
             :provider, :delivery_id, :event, :received_at_ns, :remote_addr, :body_bytes, \
             :outcome, :reason)",
        )?
        .execute(named_params! {
            ":id": retried.map(DeliveryId::get),
            ":provider": delivery.provider,
            ":delivery_id": delivery.delivery_id,
            ":event": delivery.event,
            ":received_at_ns": columns.received_at_ns,
            ":remote_addr": delivery.remote_addr,
            ":body_bytes": columns.body_bytes,
            ":outcome": outcome,
            ":reason": reason,
        })?;
    Ok(Recorded::New(Delivery {
        id: retried.unwrap_or_else(|| DeliveryId::new(transaction.last_insert_rowid())),
        record: delivery.clone(),
    }))
}
