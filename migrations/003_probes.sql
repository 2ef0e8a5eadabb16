-- db-maintenance state database, schema version 3: the performance probes of a run
-- (configured queries timed before and after its maintenance).

CREATE TABLE probe_results (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  database_name TEXT NOT NULL,
  before_p50_ms REAL,
  before_p95_ms REAL,
  after_p50_ms REAL,
  after_p95_ms REAL,
  error TEXT
);
CREATE INDEX idx_probe_results_run ON probe_results(run_id);
