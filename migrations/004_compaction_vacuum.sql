-- db-maintenance state database, schema version 4: the VACUUMs of compacted databases that
-- --scheduled runs on each compaction job's own cadence (compaction[].vacuumEvery).
-- A job's VACUUM is due when no row with status 'ok' exists for its current window.

CREATE TABLE compaction_vacuums (
  id INTEGER PRIMARY KEY,
  job TEXT NOT NULL,
  window_key TEXT NOT NULL,
  run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  started_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed'))
);
CREATE INDEX idx_compaction_vacuums_job ON compaction_vacuums(job, window_key, status);
