import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { assess } from '../src/assess/index.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { runMaintenance } from '../src/maintenance/executor.js';
import { NOW, tempDir, writeConfig } from './helpers.js';

const T = `chat "threads"; DROP TABLE x; --`;
const M = `msg's; body`;
const F = `search "idx"; --`;
const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function hostileBrain(drift: boolean): string {
  const dir = tempDir();
  const db = new Database(path.join(dir, 'h.db'));
  db.exec(`
    CREATE TABLE ${q(T)} (${q('thread id')} INTEGER PRIMARY KEY, ${q('opened at')} TEXT);
    CREATE TABLE ${q(M)} (id INTEGER PRIMARY KEY, ${q('thread id')} INTEGER REFERENCES ${q(T)}(${q('thread id')}) ON DELETE CASCADE, ${q('the text')} TEXT);
    CREATE INDEX ${q('by thread; x')} ON ${q(M)}(${q('thread id')});
    CREATE VIRTUAL TABLE ${q(F)} USING fts5(${q('the text')}, content=${lit(M)}, content_rowid='id');
    CREATE TABLE ${q('pat "terns"')} (id INTEGER PRIMARY KEY, ${q('conf')} REAL, ${q('used; at')} TEXT);
  `);
  const insT = db.prepare(`INSERT INTO ${q(T)}(${q('opened at')}) VALUES (?)`);
  const insM = db.prepare(`INSERT INTO ${q(M)}(${q('thread id')}, ${q('the text')}) VALUES (?, ?)`);
  const insF = db.prepare(`INSERT INTO ${q(F)}(rowid, ${q('the text')}) VALUES (?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < 300; i++) {
      const t = Number(insT.run(`2026-0${1 + (i % 9)}-01 10:00:00`).lastInsertRowid);
      const text = `message number${i} quoted "words" and it's fine`;
      const id = Number(insM.run(t, text).lastInsertRowid);
      insF.run(id, text);
    }
  })();
  // Drift: delete content rows without telling the index.
  if (drift) db.exec(`DELETE FROM ${q(M)} WHERE id % 10 = 0`);
  db.exec('ANALYZE');
  db.close();
  return writeConfig(dir, {
    databases: { h: { path: 'h.db' } },
    conversations: { database: 'h', table: T, keyColumn: 'thread id', timestampColumn: 'opened at', keepNewest: 5 },
    patterns: { database: 'h', table: 'pat "terns"', confidenceColumn: 'conf', lastUsedColumn: 'used; at' },
    events: { path: 'none.jsonl' },
    logs: { dir: 'no-logs' },
  });
}

describe('hostile names: quotes, spaces and semicolons in tables, columns and FTS indexes', () => {
  it('are maintained correctly: VACUUM, ANALYZE, REINDEX and FTS rebuild with backup and verification', async () => {
    const config = hostileBrain(true);
    const file = path.join(path.dirname(config), 'h.db');
    const rows = (): unknown[] => {
      const db = new Database(file);
      const out = [T, M, 'pat "terns"'].map((t) =>
        db
          .prepare(`SELECT * FROM ${q(t)} ORDER BY 1`)
          .raw()
          .all(),
      );
      db.close();
      return out;
    };
    const before = rows();
    const report = await runMaintenance({
      brain: loadConfig(config),
      dryRun: false,
      requested: ['VACUUM', 'ANALYZE', 'REINDEX', 'REBUILD_FTS'],
      deep: false,
      now: NOW,
      logger: silentLogger(),
      env: {},
    });
    expect(report.results.map((r) => [r.type, r.status])).toEqual([
      ['REBUILD_FTS', 'ok'],
      ['REINDEX', 'ok'],
      ['VACUUM', 'ok'],
      ['ANALYZE', 'ok'],
    ]);
    expect(report.plan[0]!.sql).toEqual([`INSERT INTO ${q(F)}(${q(F)}) VALUES ('rebuild')`]);
    expect(rows()).toEqual(before);
    const after = assess({ brain: loadConfig(config), deep: true, now: NOW, logger: silentLogger(), record: false });
    expect(after.databases[0]!.fts?.[0]?.status).toBe('ok');
  });

  it('are assessed correctly when healthy', () => {
    const a = assess({
      brain: loadConfig(hostileBrain(false)),
      deep: true,
      now: NOW,
      logger: silentLogger(),
      record: false,
    });
    expect(a.problems).toEqual([]);
    const h = a.databases[0]!;
    expect(h.fts).toEqual([expect.objectContaining({ table: F, contentTable: M, kind: 'external', status: 'ok' })]);
    expect(a.retention?.conversations).toMatchObject({
      total: 300,
      childRows: [{ table: M, rows: expect.any(Number) }],
    });
    expect(a.retention?.conversations?.eligible).toBe(295);
    expect(a.tasks.filter((t) => t.type === 'REBUILD_FTS')).toEqual([]);
  });

  it('and their drift is found, default and deep', () => {
    const config = hostileBrain(true);
    for (const deep of [false, true]) {
      const a = assess({ brain: loadConfig(config), deep, now: NOW, logger: silentLogger(), record: false });
      expect(a.databases[0]!.fts?.[0]?.status).toBe('drift');
      expect(a.tasks[0]).toMatchObject({ type: 'REBUILD_FTS', priority: 1 });
    }
  });
});
