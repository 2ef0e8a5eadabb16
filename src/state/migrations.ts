/**
 * The migrations of the state database: migrations/NNN_name.sql, applied in order, each in its
 * own transaction; the schema version is PRAGMA user_version, and each applied migration is
 * listed in schema_migrations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { DbmError } from '../errors.js';

/** The schema version (PRAGMA user_version) from which each part of the state database exists: migrations/NNN_*.sql. */
export const SCHEMA_VERSION = {
  /** 001_initial: runs, task_runs, stats_snapshots. */
  history: 1,
  /** 002_schedule: schedule_runs (the lanes of --scheduled). */
  schedule: 2,
  /** 003_probes: probe_results. */
  probes: 3,
  /** 004_compaction_vacuum: compaction_vacuums. */
  compactionVacuums: 4,
  /** 005_write_lock: task_runs.lock_longest_ms, lock_total_ms, bounded. */
  writeLock: 5,
} as const;

/** migrations/ of the installed package (dist/state/ -> ../../migrations). */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2]!, sql: fs.readFileSync(path.join(dir, file), 'utf8') });
  }
  out.sort((a, b) => a.version - b.version);
  out.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new DbmError('INTERNAL', `migrations must be numbered 1, 2, 3...; found ${m.version} at position ${i + 1}`);
  });
  return out;
}

/** Applies pending migrations, each in its own transaction. Returns the schema version. */
export function migrate(db: Database.Database, migrations: readonly Migration[]): number {
  const current = Number(db.pragma('user_version', { simple: true }));
  const latest = migrations.length;
  if (current > latest) {
    throw new DbmError(
      'STATE_DB',
      `state database schema version ${current} is newer than this db-maintenance knows (${latest})`,
      {
        hint: 'upgrade db-maintenance, or point stateDir elsewhere',
      },
    );
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return latest;
}
