-- Schema 8: the control plane of `slipway serve`: projects it runs, the tokens that may call it,
-- and the run queue, where a run lives from `queued` through `in_progress` to `completed`.
--
-- A queued run is the lifecycle and the trigger of one request to run a project's workflows; the
-- workflow runs the runner records for it (table `runs`, with their jobs, steps and logs) are
-- linked in `queued_run_records`, so nothing the runner records is kept twice.

CREATE TABLE projects (
    name                TEXT    PRIMARY KEY,
    -- A URL git can clone, or a local path.
    repository          TEXT    NOT NULL,
    default_branch      TEXT    NOT NULL,
    -- Where the webhook secret is read from; the secret itself is never stored.
    webhook_secret_file TEXT,
    poll_interval_ns    INTEGER CHECK (poll_interval_ns IS NULL OR poll_interval_ns > 0),
    created_at_ns       INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    role            TEXT    NOT NULL CHECK (role IN ('viewer', 'developer', 'deployer', 'admin')),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    hash            BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at_ns   INTEGER NOT NULL,
    revoked_at_ns   INTEGER,
    last_used_at_ns INTEGER
) STRICT;

CREATE TABLE run_queue (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project        TEXT    NOT NULL,
    -- One workflow file, or NULL for every workflow the event triggers.
    workflow       TEXT,
    event          TEXT    NOT NULL,
    git_ref        TEXT    NOT NULL,
    -- The commit, or NULL to run the ref's head when the run starts.
    sha            TEXT,
    actor          TEXT    NOT NULL,
    -- The inputs, a JSON object of strings.
    inputs         TEXT    NOT NULL CHECK (json_valid(inputs) AND json_type(inputs) = 'object'),
    status         TEXT    NOT NULL CHECK (status IN ('queued', 'in_progress', 'completed')),
    conclusion     TEXT    CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped')),
    queued_at_ns   INTEGER NOT NULL,
    started_at_ns  INTEGER,
    finished_at_ns INTEGER,
    -- Why it ended as it did when no workflow run says it (nothing to run, a fetch that failed),
    -- or what happened to it (interrupted by a restart).
    detail         TEXT,
    -- The run this one runs again.
    rerun_of       INTEGER REFERENCES run_queue (id),
    CHECK ((status = 'completed') = (conclusion IS NOT NULL)),
    CHECK ((status = 'completed') = (finished_at_ns IS NOT NULL)),
    CHECK ((status = 'queued') = (started_at_ns IS NULL))
) STRICT;

-- Workers claim the oldest queued run; the limits count runs in progress.
CREATE INDEX run_queue_by_status ON run_queue (status, project, id);

CREATE TABLE queued_run_records (
    queued_id INTEGER NOT NULL REFERENCES run_queue (id),
    run_id    INTEGER NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    PRIMARY KEY (queued_id, run_id)
) STRICT, WITHOUT ROWID;
