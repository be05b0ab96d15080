-- Schema 1: build records, one per `slipway build` whatever its outcome.
--
-- Times are integer nanoseconds since the Unix epoch (UTC) and durations integer nanoseconds:
-- they round-trip exactly and sort as numbers. STRICT makes SQLite reject a value of the wrong
-- type instead of storing it; the CHECKs keep every row decodable by the store.

CREATE TABLE builds (
    -- AUTOINCREMENT: an id, once shown to a person, never names another build, even after old
    -- builds are pruned.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    service        TEXT    NOT NULL,
    image_id       TEXT,
    digest         TEXT,
    size_bytes     INTEGER CHECK (size_bytes >= 0),
    layer_count    INTEGER CHECK (layer_count BETWEEN 0 AND 4294967295),
    started_at_ns  INTEGER NOT NULL,
    duration_ns    INTEGER NOT NULL CHECK (duration_ns >= 0),
    git_commit     TEXT,
    git_branch     TEXT,
    git_dirty      INTEGER NOT NULL CHECK (git_dirty IN (0, 1)),
    outcome        TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
    failure_reason TEXT,
    target         TEXT,
    platform       TEXT,
    dockerfile     TEXT    NOT NULL,
    context        TEXT    NOT NULL,
    -- A reason exactly when the build failed.
    CHECK ((outcome = 'failed') = (failure_reason IS NOT NULL))
) STRICT;

CREATE INDEX builds_newest_first ON builds (started_at_ns DESC, id DESC);
CREATE INDEX builds_by_service ON builds (service, started_at_ns DESC, id DESC);

-- Tags in a table of their own rather than a JSON column: "which build made this tag" is an
-- indexed lookup (deploys and rollbacks ask it), and `position` keeps the order they were
-- applied in.
CREATE TABLE build_tags (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    tag      TEXT    NOT NULL,
    PRIMARY KEY (build_id, position)
) STRICT, WITHOUT ROWID;

CREATE INDEX build_tags_by_tag ON build_tags (tag);

-- Logs apart from the records: a log can be megabytes. Kept out of `builds`, it leaves that
-- table's pages dense for index scans, and old logs can be pruned while their records stay.
CREATE TABLE build_logs (
    build_id INTEGER PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
    log      TEXT    NOT NULL
) STRICT;
