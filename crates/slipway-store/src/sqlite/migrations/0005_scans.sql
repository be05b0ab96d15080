-- Schema 5: scan records, one per image scan, kept against the image's digest.
--
-- `digest` is what deploys name an image by (the manifest digest, else the image id); `image_id`
-- lets a lookup by image id find a scan recorded under a manifest digest. Reports live apart from
-- the records, as build logs do: a report can be megabytes, and listing scans never reads them.

CREATE TABLE scans (
    -- AUTOINCREMENT: an id, once shown, never names another scan, even after old ones are pruned.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    digest         TEXT    NOT NULL,
    image_id       TEXT,
    reference      TEXT    NOT NULL,
    scanned_at_ns  INTEGER NOT NULL,
    passed         INTEGER NOT NULL CHECK (passed IN (0, 1)),
    critical       INTEGER NOT NULL CHECK (critical >= 0),
    high           INTEGER NOT NULL CHECK (high >= 0),
    medium         INTEGER NOT NULL CHECK (medium >= 0),
    low            INTEGER NOT NULL CHECK (low >= 0),
    unknown        INTEGER NOT NULL CHECK (unknown >= 0)
) STRICT;

CREATE INDEX scans_by_digest ON scans (digest, scanned_at_ns DESC, id DESC);
CREATE INDEX scans_by_image_id ON scans (image_id, scanned_at_ns DESC, id DESC);
CREATE INDEX scans_newest_first ON scans (scanned_at_ns DESC, id DESC);

-- Why the gate failed, one row per reason, in order (none when it passed).
CREATE TABLE scan_reasons (
    scan_id  INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    reason   TEXT    NOT NULL,
    PRIMARY KEY (scan_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE scan_reports (
    scan_id INTEGER PRIMARY KEY REFERENCES scans (id) ON DELETE CASCADE,
    report  TEXT    NOT NULL
) STRICT;
