import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { assess } from '../src/assess/index.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { loadMigrations, migrate } from '../src/state/migrations.js';
import { StateDb } from '../src/state/state-db.js';
import { NOW, demoBrain, tempDir } from './helpers.js';

describe('state database', () => {
  it('is created by the migrations with a recorded schema version, and re-opening is a no-op', () => {
    const dir = tempDir();
    const s1 = StateDb.open(dir);
    const version = loadMigrations().length;
    expect(s1.schemaVersion()).toBe(version);
    s1.close();
    const s2 = StateDb.open(dir);
    expect(s2.db.prepare('SELECT version, name FROM schema_migrations').all()).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'schedule' },
      { version: 3, name: 'probes' },
      { version: 4, name: 'compaction_vacuum' },
      { version: 5, name: 'write_lock' },
    ]);
    s2.close();
  });

  it('a state database of the previous version (1) is upgraded in place and keeps its history', () => {
    const dir = tempDir();
    const old = new Database(path.join(dir, 'state.db'));
    migrate(old, loadMigrations().slice(0, 1));
    old
      .prepare(`INSERT INTO runs(command, started_at, host, pid) VALUES ('--run', '2026-11-01T00:00:00Z', 'h', 1)`)
      .run();
    old
      .prepare(
        `INSERT INTO task_runs(run_id, task_id, task_type, database_name, status, started_at, duration_ms, size_before) VALUES (1, 'tier1:VACUUM', 'VACUUM', 'tier1', 'ok', '2026-11-01T00:00:00Z', 900, 1000000)`,
      )
      .run();
    old.close();
    const s = StateDb.open(dir);
    expect(s.schemaVersion()).toBe(5);
    expect(s.history(10).map((r) => r.command)).toEqual(['--run']);
    // A task recorded before the holds were: no hold, and no hold rate to estimate from.
    expect(s.history(10)[0]!.tasks[0]!.writeLock).toBeNull();
    expect(s.holdRate('tier1', 'VACUUM')).toBeNull();
    expect(s.laneSucceeded('daily', '2026-11-20')).toBe(false);
    s.recordLane('daily', '2026-11-20', null, '2026-11-20T00:00:00Z', true);
    expect(s.laneSucceeded('daily', '2026-11-20')).toBe(true);
    s.recordCompactionVacuum('graphlog', '2026-W47', null, '2026-11-20T00:00:00Z', false);
    expect(s.compactionVacuumSucceeded('graphlog', '2026-W47')).toBe(false); // a failed one is not done
    s.recordCompactionVacuum('graphlog', '2026-W47', null, '2026-11-20T01:00:00Z', true);
    expect(s.compactionVacuumSucceeded('graphlog', '2026-W47')).toBe(true);
    s.close();
  });

  it('applies only pending migrations, in order, and refuses a newer schema', () => {
    const db = new Database(':memory:');
    const ms = [
      { version: 1, name: 'a', sql: 'CREATE TABLE a (x);' },
      { version: 2, name: 'b', sql: 'CREATE TABLE b (y);' },
    ];
    expect(migrate(db, ms.slice(0, 1))).toBe(1);
    expect(migrate(db, ms)).toBe(2);
    expect(
      db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('a', 'b') ORDER BY name")
        .pluck()
        .all(),
    ).toEqual(['a', 'b']);
    expect(() => migrate(db, ms.slice(0, 1))).toThrow(/newer than this db-maintenance knows/);
  });

  it('a failing migration leaves the previous version intact', () => {
    const db = new Database(':memory:');
    migrate(db, [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x);' }]);
    expect(() =>
      migrate(db, [
        { version: 1, name: 'a', sql: 'CREATE TABLE a (x);' },
        { version: 2, name: 'bad', sql: 'CREATE TABLE c (z); THIS IS NOT SQL;' },
      ]),
    ).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'c'").pluck().get()).toBe(0);
  });

  it('never lives in the brain databases: it is its own file in stateDir', () => {
    const demo = demoBrain();
    const rc = loadConfig(demo.configPath);
    assess({ brain: rc, deep: false, now: NOW, logger: silentLogger() });
    expect(fs.existsSync(path.join(rc.stateDir, 'state.db'))).toBe(true);
    for (const d of rc.databases) {
      const db = new Database(d.path, { readonly: true });
      expect(
        db
          .prepare("SELECT count(*) FROM sqlite_schema WHERE name IN ('runs', 'task_runs', 'stats_snapshots')")
          .pluck()
          .get(),
      ).toBe(0);
      db.close();
    }
  });

  it('last runs and measured durations from history show up in the task list', () => {
    const demo = demoBrain();
    const rc = loadConfig(demo.configPath);
    const state = StateDb.open(rc.stateDir);
    const run = state.db
      .prepare("INSERT INTO runs(command, started_at, host, pid) VALUES ('run', '2026-11-01T03:00:00Z', 'h', 1)")
      .run();
    const ins = state.db.prepare(
      "INSERT INTO task_runs(run_id, task_id, task_type, database_name, status, started_at, duration_ms, size_before) VALUES (?, 'tier1:VACUUM', 'VACUUM', 'tier1', 'ok', ?, ?, ?)",
    );
    // 1 MB/s measured: far slower than the heuristic, so the estimate must change.
    ins.run(run.lastInsertRowid, '2026-11-01T03:00:00Z', 4000, 4_000_000);
    ins.run(run.lastInsertRowid, '2026-11-02T03:00:00Z', 2000, 2_000_000);
    state.close();
    const a = assess({ brain: rc, dbName: 'tier1', deep: false, now: NOW, logger: silentLogger(), record: false });
    const vacuum = a.tasks.find((t) => t.type === 'VACUUM')!;
    expect(vacuum.lastRun).toBe('2026-11-02T03:00:00Z');
    expect(vacuum.estimateSource).toBe('history');
    const size = a.databases[0]!.fileBytes!;
    expect(vacuum.estimatedSeconds).toBeCloseTo(size / 1_000_000, 0);
  });

  it('a clean assessment records a snapshot, and the next one reports WAL growth since then', () => {
    const demo = demoBrain();
    const rc = loadConfig(demo.configPath);
    assess({ brain: rc, dbName: 'tier3', deep: false, now: NOW, logger: silentLogger() });
    const file = rc.databases.find((d) => d.name === 'tier3')!.path;
    const app = new Database(file);
    try {
      app.pragma('wal_autocheckpoint = 0');
      app.exec(
        'CREATE TABLE grow (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO grow SELECT hex(randomblob(500)) FROM n;',
      );
      const a = assess({ brain: rc, dbName: 'tier3', deep: false, now: NOW, logger: silentLogger() });
      expect(a.databases[0]!.walGrowth?.bytes).toBeGreaterThan(100_000);
      const state = StateDb.openReadOnly(rc.stateDir)!;
      expect(state.db.prepare("SELECT count(*) FROM stats_snapshots WHERE database_name = 'tier3'").pluck().get()).toBe(
        2,
      );
      state.close();
    } finally {
      app.close();
    }
  });
});

