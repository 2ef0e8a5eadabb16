import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { assess } from '../src/assess/index.js';
import type { DatabaseHealth } from '../src/assess/types.js';
import type { Assessment } from '../src/report/json.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { NOW, demoBrain, readJson, tempDir, writeConfig } from './helpers.js';

function run(configPath: string, opts: { db?: string; deep?: boolean } = {}): Assessment {
  return assess({
    brain: loadConfig(configPath),
    dbName: opts.db,
    deep: opts.deep ?? false,
    now: NOW,
    logger: silentLogger(),
    record: false,
  });
}

/** Every FTS5 index counts as above assess.ftsFullCheckMaxBytes: the default check is the bounded one. */
function aboveTheBound(configPath: string): void {
  const c = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, Record<string, unknown> | undefined>;
  fs.writeFileSync(configPath, JSON.stringify({ ...c, assess: { ...c['assess'], ftsFullCheckMaxBytes: 0 } }));
}

function health(a: Assessment, name: string): DatabaseHealth {
  const h = a.databases.find((d) => d.name === name);
  if (!h) throw new Error(`no health for ${name}`);
  return h;
}

const taskTypes = (a: Assessment, db: string): string[] => a.tasks.filter((t) => t.database === db).map((t) => t.type);

/** A standalone database with one config entry, for signals built from scratch. */
function singleDb(
  setup: (db: Database.Database) => void,
  extra: Record<string, unknown> = {},
): { config: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'one.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  setup(db);
  db.close();
  const config = writeConfig(dir, {
    databases: { one: { path: 'one.db' } },
    conversations: { database: 'one', table: 'conversations' },
    patterns: { database: 'one', table: 'patterns' },
    events: { path: 'events.jsonl' },
    logs: { dir: 'logs' },
    ...extra,
  });
  return { config, file };
}

const BASE_SCHEMA = `
  CREATE TABLE conversations (id INTEGER PRIMARY KEY, started_at TEXT);
  CREATE TABLE patterns (id INTEGER PRIMARY KEY, confidence REAL, last_used TEXT);
`;

