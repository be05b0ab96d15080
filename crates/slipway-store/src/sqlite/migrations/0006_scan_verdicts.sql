-- Schema 6: a scan's verdict is one of three, and the gate it was judged with is kept.
--
-- `outcome` adds `not_checked` (the advisory database could not vouch for the packages: nothing
-- about an ecosystem the image holds, or too old) to passed and failed; `passed` stays, written
-- as outcome = 'passed', so a slipway of schema 5 reading a newer file is never told a
-- not-checked scan passed. The gate (`fail_on`, the severity threshold, NULL when none, and
-- `max_advisory_age_s`) is what a deploy's `require_scan` compares with its environment's policy;
-- both are NULL for scans recorded before schema 6, which did not say, and which therefore
-- satisfy no policy.

ALTER TABLE scans ADD COLUMN outcome TEXT NOT NULL DEFAULT 'failed'
    CHECK (outcome IN ('passed', 'failed', 'not_checked'));
UPDATE scans SET outcome = CASE passed WHEN 1 THEN 'passed' ELSE 'failed' END;
ALTER TABLE scans ADD COLUMN fail_on TEXT;
ALTER TABLE scans ADD COLUMN max_advisory_age_s INTEGER CHECK (max_advisory_age_s >= 0);
