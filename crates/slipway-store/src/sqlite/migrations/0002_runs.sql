-- Schema 2: workflow runs, one per workflow that `slipway run` ran, with their jobs and steps.
--
-- Same conventions as schema 1: integer nanoseconds for times and durations, STRICT tables,
-- CHECKs that keep every row decodable. Conclusions use GitHub's words.

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow      TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    run_number    INTEGER NOT NULL CHECK (run_number >= 0),
    event         TEXT    NOT NULL,
    git_commit    TEXT,
    git_branch    TEXT,
    git_dirty     INTEGER NOT NULL CHECK (git_dirty IN (0, 1)),
    git_ref       TEXT,
    started_at_ns INTEGER NOT NULL,
    duration_ns   INTEGER NOT NULL CHECK (duration_ns >= 0),
    conclusion    TEXT    NOT NULL
        CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped'))
) STRICT;

CREATE INDEX runs_newest_first ON runs (started_at_ns DESC, id DESC);
-- The next run number of a workflow is one lookup.
CREATE INDEX runs_by_workflow ON runs (workflow, run_number DESC);

CREATE TABLE run_jobs (
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL CHECK (position >= 0),
    job_id          TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    matrix          TEXT,
    runs_on         TEXT    NOT NULL,
    conclusion      TEXT    NOT NULL
        CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped')),
    started_at_ns   INTEGER,
    duration_ns     INTEGER NOT NULL CHECK (duration_ns >= 0),
    environment     TEXT,
    environment_url TEXT,
    log             TEXT    NOT NULL,
    PRIMARY KEY (run_id, position)
) STRICT, WITHOUT ROWID;

-- Step logs sit in this table: listing runs never reads it, and a run is read whole.
CREATE TABLE run_steps (
    run_id        INTEGER NOT NULL,
    job_position  INTEGER NOT NULL,
    position      INTEGER NOT NULL CHECK (position >= 0),
    name          TEXT    NOT NULL,
    step_id       TEXT,
    outcome       TEXT    NOT NULL
        CHECK (outcome IN ('success', 'failure', 'cancelled', 'skipped')),
    conclusion    TEXT    NOT NULL
        CHECK (conclusion IN ('success', 'failure', 'cancelled', 'skipped')),
    exit_code     INTEGER CHECK (exit_code BETWEEN -2147483648 AND 2147483647),
    started_at_ns INTEGER,
    duration_ns   INTEGER NOT NULL CHECK (duration_ns >= 0),
    log           TEXT    NOT NULL,
    summary       TEXT    NOT NULL,
    PRIMARY KEY (run_id, job_position, position),
    FOREIGN KEY (run_id, job_position) REFERENCES run_jobs (run_id, position) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE run_job_outputs (
    run_id       INTEGER NOT NULL,
    job_position INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    PRIMARY KEY (run_id, job_position, name),
    FOREIGN KEY (run_id, job_position) REFERENCES run_jobs (run_id, position) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE run_step_outputs (
    run_id        INTEGER NOT NULL,
    job_position  INTEGER NOT NULL,
    step_position INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (run_id, job_position, step_position, name),
    FOREIGN KEY (run_id, job_position, step_position)
        REFERENCES run_steps (run_id, job_position, position) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE run_annotations (
    run_id        INTEGER NOT NULL,
    job_position  INTEGER NOT NULL,
    step_position INTEGER NOT NULL,
    position      INTEGER NOT NULL CHECK (position >= 0),
    level         TEXT    NOT NULL CHECK (level IN ('error', 'warning', 'notice')),
    message       TEXT    NOT NULL,
    title         TEXT,
    file          TEXT,
    line          INTEGER CHECK (line BETWEEN 0 AND 4294967295),
    end_line      INTEGER CHECK (end_line BETWEEN 0 AND 4294967295),
    col           INTEGER CHECK (col BETWEEN 0 AND 4294967295),
    end_col       INTEGER CHECK (end_col BETWEEN 0 AND 4294967295),
    PRIMARY KEY (run_id, job_position, step_position, position),
    FOREIGN KEY (run_id, job_position, step_position)
        REFERENCES run_steps (run_id, job_position, position) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