describe('assess: each health signal is reported when present, and only then', () => {
  it('a healthy database reports no task and no problem', () => {
    const demo = demoBrain();
    for (const name of ['tier3', 'state']) {
      const a = run(demo.configPath, { db: name });
      expect(a.problems).toEqual([]);
      expect(a.tasks).toEqual([]);
      const h = health(a, name);
      expect(h.statistics?.status).toBe('fresh');
      expect(h.quickCheck?.status).toBe('ok');
    }
  });

  it('healthy after the real fixes: VACUUM + ANALYZE + FTS rebuild leave tier1 with nothing to do', () => {
    const demo = demoBrain({ ftsDrift: true });
    const file = path.join(demo.dir, 'tier1', 'conversations.db');
    const db = new Database(file);
    db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild'); VACUUM; ANALYZE;");
    db.close();
    const a = run(demo.configPath, { db: 'tier1' });
    expect(taskTypes(a, 'tier1').filter((t) => t !== 'ARCHIVE_CONVERSATIONS')).toEqual([]);
    expect(health(a, 'tier1').fts?.[0]?.status).toBe('ok');
    const deep = run(demo.configPath, { db: 'tier1', deep: true });
    expect(health(deep, 'tier1').fts?.[0]).toMatchObject({ status: 'ok', checked: 'full' });
  });

  it('fragmentation: free pages plus page waste above the threshold -> VACUUM with reclaimable bytes', () => {
    const demo = demoBrain();
    const a = run(demo.configPath, { db: 'tier1' });
    const h = health(a, 'tier1');
    expect(h.freelistRatio).toBeGreaterThan(0.2);
    expect(h.pageWaste?.status).toBe('measured');
    const vacuum = a.tasks.find((t) => t.type === 'VACUUM');
    expect(vacuum).toBeDefined();
    expect(vacuum!.reclaimableBytes).toBeGreaterThanOrEqual((h.freelistCount ?? 0) * (h.pageSize ?? 0));
    expect(vacuum!.reason).toMatch(/fragmentation/);
  });

  it('page waste alone (no free pages) counts as fragmentation: freelist understates it', () => {
    const { config } = singleDb(
      (db) => {
        db.exec(BASE_SCHEMA + 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;');
        const ins = db.prepare('INSERT INTO kv VALUES (?, ?)');
        // Keys in random order split pages half-full: space VACUUM gets back, with no free page at all.
        db.transaction(() => {
          for (let i = 0; i < 20000; i++) ins.run(crypto.randomUUID(), 'x'.repeat(100));
        })();
        db.exec('ANALYZE');
      },
      { thresholds: { fragmentationRatio: 0.08, pageWasteAllowance: 0.02, minReclaimBytes: 0 } },
    );
    const a = run(config);
    const h = health(a, 'one');
    expect(h.freelistCount).toBe(0);
    expect(h.pageWaste?.ratio).toBeGreaterThan(0.1);
    expect(taskTypes(a, 'one')).toContain('VACUUM');
    expect(a.tasks.find((t) => t.type === 'VACUUM')?.reclaimableBytes).toBeGreaterThan(0);
  });

  it('page waste is skipped above assess.pageWasteMaxPages by default and measured with --deep', () => {
    const demo = demoBrain();
    const cfg = readJson(demo.configPath);
    writeConfig(demo.dir, { ...cfg, assess: { pageWasteMaxPages: 10, quickCheckMaxBytes: 1000 } });
    const a = run(demo.configPath, { db: 'tier1' });
    expect(health(a, 'tier1').pageWaste?.status).toBe('skipped');
    expect(health(a, 'tier1').quickCheck?.status).toBe('skipped');
    const deep = run(demo.configPath, { db: 'tier1', deep: true });
    expect(health(deep, 'tier1').pageWaste?.status).toBe('measured');
    expect(health(deep, 'tier1').quickCheck?.status).toBe('ok');
  });

  it('statistics never gathered -> ANALYZE (missing)', () => {
    const demo = demoBrain();
    const a = run(demo.configPath, { db: 'tier2' });
    expect(health(a, 'tier2').statistics?.status).toBe('missing');
    expect(a.tasks.find((t) => t.type === 'ANALYZE')?.reason).toMatch(/sqlite_stat1 missing/);
  });

  it('statistics drifted past base + scale factor -> ANALYZE (stale); small changes do not churn', () => {
    const { config, file } = singleDb((db) => {
      db.exec(BASE_SCHEMA + 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);');
      const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 1000; i++) ins.run(`v${i}`);
      })();
      db.exec('ANALYZE');
    });
    // 1000 rows analyzed; threshold = 50 + 0.1 x 1000 = 150.
    const add = (n: number): void => {
      const db = new Database(file);
      const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < n; i++) ins.run(`w${i}`);
      })();
      db.close();
    };
    add(140);
    let a = run(config);
    expect(health(a, 'one').statistics?.status).toBe('fresh');
    expect(taskTypes(a, 'one')).not.toContain('ANALYZE');
    add(20);
    a = run(config);
    expect(health(a, 'one').statistics?.status).toBe('stale');
    expect(health(a, 'one').statistics?.staleTables).toEqual([
      { table: 't', analyzedRows: 1000, currentRows: 1160, threshold: 150, stale: true },
    ]);
    expect(taskTypes(a, 'one')).toContain('ANALYZE');
  });

  it('a tiny never-analyzed database does not ask for ANALYZE (base threshold)', () => {
    const { config } = singleDb((db) => {
      db.exec(BASE_SCHEMA);
      db.exec("INSERT INTO conversations(started_at) VALUES ('2026-11-19 10:00:00')");
    });
    const a = run(config);
    expect(health(a, 'one').statistics?.status).toBe('not-needed');
    expect(a.tasks).toEqual([]);
  });

  it('external-content FTS drift through a wrong delete trigger -> REBUILD_FTS, default and deep', () => {
    const demo = demoBrain({ ftsDrift: true });
    // The demo's index is below assess.ftsFullCheckMaxBytes: the default check is FTS5's own, as --deep's.
    for (const deep of [false, true]) {
      const a = run(demo.configPath, { db: 'tier1', deep });
      const fts = health(a, 'tier1').fts?.find((f) => f.table === 'messages_fts');
      expect(fts).toMatchObject({
        kind: 'external',
        contentTable: 'messages',
        status: 'drift',
        checked: 'full',
      });
      expect(fts?.triggers?.status).toBe('wrong');
      expect(fts?.triggers?.problems.map((p) => p.trigger)).toEqual(['messages_ad']);
      const task = a.tasks[0]!;
      expect(task).toMatchObject({ type: 'REBUILD_FTS', database: 'tier1', priority: 1 });
      expect(task.reason).toMatch(/messages_fts/);
    }
    // Above the bound, the row counts see it first.
    aboveTheBound(demo.configPath);
    const a = run(demo.configPath, { db: 'tier1' });
    expect(health(a, 'tier1').fts?.find((f) => f.table === 'messages_fts')).toMatchObject({
      status: 'drift',
      checked: 'counts',
    });
  });

  it('FTS drift the counts cannot see (content updated around the triggers) is found by the sampled probe', () => {
    const demo = demoBrain();
    const db = new Database(path.join(demo.dir, 'tier1', 'conversations.db'));
    db.exec("DROP TRIGGER messages_au; UPDATE messages SET content = 'zyxwvutsrq ' || id WHERE id % 3 = 0;");
    db.close();
    aboveTheBound(demo.configPath);
    const a = run(demo.configPath, { db: 'tier1' });
    const fts = health(a, 'tier1').fts?.[0];
    expect(fts).toMatchObject({ status: 'drift', checked: 'sampled' });
    expect(fts?.indexedRows).toBe(fts?.contentRows);
    expect(taskTypes(a, 'tier1')).toContain('REBUILD_FTS');
  });

  it('an FTS index with many segments -> OPTIMIZE_FTS', () => {
    const { config } = singleDb((db) => {
      db.exec(
        BASE_SCHEMA +
          "CREATE VIRTUAL TABLE notes USING fts5(body); INSERT INTO notes(notes, rank) VALUES ('automerge', 0);",
      );
      db.exec("INSERT INTO notes(notes, rank) VALUES ('crisismerge', 64);");
      const ins = db.prepare('INSERT INTO notes(body) VALUES (?)');
      for (let i = 0; i < 30; i++) ins.run(`note number ${i} about things`); // one segment per transaction
    });
    const a = run(config);
    const fts = health(a, 'one').fts?.[0];
    expect(fts?.status).toBe('bloated');
    expect(fts?.segments).toBe(30);
    expect(taskTypes(a, 'one')).toContain('OPTIMIZE_FTS');
  });

  it('WAL grown past the limit (a writer holds it open) -> CHECKPOINT', () => {
    const { config, file } = singleDb(
      (db) => db.exec(BASE_SCHEMA + 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);'),
      {
        thresholds: { walMaxBytes: 100_000, walRatio: 0.5 },
      },
    );
    const writer = new Database(file);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      const ins = writer.prepare('INSERT INTO t(v) VALUES (?)');
      writer.transaction(() => {
        for (let i = 0; i < 500; i++) ins.run('y'.repeat(1000));
      })();
      const a = run(config);
      const h = health(a, 'one');
      expect(h.walBytes).toBeGreaterThan(100_000);
      expect(a.tasks.find((t) => t.type === 'CHECKPOINT')?.reason).toMatch(/WAL is/);
    } finally {
      writer.close();
    }
  });

  it('events: lines older than the cut-off, by binary search (default) and by full scan (deep) alike', () => {
    const demo = demoBrain();
    const a = run(demo.configPath);
    const d = run(demo.configPath, { deep: true });
    expect(a.events?.method).toBe('binary-search');
    expect(d.events?.method).toBe('full-scan');
    // 120 days of events, 7 newest days kept: about 113/120 of the lines are older.
    expect(a.events!.olderLines).toBeGreaterThan(400);
    expect(a.events!.olderLines).toBeLessThan(503);
    // The binary search counts the malformed lines among the older ones; the full scan does not.
    expect(a.events!.olderLines - d.events!.olderLines).toBe(3);
    expect(d.events!.malformedLines).toBe(3);
    expect(a.tasks.find((t) => t.type === 'COMPRESS_EVENTS')).toBeDefined();
  });

  it('logs older than rotateAfterDays are due for rotation, recent ones are not', () => {
    const demo = demoBrain();
    const a = run(demo.configPath);
    expect(a.logs?.files).toBe(5);
    // The demo's logs were last written 0, 1, 20, 45 and 140 days ago; rotateAfterDays is 90.
    expect(a.logs?.eligible.map((e) => e.file).sort()).toEqual(['indexer.log']);
    expect(a.tasks.find((t) => t.type === 'ROTATE_LOGS')).toBeDefined();
  });

  it('retention compares timestamps of every format correctly and keeps the newest N active', () => {
    const day = 86_400_000;
    const ago = (d: number): number => NOW.getTime() - d * day;
    const { config } = singleDb(
      (db) => {
        db.exec(BASE_SCHEMA);
        const ins = db.prepare('INSERT INTO conversations(started_at) VALUES (?)');
        const old = [
          new Date(ago(40)).toISOString(), // 2026-10-11T12:00:00.000Z
          new Date(ago(41)).toISOString().replace('T', ' ').replace('Z', ''), // space, no zone
          new Date(ago(42)).toISOString().slice(0, 19) + '+02:00',
          Math.floor(ago(43) / 1000), // unix seconds
          ago(44), // unix milliseconds
          String(Math.floor(ago(45) / 1000)), // digits as text
        ];
        const recent = [
          new Date(ago(1)).toISOString(),
          new Date(ago(2)).toISOString().replace('T', ' ').slice(0, 19),
          Math.floor(ago(3) / 1000),
          ago(4),
          // 29.9 days ago written with a zone that makes a naive string compare think it is older
          new Date(ago(29.9)).toISOString().slice(0, 19) + '-05:00',
        ];
        for (const v of [...old, ...recent]) ins.run(v);
        ins.run('not a date');
      },
      { conversations: { database: 'one', table: 'conversations', keepNewest: 2, archiveAfterDays: 30 } },
    );
    const a = run(config);
    expect(a.retention?.conversations).toMatchObject({ total: 12, eligible: 6, unparseableTimestamps: 1 });
  });

  it('keepNewest protects the active conversations even when all are old', () => {
    const { config } = singleDb(
      (db) => {
        db.exec(BASE_SCHEMA);
        const ins = db.prepare('INSERT INTO conversations(started_at) VALUES (?)');
        for (let i = 0; i < 30; i++)
          ins.run(`2026-01-${String(1 + (i % 28)).padStart(2, '0')} 10:00:${String(i).padStart(2, '0')}`);
      },
      { conversations: { database: 'one', table: 'conversations', keepNewest: 20 } },
    );
    expect(run(config).retention?.conversations).toMatchObject({ total: 30, eligible: 10 });
  });

  it('patterns below the confidence floor and unused (or never used) are counted for pruning', () => {
    const { config } = singleDb((db) => {
      db.exec(BASE_SCHEMA);
      const ins = db.prepare('INSERT INTO patterns(confidence, last_used) VALUES (?, ?)');
      ins.run(0.1, null); // never used, low: prune
      ins.run(0.1, '2026-01-01T00:00:00Z'); // old, low: prune
      ins.run(0.1, NOW.toISOString()); // used now: keep
      ins.run(0.9, null); // confident: keep
      ins.run(0.29, 1_700_000_000); // 2023 in unix seconds, low: prune
    });
    expect(run(config).retention?.patterns).toMatchObject({ total: 5, eligible: 3 });
  });

  it('child rows of conversations come from the foreign keys and are counted in deep mode', () => {
    const demo = demoBrain();
    const a = run(demo.configPath, { db: 'tier1', deep: true });
    const conv = a.retention!.conversations!;
    expect(conv.childRows.map((c) => c.table)).toEqual(['agent_interactions', 'messages', 'routing_decisions']);
    const db = new Database(path.join(demo.dir, 'tier1', 'conversations.db'), { readonly: true });
    const eligibleIds = db
      .prepare(
        'SELECT id FROM conversations WHERE started_at < ? AND id NOT IN (SELECT id FROM conversations ORDER BY started_at DESC, id DESC LIMIT 20)',
      )
      .pluck()
      .all('2026-10-21 12:00:00') as number[];
    const messages = db
      .prepare(`SELECT count(*) FROM messages WHERE conversation_id IN (${eligibleIds.join(',')})`)
      .pluck()
      .get();
    db.close();
    expect(conv.eligible).toBe(eligibleIds.length);
    expect(conv.childRows.find((c) => c.table === 'messages')?.rows).toBe(messages);
  });

  it('a retention table missing from the schema is a config problem naming the key', () => {
    const demo = demoBrain();
    const cfg = readJson(demo.configPath);
    writeConfig(demo.dir, { ...cfg, conversations: { database: 'tier1', table: 'chats' } });
    const a = run(demo.configPath, { db: 'tier1' });
    expect(a.problems).toHaveLength(1);
    expect(a.problems[0]).toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
    expect(a.problems[0]!.message).toMatch(/conversations\.table: table "chats" does not exist/);
  });
});
