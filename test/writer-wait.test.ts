/**
 * Polite to the live application (issue 15): backups from a read snapshot, the writer-wait
 * budget of unattended runs (bounded forms, deferral), incremental reclaim, and the write-lock
 * holds every result reports. How long writers actually wait is measured by
 * bench/writer-wait.mjs, not asserted here: these tests check behaviour, not timings.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BatchSizer } from '../src/maintenance/lock-meter.js';
import { cli, tempDir, writeConfig } from './helpers.js';
import { dumpUserRows } from './maintenance-helpers.js';

const SQLITE = createRequire(import.meta.url).resolve('better-sqlite3');

interface Result {
  type: string;
  database: string;
  status: string;
  message: string;
  bounded: boolean;
  writeLock: { longestMs: number; totalMs: number; holds: number };
  deferred: { estimatedHoldMs: number; budgetMs: number; command: string } | null;
}

/** A WAL database `app.db` of about `mb` MB of notes (with an FTS5 index kept by triggers), and its config. */
function appBrain(opts: { mb?: number; maintenance?: Record<string, unknown>; autoVacuum?: 'incremental' } = {}): {
  dir: string;
  file: string;
  config: string;
} {
  const dir = tempDir('dbm-wait-');
  const file = path.join(dir, 'app.db');
  const db = new Database(file);
  if (opts.autoVacuum) db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at TEXT);
    CREATE TABLE patterns (id INTEGER PRIMARY KEY, confidence REAL, last_used TEXT);
    CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    CREATE INDEX notes_body ON notes(body);
    CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');
    CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN INSERT INTO notes_fts(rowid, body) VALUES (new.id, new.body); END;
    CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN INSERT INTO notes_fts(notes_fts, rowid, body) VALUES ('delete', old.id, old.body); END;
    CREATE TRIGGER notes_au AFTER UPDATE ON notes BEGIN INSERT INTO notes_fts(notes_fts, rowid, body) VALUES ('delete', old.id, old.body); INSERT INTO notes_fts(rowid, body) VALUES (new.id, new.body); END;`);
  const ins = db.prepare('INSERT INTO notes(body) VALUES (?)');
  const rows = Math.round(((opts.mb ?? 4) * 1024 * 1024) / 400);
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`note ${i} about word${i % 997} and topic${i % 89} ${'x'.repeat(200)}`);
  })();
  db.close();
  const config = writeConfig(dir, {
    databases: { app: { path: 'app.db' } },
    conversations: { database: 'app', table: 'sessions', keyColumn: 'id', timestampColumn: 'started_at' },
    patterns: { database: 'app', table: 'patterns', confidenceColumn: 'confidence', lastUsedColumn: 'last_used' },
    events: { path: 'events.jsonl' },
    logs: { dir: 'logs' },
    stateDir: '.db-maintenance',
    maintenance: opts.maintenance ?? {},
  });
  return { dir, file, config };
}

/** Deletes a contiguous third of the notes: whole pages become free (fragmentation VACUUM plans for). */
function freeAThird(file: string): { pages: number; free: number } {
  const db = new Database(file);
  const max = Number(db.prepare('SELECT max(id) FROM notes').pluck().get());
  db.prepare('DELETE FROM notes WHERE id <= ?').run(Math.floor(max / 3));
  db.pragma('wal_checkpoint(TRUNCATE)');
  const out = {
    pages: Number(db.pragma('page_count', { simple: true })),
    free: Number(db.pragma('freelist_count', { simple: true })),
  };
  db.close();
  return out;
}

function pages(file: string): { pages: number; free: number; autoVacuum: number } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      pages: Number(db.pragma('page_count', { simple: true })),
      free: Number(db.pragma('freelist_count', { simple: true })),
      autoVacuum: Number(db.pragma('auto_vacuum', { simple: true })),
    };
  } finally {
    db.close();
  }
}

function results(stdout: string): Result[] {
  return (JSON.parse(stdout) as { results: Result[] }).results;
}

describe('backups never block writers', () => {
  it('another process commits with a zero busy timeout while the backup holds its snapshot, and the backup holds exactly that snapshot', async () => {
    const { dir, file, config } = appBrain({ mb: 2 });
    const pause = path.join(dir, 'paused');
    const run = spawn(
      process.execPath,
      [path.resolve('bin/db-maintenance.js'), '--config', config, '--analyze', '--json'],
      {
        env: {
          ...process.env,
          DB_MAINTENANCE_INJECT: 'pause-at:backup-snapshot',
          DB_MAINTENANCE_PAUSE_FILE: pause,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exit = new Promise<number>((resolve) => run.once('exit', (c) => resolve(c ?? -1)));
    for (let i = 0; i < 600 && !fs.existsSync(pause); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(pause)).toBe(true);
    // The tool is inside its backup's read snapshot now: an application write must not wait at all.
    const app = new Database(file, { timeout: 0 });
    const id = Number(
      app.prepare("INSERT INTO notes(body) VALUES ('written during the backup')").run().lastInsertRowid,
    );
    const total = Number(app.prepare('SELECT count(*) FROM notes').pluck().get());
    app.close();
    fs.rmSync(pause);
    expect(await exit).toBe(0);
    const [r] = results(stdout);
    expect(r!.status).toBe('ok');
    // The backup is the snapshot taken before that write: one row fewer, and not the new row.
    const backups = fs.readdirSync(path.join(dir, '.db-maintenance', 'backups', 'app'));
    expect(backups).toHaveLength(1);
    const copy = new Database(path.join(dir, '.db-maintenance', 'backups', 'app', backups[0]!), { readonly: true });
    expect(Number(copy.prepare('SELECT count(*) FROM notes').pluck().get())).toBe(total - 1);
    expect(copy.prepare('SELECT 1 FROM notes WHERE id = ?').get(id)).toBeUndefined();
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    copy.close();
  }, 60_000);
});

describe('the writer-wait budget of unattended runs', () => {
  it('a VACUUM that would hold writers past the budget is deferred with its estimate and the command that runs it; --vacuum runs it and says how long it held them', () => {
    const { file, config } = appBrain({ mb: 6, maintenance: { maxWriterWaitMs: 50 } });
    const before = freeAThird(file);
    const rowsBefore = dumpUserRows(file);
    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status).toBe(0);
    const vacuum = results(run.stdout).find((r) => r.type === 'VACUUM')!;
    expect(vacuum.status).toBe('skipped');
    expect(vacuum.deferred).toMatchObject({ budgetMs: 50 });
    expect(vacuum.deferred!.estimatedHoldMs).toBeGreaterThan(50);
    expect(vacuum.deferred!.command).toContain('--vacuum --db app');
    expect(vacuum.message).toMatch(
      /^deferred: VACUUM would hold the write lock about .* over maintenance\.maxWriterWaitMs = 50 ms/,
    );
    expect(vacuum.writeLock.holds).toBe(0);
    expect(pages(file).pages).toBeGreaterThanOrEqual(before.pages); // nothing reclaimed (ANALYZE may have used a free page)
    // The dry run says the same before anything runs.
    const plan = JSON.parse(cli(['--config', config, '--run', '--dry-run', '--json']).stdout) as {
      plan: Array<{ type: string; writerWait: string; sql: string[] }>;
    };
    expect(plan.plan.find((s) => s.type === 'VACUUM')).toMatchObject({ writerWait: 'deferred', sql: [] });

    const explicit = cli(['--config', config, '--vacuum', '--json']);
    expect(explicit.status).toBe(0);
    const [v] = results(explicit.stdout);
    expect(v).toMatchObject({ type: 'VACUUM', status: 'ok', bounded: false, deferred: null });
    expect(v!.writeLock.holds).toBeGreaterThanOrEqual(1);
    expect(v!.writeLock.longestMs).toBeGreaterThan(0);
    expect(pages(file).free).toBe(0);
    expect(dumpUserRows(file)).toEqual(rowsBefore);
  }, 60_000);

  it('ANALYZE over the budget runs with analysis_limit instead, verified', () => {
    const { file, config } = appBrain({ mb: 6, maintenance: { maxWriterWaitMs: 50 } });
    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status).toBe(0);
    const a = results(run.stdout).find((r) => r.type === 'ANALYZE')!;
    expect(a).toMatchObject({ status: 'ok', bounded: true });
    expect(a.message).toContain('analysis_limit=1000');
    expect(a.message).toContain('verified');
    const db = new Database(file, { readonly: true });
    expect(Number(db.prepare('SELECT count(*) FROM sqlite_stat1').pluck().get())).toBeGreaterThan(0);
    db.close();
  }, 60_000);

  it("a bloated FTS5 index is merged in short 'merge' steps until it is no longer bloated", () => {
    const { file, config } = appBrain({ mb: 3, maintenance: { maxWriterWaitMs: 50 } });
    // Many small segments: automerge off, no crisis merge below 100, one insert per transaction.
    const db = new Database(file);
    db.prepare("INSERT INTO notes_fts(notes_fts, rank) VALUES ('automerge', 0)").run();
    db.prepare("INSERT INTO notes_fts(notes_fts, rank) VALUES ('crisismerge', 100)").run();
    const ins = db.prepare('INSERT INTO notes(body) VALUES (?)');
    for (let i = 0; i < 60; i++) ins.run(`segment note ${i} word${i}`);
    const dataRows = (): number => Number(db.prepare('SELECT count(*) FROM notes_fts_data').pluck().get());
    const rowsBefore = dataRows();
    db.close();
    const fts = (): { status: string; segments: number } =>
      (
        JSON.parse(cli(['--config', config, '--assess', '--json']).stdout) as {
          databases: Array<{ fts: Array<{ status: string; segments: number }> }>;
        }
      ).databases[0]!.fts[0]!;
    expect(fts()).toMatchObject({ status: 'bloated' });

    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status).toBe(0);
    const f = results(run.stdout).find((r) => r.type === 'OPTIMIZE_FTS')!;
    expect(f).toMatchObject({ status: 'ok', bounded: true });
    expect(f.message).toMatch(/notes_fts merged in \d+ step\(s\)/);
    expect(f.writeLock.holds).toBeGreaterThan(1);
    const after = fts();
    expect(after.status).toBe('ok');
    expect(after.segments).toBeLessThan(16);
    const check = new Database(file);
    expect(Number(check.prepare('SELECT count(*) FROM notes_fts_data').pluck().get())).toBeLessThan(rowsBefore);
    check.prepare("INSERT INTO notes_fts(notes_fts, rank) VALUES ('integrity-check', 1)").run();
    check.close();
  }, 60_000);

  it('a lane with allowBlocking runs the full form: the budget is for windows the application is busy in', () => {
    const { file, config } = appBrain({ mb: 6 });
    freeAThird(file);
    const cfg = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
    const write = (allow: boolean): void =>
      fs.writeFileSync(
        config,
        JSON.stringify({
          ...cfg,
          maintenance: { maxWriterWaitMs: 50 },
          schedule: {
            daily: { enabled: false },
            monthly: { enabled: false },
            compaction: { enabled: false },
            weekly: { allowBlocking: allow },
          },
        }),
      );
    write(false);
    const kept = cli(['--config', config, '--scheduled', '--json']);
    expect(kept.status).toBe(0);
    expect(kept.stdout).toContain('deferred: VACUUM');
    expect(pages(file).free).toBeGreaterThan(0);
    fs.rmSync(path.join(path.dirname(config), '.db-maintenance', 'state.db'));
    write(true);
    const blocked = cli(['--config', config, '--scheduled', '--json']);
    expect(blocked.status).toBe(0);
    expect(blocked.stdout).not.toContain('deferred: VACUUM');
    expect(pages(file).free).toBe(0);
  }, 60_000);
});

describe('incremental reclaim (maintenance.autoVacuum "incremental")', () => {
  it('the next full VACUUM switches the database to auto_vacuum=INCREMENTAL; from then on --run returns free pages in batches, as far as a VACUUM would', () => {
    // Big enough that a full VACUUM, estimated from the explicit one's recorded hold, cannot fit in 50 ms even on a
    // fast, idle machine (one that fits runs whole: it reclaims more); at 6 MB it sometimes did.
    const { file, config } = appBrain({ mb: 24, maintenance: { maxWriterWaitMs: 50, autoVacuum: 'incremental' } });
    // The deletes below leave notes_fts a third dead weight, whose optimize would free pages of
    // its own before the VACUUM (test/fts-bloat.test.ts): here the VACUUM alone is measured.
    const cfg = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(config, JSON.stringify({ ...cfg, thresholds: { ftsDeadRatio: 1 } }));
    const assess = (): string => cli(['--config', config, '--assess']).stdout;
    expect(assess()).toContain('auto_vacuum=NONE');
    const v = cli(['--config', config, '--vacuum', '--json']);
    expect(v.status).toBe(0);
    expect(results(v.stdout)[0]!.message).toContain('switched to auto_vacuum=INCREMENTAL');
    expect(pages(file).autoVacuum).toBe(2);
    expect(assess()).toContain('auto_vacuum=INCREMENTAL');

    const freed = freeAThird(file);
    expect(freed.free).toBeGreaterThan(100);
    const rowsBefore = dumpUserRows(file);
    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status).toBe(0);
    const r = results(run.stdout).find((x) => x.type === 'VACUUM')!;
    expect(r).toMatchObject({ status: 'ok', bounded: true });
    expect(r.message).toMatch(/returned \d+ free pages in \d+ incremental_vacuum batch/);
    expect(r.writeLock.holds).toBeGreaterThan(1);
    const after = pages(file);
    expect(after.free).toBe(0);
    // What a VACUUM's freelist reclaim gives (the ANALYZE planned after it may add a few pages of statistics).
    // Pointer-map pages (one per ~800 pages with auto_vacuum) of the truncated tail go with it.
    expect(after.pages).toBeGreaterThanOrEqual(freed.pages - freed.free - Math.ceil(freed.pages / 800));
    expect(after.pages).toBeLessThanOrEqual(freed.pages - freed.free + 16);
    expect(fs.statSync(file).size).toBe(after.pages * 4096);
    expect(dumpUserRows(file)).toEqual(rowsBefore);
  }, 60_000);
});

describe('the holds are reported', () => {
  it('--json, the history and the metrics carry the longest and total hold of the write lock', () => {
    const { dir, file, config } = appBrain({ mb: 2 });
    freeAThird(file);
    const v = cli(['--config', config, '--vacuum', '--json']);
    expect(v.status).toBe(0);
    const [r] = results(v.stdout);
    expect(r!.writeLock.holds).toBeGreaterThanOrEqual(1);
    expect(r!.writeLock.totalMs).toBeGreaterThanOrEqual(r!.writeLock.longestMs);
    const history = JSON.parse(cli(['--config', config, '--history', '--json']).stdout) as {
      runs: Array<{ tasks: Array<{ writeLock: { longestMs: number; totalMs: number } | null }> }>;
    };
    expect(history.runs[0]!.tasks[0]!.writeLock).toEqual({
      longestMs: r!.writeLock.longestMs,
      totalMs: r!.writeLock.totalMs,
      holds: null,
    });
    const prom = path.join(dir, 'metrics.prom');
    expect(cli(['--config', config, '--history', '--metrics-file', prom]).status).toBe(0);
    const text = fs.readFileSync(prom, 'utf8');
    expect(text).toContain(
      `dbm_task_last_write_lock_longest_seconds{database="app",task="VACUUM"} ${r!.writeLock.longestMs / 1000}`,
    );
    expect(text).toContain(
      `dbm_task_last_write_lock_seconds{database="app",task="VACUUM"} ${r!.writeLock.totalMs / 1000}`,
    );
  }, 60_000);
});

describe('batches sized by time', () => {
  it('a batch whose time is proportional to its size converges on 60% of the target (headroom for the slow ones)', () => {
    const s = new BatchSizer(1000, 50, 1, 100_000);
    for (let i = 0; i < 12; i++) s.took(s.current * 0.01); // 10 us a row
    expect(s.current).toBe(3000); // 30 ms
    for (let i = 0; i < 10; i++) s.took(s.current * 0.2); // the rows got slower: 200 us each
    expect(s.current).toBe(150);
  });

  it('a batch whose time is mostly fixed is not shrunk further than helps (fewer, not more, long holds)', () => {
    const s = new BatchSizer(200, 250, 1, 200);
    const cost = (n: number): number => 300 + n * 0.05; // finding the rows costs 300 ms whatever the size
    for (let i = 0; i < 10; i++) s.took(cost(s.current));
    expect(s.current).toBe(200);
  });
});

describe('rows picked outside the lock, checked again under it', () => {
  it('a key column with NULLs fails cleanly, moves nothing more, and never loops', () => {
    const dir = tempDir('dbm-nullkey-');
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at TEXT);
      CREATE TABLE patterns (id INTEGER PRIMARY KEY, code TEXT UNIQUE, confidence REAL, last_used TEXT);`);
    const ins = db.prepare('INSERT INTO patterns(code, confidence, last_used) VALUES (?, 0.1, NULL)');
    for (let i = 0; i < 20; i++) ins.run(i % 2 ? `p${i}` : null); // UNIQUE allows many NULLs
    db.close();
    const config = writeConfig(dir, {
      databases: { app: { path: 'app.db' } },
      conversations: { database: 'app', table: 'sessions', keyColumn: 'id', timestampColumn: 'started_at' },
      patterns: {
        database: 'app',
        table: 'patterns',
        keyColumn: 'code',
        confidenceColumn: 'confidence',
        lastUsedColumn: 'last_used',
      },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
    });
    const r = cli(['--config', config, '--prune-patterns', '--force'], { timeout: 30_000 });
    expect(r.status).not.toBe(-1); // it ended (no hang)
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('NULL "code"');
    const after = new Database(file, { readonly: true });
    // Nothing with a NULL key was moved; at most whole batches of the others before the NULLs came up.
    expect(Number(after.prepare('SELECT count(*) FROM patterns WHERE code IS NULL').pluck().get())).toBe(10);
    after.close();
  }, 60_000);
});
