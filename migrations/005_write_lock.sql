-- db-maintenance state database, schema version 5: how long each task held the database's
-- write lock (the application's writers wait that long at most), and whether it ran in a
-- bounded form (ANALYZE with analysis_limit, FTS5 'merge' steps, incremental_vacuum batches),
-- so that the holds of full forms alone estimate the next full run's.

ALTER TABLE task_runs ADD COLUMN lock_longest_ms INTEGER;
ALTER TABLE task_runs ADD COLUMN lock_total_ms INTEGER;
ALTER TABLE task_runs ADD COLUMN bounded INTEGER NOT NULL DEFAULT 0;
