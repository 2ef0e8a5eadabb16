import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, snapshotTree, tempDir, writeConfig } from './helpers.js';
import { exited, startCli } from './process-helpers.js';

const require = createRequire(import.meta.url);

/** A graph database with an append-only GraphLog (ids 1..rows) and a consumers table. */
function graphBrain(
  rows: number,
  watermarks: ReadonlyArray<number | null>,
  job: Record<string, unknown> = {},
): { dir: string; db: string; config: string } {
  const dir = tempDir();
  const db = path.join(dir, 'graph.db');
  const g = new Database(db);
  g.pragma('journal_mode = WAL');
  g.exec(`CREATE TABLE "GraphLog" (id INTEGER PRIMARY KEY, op TEXT NOT NULL, payload TEXT);
          CREATE TABLE consumers (name TEXT PRIMARY KEY, last_id INTEGER);
          CREATE TABLE conversations (id INTEGER PRIMARY KEY, started_at TEXT);
          CREATE TABLE patterns (id INTEGER PRIMARY KEY, confidence REAL, last_used TEXT)`);
  const ins = g.prepare(`INSERT INTO "GraphLog"(op, payload) VALUES ('upsert', ?)`);
  g.transaction(() => {
    for (let i = 1; i <= rows; i++) ins.run(`edge ${i}`);
  })();
  watermarks.forEach((w, i) => g.prepare('INSERT INTO consumers VALUES (?, ?)').run(`c${i}`, w));
  g.close();
  const config = writeConfig(dir, {
    databases: { graph: { path: 'graph.db' } },
    conversations: { database: 'graph' },
    patterns: { database: 'graph' },
    compaction: [
      {
        name: 'graphlog',
        database: 'graph',
        table: 'GraphLog',
        idColumn: 'id',
        watermarks: [{ table: 'consumers', column: 'last_id' }],
        marginRows: 1000,
        ...job,
      },
    ],
    // --scheduled runs the compaction lane alone
    schedule: { daily: { enabled: false }, weekly: { enabled: false }, monthly: { enabled: false } },
  });
  return { dir, db, config };
}

const ids = (db: string): { min: number; max: number; n: number } => {
  // Not readonly: a read-only connection to a WAL database at rest leaves -wal/-shm behind.
  const g = new Database(db, { fileMustExist: true });
  g.pragma('query_only = ON');
  try {
    return g.prepare('SELECT min(id) AS min, max(id) AS max, count(*) AS n FROM "GraphLog"').get() as {
      min: number;
      max: number;
      n: number;
    };
  } finally {
    g.close();
  }
};

