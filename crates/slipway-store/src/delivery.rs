//! Webhook deliveries: each one a Git host sent, once, with what became of it.
//!
//! A receiver records a [`NewDelivery`] before it answers the host. The provider and the
//! host's delivery id are unique together: recording an id already recorded writes nothing and
//! returns [`Recorded::Duplicate`] with the first record, in the same transaction, so a delivery
//! redelivered (or sent twice at once) starts at most one run. A delivery that was refused started
//! nothing, so its redelivery is recorded afresh in its place: fixing a wrong secret and asking
//! the host to redeliver works. The outcome can change later
//! (accepted, then skipped because no workflow matched) with
//! [`DeliveryStore::update_delivery_outcome`].

use std::fmt;

use serde::Serialize;

use crate::StoreError;

/// Keeps webhook deliveries.
pub trait DeliveryStore {
    /// Records a delivery, or finds the one already recorded under the same provider and id.
    /// A first record that was refused is replaced (keeping its id) and the delivery is new.
    fn record_delivery(&self, delivery: &NewDelivery) -> Result<Recorded, StoreError>;

    /// Records a delivery as accepted and queues a run of `trigger` in one transaction, so an
    /// accepted delivery always has its run, even if the process dies right after. A duplicate
    /// writes nothing and queues nothing: `(Recorded::Duplicate(first), None)`. If the run
    /// completes `skipped` (no workflow's `on:` matched), the delivery's outcome becomes skipped
    /// with the run's reason.
    fn accept_delivery(
        &self,
        delivery: &NewDelivery,
        trigger: &crate::Trigger,
        at: jiff::Timestamp,
    ) -> Result<(Recorded, Option<crate::QueuedRunId>), StoreError>;

    /// A page of deliveries, newest first.
    fn deliveries(&self, page: &PageRequest) -> Result<Page<Delivery>, StoreError>;

    /// Sets a delivery's outcome. False when there is no such delivery.
    fn update_delivery_outcome(
        &self,
        id: DeliveryId,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError>;
}

/// The identifier the store gives a delivery (not the host's delivery id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DeliveryId(i64);

impl DeliveryId {
    /// Wraps a raw id. It need not exist in the store.
    pub fn new(id: i64) -> DeliveryId {
        DeliveryId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// It was genuine and queued what it triggers.
    Accepted,
    /// It repeated a delivery already handled.
    Duplicate,
    /// It was refused: bad signature, bad JSON, unknown event, no matching project...
    Refused(String),
    /// It was genuine but starts nothing: a ping, a deleted branch, no workflow matched...
    Skipped(String),
}

/// A delivery to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDelivery {
    /// `github`, `gitea`, `gitlab`.
    pub provider: String,
    /// The host's delivery id.
    pub delivery_id: String,
    /// The event header's value.
    pub event: String,
    /// When it arrived.
    pub received_at: jiff::Timestamp,
    /// The address it came from.
    pub remote_addr: Option<String>,
    /// The body's size in bytes.
    pub body_bytes: u64,
    /// What became of it so far.
    #[serde(flatten)]
    pub outcome: DeliveryOutcome,
}

/// A recorded delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The store's id.
    pub id: DeliveryId,
    /// What was recorded, with its current outcome.
    #[serde(flatten)]
    pub record: NewDelivery,
}

/// What [`DeliveryStore::record_delivery`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The delivery is new and now recorded.
    New(Delivery),
    /// The provider already sent this delivery id and it was not refused; nothing was written.
    /// Holds the first record.
    Duplicate(Delivery),
}

/// Which page of a newest-first listing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this cursor (a previous page's [`Page::next`]); the newest entries when `None`.
    pub after: Option<Cursor>,
    /// At most this many entries.
    pub limit: u32,
}

/// Where a page ended, to ask for the next one. Opaque to callers; stable across writes, since
/// entries only ever get larger ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Cursor(i64);

impl Cursor {
    /// The cursor a client sent back.
    pub fn new(raw: i64) -> Cursor {
        Cursor(raw)
    }

    /// What to send a client.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// One page of a newest-first listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The entries, newest first.
    pub items: Vec<T>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next: Option<Cursor>,
}
