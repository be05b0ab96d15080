-- Schema 3: events of the embedded registry: pushes, deletions, garbage collections.
--
-- One row per event, written when it happens; nothing refers to them. Times are integer
-- nanoseconds since the Unix epoch (UTC), as in every table.

CREATE TABLE registry_events (
    -- AUTOINCREMENT: an id, once shown, never names another event, even after old ones are pruned.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns       INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('push', 'delete', 'gc')),
    repository  TEXT,
    tag         TEXT,
    digest      TEXT,
    detail      TEXT    NOT NULL
) STRICT;

CREATE INDEX registry_events_newest_first ON registry_events (at_ns DESC, id DESC);
CREATE INDEX registry_events_by_repository ON registry_events (repository, at_ns DESC, id DESC);
