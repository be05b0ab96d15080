-- Schema 7: the source each release was made from, so replicas, `slipway status` and
-- `slipway releases` can say which commit serves.
--
-- Releases recorded before this version keep NULL: their commit was never known.

-- The full commit id.
ALTER TABLE releases ADD COLUMN git_commit TEXT;
-- The branch or tag the commit was on, when known; only with a commit.
ALTER TABLE releases ADD COLUMN git_ref TEXT CHECK (git_ref IS NULL OR git_commit IS NOT NULL);
-- 1 when the deployed files held uncommitted changes; only with a commit.
ALTER TABLE releases ADD COLUMN git_dirty INTEGER NOT NULL DEFAULT 0
    CHECK (git_dirty IN (0, 1) AND (git_dirty = 0 OR git_commit IS NOT NULL));