describe('state database after a crash', () => {
  it('a hot journal left by a killed run: readers go without history, the next run recovers it', async () => {
    const { spawnSync } = await import('node:child_process');
    const { cli } = await import('./helpers.js');
    const demo = demoBrain();
    expect(cli(['--config', demo.configPath, '--analyze', '--db', 'tier3']).status).toBe(0);
    const file = path.join(demo.dir, '.db-maintenance', 'state.db');
    // A writer killed mid-transaction, its cache spilled into the file: a hot rollback journal.
    spawnSync(process.execPath, [
      '-e',
      `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
       const db = new D(${JSON.stringify(file)});
       db.pragma('cache_size = 1');
       db.exec('BEGIN');
       const ins = db.prepare("INSERT INTO runs(command, started_at, host, pid) VALUES ('junk', 'x', 'h', 1)");
       for (let i = 0; i < 5000; i++) ins.run();
       process.kill(process.pid, 'SIGKILL');`,
    ]);
    expect(fs.existsSync(`${file}-journal`)).toBe(true);
    for (const args of [['--assess'], ['--run', '--dry-run'], ['--history']]) {
      const r = cli(['--config', demo.configPath, ...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const r = cli(['--config', demo.configPath, '--analyze', '--db', 'tier3']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(`${file}-journal`)).toBe(false);
    const h = JSON.parse(cli(['--config', demo.configPath, '--history', '--json']).stdout) as {
      runs: Array<{ command: string }>;
    };
    expect(h.runs.map((x) => x.command)).toEqual(['--analyze', '--analyze']); // the killed junk was rolled back
  });
});
