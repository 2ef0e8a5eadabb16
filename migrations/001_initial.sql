-- db-maintenance state database, schema version 1.
-- The tool's own history; it never lives inside a brain database.

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  command TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  dry_run INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL
);

CREATE TABLE task_runs (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task_id TEXT NOT NULL,
  task_type TEXT NOT NULL,
  database_name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed', 'refused', 'skipped')),
  restored INTEGER NOT NULL DEFAULT 0,
  backup_path TEXT,
  started_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  size_before INTEGER,
  size_after INTEGER,
  rows_affected INTEGER,
  message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_task_runs_target ON task_runs(database_name, task_type, started_at);
CREATE INDEX idx_task_runs_run ON task_runs(run_id);

CREATE TABLE stats_snapshots (
  id INTEGER PRIMARY KEY,
  taken_at TEXT NOT NULL,
  database_name TEXT NOT NULL,
  file_bytes INTEGER NOT NULL,
  wal_bytes INTEGER NOT NULL,
  page_size INTEGER NOT NULL,
  page_count INTEGER NOT NULL,
  freelist_count INTEGER NOT NULL,
  page_waste_ratio REAL,
  stale_tables INTEGER NOT NULL DEFAULT 0,
  fts_problems INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_stats_snapshots_target ON stats_snapshots(database_name, taken_at);
