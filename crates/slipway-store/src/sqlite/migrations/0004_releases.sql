-- Schema 4: releases with their steps, the deploy state of each service, deploy events.
--
-- Times are integer nanoseconds since the Unix epoch (UTC), as in every table. A release is
-- written when it begins and gains a step, and a new `phase` (the deploy controller's state, a
-- JSON document), with every transition; once it has an outcome it never changes again.

CREATE TABLE releases (
    -- AUTOINCREMENT: a release id, once shown, never names another release.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    environment     TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    runtime         TEXT    NOT NULL CHECK (runtime IN ('process', 'container')),
    artifact_kind   TEXT    NOT NULL CHECK (artifact_kind IN ('image', 'command')),
    -- The image reference, or the command line.
    artifact        TEXT    NOT NULL,
    -- The image digest, or the hash of the command's directory.
    artifact_digest TEXT    NOT NULL,
    -- The command's directory; only for commands.
    working_dir     TEXT,
    config_hash     TEXT    NOT NULL,
    spec            TEXT    NOT NULL,
    strategy        TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    reason          TEXT,
    created_at_ns   INTEGER NOT NULL,
    restores        INTEGER REFERENCES releases (id),
    controller_pid  INTEGER CHECK (controller_pid BETWEEN 0 AND 4294967295),
    phase           TEXT    NOT NULL,
    outcome         TEXT    CHECK (outcome IN ('succeeded', 'failed', 'rolled_back')),
    outcome_reason  TEXT,
    finished_at_ns  INTEGER,
    CHECK ((artifact_kind = 'command') = (working_dir IS NOT NULL)),
    -- An outcome exactly when finished, and a reason exactly for the unhappy ones.
    CHECK ((outcome IS NULL) = (finished_at_ns IS NULL)),
    CHECK ((outcome IN ('failed', 'rolled_back')) = (outcome_reason IS NOT NULL))
) STRICT;

CREATE INDEX releases_by_service ON releases (environment, service, id DESC);
-- At most one release of a service in an environment is in progress: the deploy lock.
CREATE UNIQUE INDEX releases_one_in_progress ON releases (environment, service)
    WHERE outcome IS NULL;

CREATE TABLE release_steps (
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    at_ns      INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    PRIMARY KEY (release_id, position)
) STRICT, WITHOUT ROWID;

-- Which release serves each service, which one stays warm, how many replicas are wanted.
CREATE TABLE service_states (
    environment     TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    current_release INTEGER NOT NULL REFERENCES releases (id),
    previous        INTEGER REFERENCES releases (id),
    warm_until_ns   INTEGER,
    replicas        INTEGER NOT NULL CHECK (replicas BETWEEN 0 AND 4294967295),
    updated_at_ns   INTEGER NOT NULL,
    PRIMARY KEY (environment, service)
) STRICT, WITHOUT ROWID;

CREATE TABLE deploy_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns       INTEGER NOT NULL,
    environment TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    actor       TEXT    NOT NULL
) STRICT;

CREATE INDEX deploy_events_by_service ON deploy_events (environment, service, id DESC);
