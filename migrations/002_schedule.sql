-- db-maintenance state database, schema version 2: the lanes of --scheduled.
-- A lane is due when no row with status 'ok' exists for its current window.

CREATE TABLE schedule_runs (
  id INTEGER PRIMARY KEY,
  lane TEXT NOT NULL CHECK (lane IN ('daily', 'weekly', 'monthly', 'compaction')),
  window_key TEXT NOT NULL,
  run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  started_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed'))
);
CREATE INDEX idx_schedule_runs_lane ON schedule_runs(lane, window_key, status);