describe('--compact-logs: watermark-bounded compaction', () => {
  it('deletes exactly the rows at or below min(watermarks) - margin', () => {
    const b = graphBrain(10_000, [8500, 7000, 9900], { batchRows: 700 });
    const r = cli(['--config', b.config, '--compact-logs', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(ids(b.db)).toEqual({ min: 6001, max: 10_000, n: 4000 });
    const item = JSON.parse(r.stdout).items[0];
    expect(item).toMatchObject({ type: 'COMPACT_LOG', status: 'ok', rowsAffected: 6000 });
    // batchRows is a maximum: 9 batches of 700, more if one took longer than the writer-wait budget allows.
    const batches = Number(/in (\d+) batch\(es\)/.exec(item.message)?.[1]);
    expect(batches).toBeGreaterThanOrEqual(9);
    expect(item.writeLock.holds).toBeGreaterThanOrEqual(batches); // each batch a hold of its own
    expect(cli(['--config', b.config, '--compact-logs']).status).toBe(0);
    expect(ids(b.db).n).toBe(4000); // idempotent
  });

  it('fails closed: a NULL watermark, no consumers, an unreadable watermark table delete nothing', () => {
    for (const [why, b] of [
      ['NULL', graphBrain(3000, [2500, null])],
      ['no consumer', graphBrain(3000, [])],
      ['missing table', graphBrain(3000, [2500], { watermarks: [{ table: 'no_such_table', column: 'last_id' }] })],
      ['missing column', graphBrain(3000, [2500], { watermarks: [{ table: 'consumers', column: 'nope' }] })],
    ] as const) {
      const before = snapshotTree(b.dir, (f) => f.startsWith('.db-maintenance'));
      const r = cli(['--config', b.config, '--compact-logs', '--json']);
      expect(r.status, why).toBe(0);
      expect(JSON.parse(r.stdout).items[0].status, why).toBe('skipped');
      expect(r.stderr, why).toMatch(/warning: COMPACT_LOG skipped: graphlog: nothing deleted: /);
      expect(ids(b.db).n, why).toBe(3000);
      expect(
        snapshotTree(b.dir, (f) => f.startsWith('.db-maintenance')),
        why,
      ).toEqual(before);
    }
  });

  it('--dry-run counts exactly and changes nothing', () => {
    const b = graphBrain(5000, [4000]);
    const before = snapshotTree(b.dir);
    const r = cli(['--config', b.config, '--compact-logs', '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).items[0].rowsAffected).toBe(3000);
    expect(snapshotTree(b.dir)).toEqual(before);
  });

  it('a consumer whose watermark falls back mid-run stops the deletion there (watermarks are read before every batch)', () => {
    const b = graphBrain(6000, [5000], { batchRows: 100, marginRows: 0 });
    const g = new Database(b.db);
    // Deterministic "mid-run": when row 1000 goes, the consumer falls back to 1500.
    g.exec(
      `CREATE TRIGGER fall_back AFTER DELETE ON "GraphLog" WHEN old.id = 1000 BEGIN UPDATE consumers SET last_id = 1500; END`,
    );
    g.close();
    const r = cli(['--config', b.config, '--compact-logs', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(ids(b.db)).toEqual({ min: 1501, max: 6000, n: 4500 });
  });

  it('a consumer that registers while the delete waits for the write lock is respected (watermarks read inside the batch transaction)', async () => {
    const b = graphBrain(10_000, [9000], { batchRows: 20_000, marginRows: 0 });
    // The application: holds the write lock, registers a consumer that has read up to 100, commits 1.5 s later.
    const app = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require(${JSON.stringify(require.resolve('better-sqlite3'))}))(${JSON.stringify(b.db)});
         db.exec('BEGIN IMMEDIATE');
         db.prepare("INSERT INTO consumers VALUES ('late', 100)").run();
         process.stdout.write('locked\\n');
         setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1500);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => app.stdout!.once('data', () => resolve()));
    const r = await exited(startCli(['--config', b.config, '--compact-logs', '--json']));
    expect(r.code, r.stderr).toBe(0);
    expect(ids(b.db)).toEqual({ min: 101, max: 10_000, n: 9900 });
    const item = (JSON.parse(r.stdout) as { items: Array<{ message: string }> }).items[0]!;
    expect(item.message).toMatch(/with id <= 100 in 1 batch/);
  });

  it("--scheduled VACUUMs a compacted database once per the job's vacuumEvery window, after a compaction that succeeded; a failed VACUUM is restored and retried", () => {
    const b = graphBrain(20_000, [15_000], { vacuumEvery: 'weekly', batchRows: 2000 });
    const scheduled = (at: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => {
      const r = cli(['--config', b.config, '--scheduled', '--json', ...extra], {
        env: { DB_MAINTENANCE_NOW: at, ...env },
      });
      const lane = (
        JSON.parse(r.stdout).lanes as Array<{
          lane: string;
          status: string;
          vacuums: unknown[];
          maintenance: {
            plan: Array<{ type: string; database: string }>;
            results: Array<{ type: string; status: string; restored: boolean }>;
          } | null;
        }>
      ).find((l) => l.lane === 'compaction')!;
      return { r, lane };
    };
    const freePages = (): number => {
      const g = new Database(b.db, { fileMustExist: true });
      try {
        return Number(g.pragma('freelist_count', { simple: true }));
      } finally {
        g.close();
      }
    };
    const vacuum = (window: string, status: string) => [
      { job: 'graphlog', database: 'graph', every: 'weekly', window, status },
    ];

    const before = snapshotTree(b.dir);
    const dry = scheduled('2026-11-20T12:00:00Z', ['--dry-run']);
    expect(dry.r.status, dry.r.stderr).toBe(0);
    expect(dry.lane.vacuums).toEqual(vacuum('2026-W47', 'planned'));
    expect(dry.lane.maintenance!.plan.map((p) => `${p.type} ${p.database}`)).toEqual(['VACUUM graph']);
    expect(snapshotTree(b.dir)).toEqual(before);

    // Friday: the compaction, then its VACUUM, which fails verification: restored, the lane failed ...
    const failed = scheduled('2026-11-20T12:00:00Z', [], { DB_MAINTENANCE_INJECT: 'after:VACUUM:graph' });
    expect(failed.r.status).toBe(6);
    expect(failed.lane.status).toBe('failed');
    expect(failed.lane.vacuums).toEqual(vacuum('2026-W47', 'failed'));
    expect(failed.lane.maintenance!.results[0]).toMatchObject({ type: 'VACUUM', status: 'failed', restored: true });
    expect(ids(b.db)).toEqual({ min: 14_001, max: 20_000, n: 6000 }); // the compaction itself stands
    // ... and retried at the next invocation.
    const retried = scheduled('2026-11-20T13:00:00Z');
    expect(retried.r.status, retried.r.stderr).toBe(0);
    expect(retried.lane.vacuums).toEqual(vacuum('2026-W47', 'ok'));
    expect(freePages()).toBe(0);

    // Saturday, consumers further on: compacted again, but this week's VACUUM is done.
    const g = new Database(b.db);
    g.prepare('UPDATE consumers SET last_id = 19000').run();
    g.close();
    const saturday = scheduled('2026-11-21T12:00:00Z');
    expect(saturday.r.status, saturday.r.stderr).toBe(0);
    expect(saturday.lane.vacuums).toEqual(vacuum('2026-W47', 'not-due'));
    expect(saturday.lane.maintenance).toBeNull();
    expect(ids(b.db).min).toBe(18_001);
    expect(freePages()).toBeGreaterThan(0);

    // Monday: a new ISO week, a new VACUUM.
    const monday = scheduled('2026-11-23T12:00:00Z');
    expect(monday.r.status, monday.r.stderr).toBe(0);
    expect(monday.lane.vacuums).toEqual(vacuum('2026-W48', 'ok'));
    expect(freePages()).toBe(0);
  });

  it('no VACUUM after a compaction that failed closed (it is tried again with the next compaction)', () => {
    const b = graphBrain(3000, [null], { vacuumEvery: 'daily' });
    const r = cli(['--config', b.config, '--scheduled', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const lane = JSON.parse(r.stdout).lanes.find((l: { lane: string }) => l.lane === 'compaction');
    expect(lane.vacuums).toEqual([
      { job: 'graphlog', database: 'graph', every: 'daily', window: '2026-11-20', status: 'not-run' },
    ]);
    expect(lane.maintenance).toBeNull();
    expect(ids(b.db).n).toBe(3000);
  });

  it('a writer appending to the log throughout loses nothing', async () => {
    const b = graphBrain(60_000, [59_000], { batchRows: 200, marginRows: 0 });
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
         const db = new D(${JSON.stringify(b.db)}, { timeout: 5000 });
         const ins = db.prepare("INSERT INTO \\"GraphLog\\"(op, payload) VALUES ('live', ?)");
         let stop = false, n = 0, errors = [];
         process.on('SIGTERM', () => { stop = true; });
         const tick = () => {
           if (stop) { db.close(); process.stdout.write(JSON.stringify({ n, errors })); return; }
           try { ins.run('live ' + n); n++; } catch (e) { errors.push(String(e.code)); }
           setImmediate(tick);
         };
         tick();`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const writerDone = exited(writer);
    await new Promise((r) => setTimeout(r, 100));
    const run = await exited(startCli(['--config', b.config, '--compact-logs', '--json']));
    await new Promise((r) => setTimeout(r, 100));
    writer.kill('SIGTERM');
    const w = JSON.parse((await writerDone).stdout) as { n: number; errors: string[] };
    expect(run.code, run.stderr).toBe(0);
    expect(w.errors).toEqual([]);
    expect(w.n).toBeGreaterThan(300);
    const g = new Database(b.db, { readonly: true });
    const live = Number(g.prepare(`SELECT count(*) FROM "GraphLog" WHERE op = 'live'`).pluck().get());
    const min = Number(g.prepare('SELECT min(id) FROM "GraphLog"').pluck().get());
    g.close();
    expect(live).toBe(w.n); // every appended row is there
    expect(min).toBe(59_001); // and exactly the rows up to the watermark are gone
    // Many short transactions, interleaved with the writer: at most batchRows (200) rows each.
    expect(Number(/in (\d+) batch/.exec(JSON.parse(run.stdout).items[0].message)?.[1])).toBeGreaterThanOrEqual(295);
    fs.rmSync(b.dir, { recursive: true, force: true });
  });
});
