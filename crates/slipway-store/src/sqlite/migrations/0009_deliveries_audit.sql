-- Schema 9: webhook deliveries and the audit trail.
--
-- A delivery is recorded once per (provider, delivery id): the unique key is what makes a
-- redelivery a duplicate rather than a second run. Audit entries form a hash chain: each row
-- stores the hash of the row before it (64 zeros for the first) and its own hash over that and
-- its fields, so a changed or removed row breaks the chain. Times are integer nanoseconds since
-- the Unix epoch (UTC), as in every table.

CREATE TABLE deliveries (
    -- AUTOINCREMENT: ids only grow, so they order deliveries by arrival and serve as cursors.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    provider        TEXT    NOT NULL,
    delivery_id     TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    received_at_ns  INTEGER NOT NULL,
    remote_addr     TEXT,
    body_bytes      INTEGER NOT NULL CHECK (body_bytes >= 0),
    outcome         TEXT    NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'refused', 'skipped')),
    -- Why it was refused or skipped; NULL otherwise.
    reason          TEXT,
    UNIQUE (provider, delivery_id)
) STRICT;

CREATE TABLE audit_entries (
    -- Given by the appender as the previous id + 1, inside the transaction that reads the
    -- previous hash, and hashed with the rest: an entry cannot be renumbered unnoticed.
    id           INTEGER PRIMARY KEY,
    at_ns        INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    remote_addr  TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
) STRICT;
