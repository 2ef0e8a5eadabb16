/**
 * The dead-weight scan of a large FTS5 index on a second thread, beside FTS5's integrity-check
 * (src/assess/fts-bloat-aside.ts): the thread's own measure is what comes back, the CLI reports
 * what the same scan measures inline, and whichever way the check ends (passed, drift found) the
 * brain is left as it was: no byte, no mtime, no -wal or -shm. How much time it saves is
 * bench/assess.mjs's, not asserted here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCAN_ASIDE_MIN_BYTES, scanAside } from '../src/assess/fts-bloat-aside.js';
import { measureFtsBloat } from '../src/assess/fts-bloat.js';
import { ftsIndexBytes, listFtsTables, type FtsTable } from '../src/db/fts5.js';
import { sleepSync } from '../src/maintenance/lock-meter.js';
import { cli, snapshotTree, tempDir, writeConfig } from './helpers.js';

const OPTS = { scan: true, samplePages: 64, dueRatio: 0.2, dueBytes: 1 };

interface Fts {
  status: string;
  checked: string;
  bloat: Record<string, unknown> | null;
}

/** An index past SCAN_ASIDE_MIN_BYTES (about 36 MB), a fifth of its documents deleted, WAL mode, at rest. */
let template: string;
beforeAll(() => {
  // Not a tempDir(): those go after each test, this one serves them all.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-aside-template-'));
  template = path.join(root, 'app.db');
  const db = new Database(template);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE m(id INTEGER PRIMARY KEY, c TEXT);
    CREATE VIRTUAL TABLE m_fts USING fts5(c, content='m', content_rowid='id');`);
  let seed = 11;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = Array.from({ length: 20000 }, (_, i) => `w${i.toString(36)}`);
  const ins = db.prepare('INSERT INTO m(c) VALUES (?)');
  const fts = db.prepare('INSERT INTO m_fts(rowid, c) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 200_000; i++) {
      const c = Array.from({ length: 60 }, () => words[Math.floor(rnd() * rnd() * 20000)]).join(' ');
      fts.run(ins.run(c).lastInsertRowid, c);
    }
  })();
  const del = db.prepare("INSERT INTO m_fts(m_fts, rowid, c) VALUES ('delete', ?, ?)");
  const gone = db.prepare('DELETE FROM m WHERE id = ?');
  const victims = db.prepare('SELECT id, c FROM m WHERE id % 5 = 0').all() as Array<{ id: number; c: string }>;
  db.transaction(() => {
    for (const v of victims) {
      del.run(v.id, v.c);
      gone.run(v.id);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return () => fs.rmSync(root, { recursive: true, force: true });
}, 120_000);

/** A copy of the template (at rest: no -wal beside it) in a brain of its own, with its config. */
function brain(): { dir: string; file: string; config: string } {
  const dir = tempDir('dbm-aside-');
  const file = path.join(dir, 'app.db');
  fs.copyFileSync(template, file);
  return { dir, file, config: writeConfig(dir, { databases: { app: { path: 'app.db' } } }) };
}

const notOurs = (rel: string): boolean => rel === 'maintenance.config.json' || rel.startsWith('.db-maintenance');
const hasWalFiles = (dir: string): boolean => fs.readdirSync(dir).some((f) => /-(wal|shm)$/.test(f));

/** The index's table and what the scan measures on this thread (read-write, so its close removes the WAL files). */
function inline(file: string): { table: FtsTable; measure: ReturnType<typeof measureFtsBloat> } {
  const db = new Database(file);
  const table = listFtsTables(db)[0]!;
  expect(ftsIndexBytes(db, table.name)!).toBeGreaterThan(SCAN_ASIDE_MIN_BYTES);
  const measure = measureFtsBloat(db, table, OPTS);
  db.close();
  return { table, measure };
}

describe('the dead-weight scan of a large index on a second thread', () => {
  it("gives the thread's own measure, the same as this thread's", () => {
    const { dir, file } = brain();
    const { table, measure } = inline(file);
    expect(measure!.ratio).toBeGreaterThan(0.1);
    const db = new Database(file);
    const aside = scanAside(file, table, OPTS, ftsIndexBytes(db, table.name)!, 1000);
    // undefined would mean the thread gave nothing (the caller then measures inline)
    expect(aside.result()).toEqual(measure);
    db.close();
    expect(hasWalFiles(dir)).toBe(false);
  }, 60_000);

  it('stopped mid-scan, it has closed its connection when cancel returns: the last close removes the -wal and -shm', () => {
    const { dir, file } = brain();
    const { table } = inline(file);
    // As the assessment has it: its own connection to a database at rest (read-write, query_only).
    const db = new Database(file);
    db.pragma('query_only = ON');
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    const aside = scanAside(file, table, OPTS, ftsIndexBytes(db, table.name)!, 1000);
    sleepSync(400); // the thread is reading pages by now
    aside.cancel();
    db.close();
    expect(hasWalFiles(dir)).toBe(false);
    expect(aside.result()).toBeUndefined();
  }, 60_000);

  it('--assess --deep reports what this thread measures, and changes no byte or mtime of the brain, leaving no -wal or -shm', () => {
    const { dir, file, config } = brain();
    const { measure } = inline(file);
    const before = snapshotTree(dir, notOurs);
    expect(hasWalFiles(dir)).toBe(false);
    const r = cli(['--config', config, '--assess', '--deep', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const fts = (JSON.parse(r.stdout) as { databases: Array<{ fts: Fts[] }> }).databases[0]!.fts[0]!;
    expect(fts).toMatchObject({ status: 'bloated', checked: 'full' });
    expect(fts.bloat).toEqual({ ...measure, due: fts.bloat!['due'] });
    expect(snapshotTree(dir, notOurs)).toEqual(before);
  }, 120_000);

  it('--assess --deep that finds drift while the thread scans: the brain is left as it was, no -wal or -shm', () => {
    const { dir, file, config } = brain();
    // A row written around the index (no triggers here): the integrity-check finds it at the end.
    const db = new Database(file);
    db.prepare("INSERT INTO m(c) VALUES ('written around the index')").run();
    db.close();
    expect(hasWalFiles(dir)).toBe(false);
    const before = snapshotTree(dir, notOurs);
    for (let i = 0; i < 2; i++) {
      const r = cli(['--config', config, '--assess', '--deep', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const fts = (JSON.parse(r.stdout) as { databases: Array<{ fts: Fts[] }> }).databases[0]!.fts[0]!;
      expect(fts).toMatchObject({ status: 'drift', checked: 'full', bloat: null });
      expect(snapshotTree(dir, notOurs)).toEqual(before);
    }
  }, 120_000);

  it('a thread that cannot open its file gives no measure, and creates nothing where the database should be', () => {
    const db = new Database(':memory:');
    db.exec('CREATE VIRTUAL TABLE d USING fts5(b)');
    const table = listFtsTables(db)[0]!;
    db.close();
    const dir = tempDir();
    const aside = scanAside(path.join(dir, 'missing.db'), table, OPTS, 1 << 30, 1000);
    expect(aside.result()).toBeUndefined();
    expect(aside.result()).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
