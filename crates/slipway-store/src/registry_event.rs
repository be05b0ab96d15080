//! Registry events: what the embedded registry stored, deleted and collected, and the trait that
//! keeps them.
//!
//! The registry records a [`NewRegistryEvent`] for every manifest pushed, every tag, manifest or
//! blob deleted, and every garbage collection, so `slipway registry events` and the scanner can
//! tell what happened to an image and when. [`RegistryEvent`] is the same data read back with the
//! [`RegistryEventId`] the store gave it.

use std::fmt;

use serde::Serialize;

use crate::StoreError;

/// Keeps registry events.
pub trait RegistryEventStore {
    /// Records one event in one transaction.
    fn record_registry_event(
        &self,
        event: &NewRegistryEvent,
    ) -> Result<RegistryEventId, StoreError>;

    /// Events matching `query`, newest first (by time, then by id).
    fn registry_events(&self, query: &RegistryEventQuery)
    -> Result<Vec<RegistryEvent>, StoreError>;
}

/// The identifier the store gives an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RegistryEventId(i64);

impl RegistryEventId {
    /// Wraps a raw id. It need not exist in the store.
    pub fn new(id: i64) -> RegistryEventId {
        RegistryEventId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for RegistryEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryEventKind {
    /// A manifest was pushed (with a tag, or by digest).
    Push,
    /// A tag, manifest or blob was deleted, by a client or by retention.
    Delete,
    /// Garbage collection ran.
    Gc,
}

/// An event to record. Plain data: the store checks nothing beyond what it can represent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRegistryEvent {
    /// When it happened.
    pub at: jiff::Timestamp,
    /// What happened.
    pub kind: RegistryEventKind,
    /// The repository, for pushes and deletions.
    pub repository: Option<String>,
    /// The tag pushed or deleted, if a tag was involved.
    pub tag: Option<String>,
    /// The manifest or blob digest involved.
    pub digest: Option<String>,
    /// One line of detail: what was deleted and why, what a collection freed.
    pub detail: String,
}

/// A recorded event: the data that was recorded and the id it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryEvent {
    /// The store's id for this event.
    pub id: RegistryEventId,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewRegistryEvent,
}

/// Which events [`RegistryEventStore::registry_events`] returns. The default returns all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryEventQuery {
    /// Only events of this kind.
    pub kind: Option<RegistryEventKind>,
    /// Only events in this repository.
    pub repository: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
}
