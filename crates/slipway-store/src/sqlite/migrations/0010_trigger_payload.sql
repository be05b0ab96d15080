-- Schema 10: a queued run keeps the event payload its trigger came with, and whether it runs
-- without secrets.
--
-- A webhook's payload is `github.event` for the run (and its `before` gives the changed paths
-- `paths:` filters test), so it is stored with the run rather than rebuilt when a worker takes
-- it. NULL for dispatches and reruns, whose payload the worker builds. `withhold_secrets` is 1
-- for a pull request from a fork, which never sees the project's secrets. `delivery` is the
-- webhook delivery that queued the run, whose outcome becomes `skipped` when the run starts no
-- workflow (the `on:` filters excluded the push).

ALTER TABLE run_queue ADD COLUMN payload TEXT;
ALTER TABLE run_queue ADD COLUMN withhold_secrets INTEGER NOT NULL DEFAULT 0
    CHECK (withhold_secrets IN (0, 1));
ALTER TABLE run_queue ADD COLUMN delivery INTEGER REFERENCES deliveries (id);
