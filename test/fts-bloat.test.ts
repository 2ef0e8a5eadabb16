/**
 * FTS5 dead weight (issue 17): the leaf-page reading, the estimate against what an 'optimize'
 * of a copy takes out, the plan (the optimize before the VACUUM that returns what it frees), the
 * run (sizes before and after, in the full and the bounded form, with an application committing
 * as fast as it can), and the report, --json and metrics that show it. How much faster searches
 * get is measured by bench/search-impact.mjs, not asserted here.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { measureFtsBloat } from '../src/assess/fts-bloat.js';
import { MARKER, emptyTally, tallyLeaf } from '../src/db/fts5-leaf.js';
import { ftsIndexBytes, ftsLeafId, ftsStructure, listFtsTables } from '../src/db/fts5.js';
// @ts-expect-error: a JavaScript module of the benchmarks, shared with them
import { optimizedCopy } from '../bench/lib.mjs';
import { NOW, cli, tempDir } from './helpers.js';
import { dumpUserRows } from './maintenance-helpers.js';
import { exited, startCli, startCommitter } from './process-helpers.js';
import { LockMeter } from '../src/maintenance/lock-meter.js';
import { mergeToOneInSteps } from '../src/maintenance/ops/fts-merge.js';
import { generateDemoBrain } from '../src/demo/generate.js';

const truth = optimizedCopy as (
  D: typeof Database,
  db: Database.Database,
  name: string,
) => { before: number; dead: number };

/**
 * An external-content index kept by the correct triggers: `docs` documents written 20 a
 * transaction, then `fraction` of them deleted (or given new text), 200 a transaction.
 */
function indexWithDeletes(docs: number, fraction: number, change: 'delete' | 'update' = 'delete'): string {
  const file = path.join(tempDir('dbm-bloat-'), 'app.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE messages(id INTEGER PRIMARY KEY, content TEXT);
    CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id');
    CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
    CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
    CREATE TRIGGER messages_au AFTER UPDATE ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;`);
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const text = (): string => {
    const words: string[] = [];
    for (let k = 20 + Math.floor(rnd() * 100); k > 0; k--) words.push(`w${Math.floor(Math.pow(rnd(), 2.5) * 2000)}`);
    return words.join(' ');
  };
  const ins = db.prepare('INSERT INTO messages(content) VALUES (?)');
  for (let i = 0; i < docs; i += 20)
    db.transaction(() => {
      for (let j = 0; j < 20; j++) ins.run(text());
    })();
  const ids = db.prepare('SELECT id FROM messages').pluck().all() as number[];
  const del = db.prepare('DELETE FROM messages WHERE id = ?');
  const upd = db.prepare('UPDATE messages SET content = ? WHERE id = ?');
  const victims = ids.filter(() => rnd() < fraction);
  for (let i = 0; i < victims.length; i += 200)
    db.transaction(() => {
      for (const id of victims.slice(i, i + 200)) {
        if (change === 'delete') del.run(id);
        else upd.run(text(), id);
      }
    })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return file;
}

const OPTS = { samplePages: 64, dueRatio: 0.2, dueBytes: 1 };

describe('reading FTS5 leaf pages', () => {
  it('accounts for every byte of every page, and counts delete markers byte for byte', () => {
    const db = new Database(':memory:');
    db.exec('CREATE VIRTUAL TABLE docs USING fts5(body)');
    db.transaction(() => {
      for (let i = 0; i < 10; i++) db.prepare('INSERT INTO docs(rowid, body) VALUES (?, ?)').run(i + 1, 'alpha beta');
    })();
    // One transaction, one new segment: a delete marker (rowid 1 byte, poslist header 1 byte)
    // for each of the two terms of the three documents.
    db.prepare('DELETE FROM docs WHERE rowid <= 3').run();
    const s = ftsStructure(db, 'docs')!;
    expect(s.list).toHaveLength(2);
    const page = db.prepare('SELECT block FROM docs_data WHERE id = ?').pluck();
    const [older, newer] = [s.list.find((g) => g.level === 0 && g !== s.list.at(-1))!, s.list.at(-1)!];
    const tallyOf = (g: (typeof s.list)[number]): ReturnType<typeof emptyTally> => {
      const t = emptyTally();
      for (let p = g.firstPage; p <= g.lastPage; p++)
        tallyLeaf(page.get(ftsLeafId(g.id, p)) as Buffer, t, (rowids, bytes, kinds, n, into) => {
          for (let i = 0; i < n; i++) {
            if (kinds[i] === MARKER) expect(bytes[i]).toBe(2);
            else if (rowids[i]! > 3) into.liveBytes += bytes[i]!;
            else into.deadBytes += bytes[i]!;
          }
        });
      return t;
    };
    const markers = tallyOf(newer);
    expect(markers.markerBytes).toBe(12);
    expect(markers.liveBytes + markers.deadBytes).toBe(0);
    const docs = tallyOf(older);
    // The deleted documents' own entries: rowid, poslist header and one position each.
    expect(docs.deadBytes).toBe(3 * 2 * 3);
    expect(docs.liveBytes).toBe(7 * 2 * 3);
    for (const t of [markers, docs])
      expect(t.markerBytes + t.termBytes + t.otherBytes + t.liveBytes + t.deadBytes).toBe(t.pageBytes);
    db.close();
  });
});

describe('the dead-weight measure against an optimize of a copy', () => {
  it.each([
    [0, 'delete'],
    [0.1, 'delete'],
    [0.3, 'delete'],
    [0.6, 'delete'],
    [0.1, 'update'],
    [0.3, 'update'],
  ] as const)(
    '%s of the documents: %s, sampled and scanned within a fifth of the truth',
    (fraction, change) => {
      const file = indexWithDeletes(3000, fraction, change);
      const db = new Database(file, { readonly: true });
      const table = listFtsTables(db)[0]!;
      const exact = truth(Database, db, table.name);
      const sampled = measureFtsBloat(db, table, { ...OPTS, scan: false })!;
      const scanned = measureFtsBloat(db, table, { ...OPTS, scan: true })!;
      db.close();
      expect(sampled).toMatchObject({ method: 'sampled', sampledPages: expect.any(Number) });
      expect(sampled.sampledPages).toBeLessThan(exact.before / 4050);
      expect(scanned).toMatchObject({ method: 'scanned', sampledPages: null });
      for (const m of [sampled, scanned]) {
        expect(Math.abs(m.reclaimableBytes - exact.dead)).toBeLessThanOrEqual(0.2 * exact.dead);
        expect(Math.abs(m.indexBytes - exact.before)).toBeLessThanOrEqual(0.05 * exact.before);
      }
    },
    60_000,
  );
});

interface Fts {
  table: string;
  status: string;
  segments: number;
  bloat: { method: string; ratio: number; reclaimableBytes: number; indexBytes: number; due: boolean } | null;
}
interface Task {
  type: string;
  database: string;
  reclaimableBytes?: number;
}
interface Result {
  type: string;
  database: string;
  status: string;
  bounded: boolean;
  restored: boolean;
  message: string;
  ftsIndexes: Array<{
    table: string;
    bytesBefore: number;
    bytesAfter: number;
    segmentsBefore: number;
    segmentsAfter: number;
  }>;
}

/** A demo brain whose tier1 messages_fts carries the deletes of three quarters of its older conversations. */
function brain(maintenance: Record<string, unknown> = {}): { config: string; tier1: string } {
  const dir = path.join(tempDir('dbm-bloat-brain-'), 'brain');
  generateDemoBrain({ dir, scale: 1, seed: 3, now: NOW, ftsDrift: false });
  const config = path.join(dir, 'maintenance.config.json');
  const cfg = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
  cfg.thresholds = { minReclaimBytes: 64 * 1024 };
  cfg.maintenance = maintenance;
  fs.writeFileSync(config, JSON.stringify(cfg));
  return { config, tier1: path.join(dir, 'tier1', 'conversations.db') };
}

/**
 * The rowids of messages deleted before now: below the highest live one and not live (the
 * application's new rows take rowids above it).
 */
function deletedBefore(file: string): (rowid: number) => boolean {
  const db = new Database(file, { readonly: true });
  const live = new Set(db.prepare('SELECT id FROM messages').pluck().all() as number[]);
  db.close();
  const top = Math.max(...live);
  return (rowid) => rowid <= top && !live.has(rowid);
}

/** Bytes of messages_fts's entries and delete markers, on every leaf page, whose rowid `dead` says. */
function deadWeightOf(file: string, dead: (rowid: number) => boolean): number {
  const db = new Database(file, { readonly: true });
  const s = ftsStructure(db, 'messages_fts')!;
  const page = db.prepare('SELECT block FROM messages_fts_data WHERE id = ?').pluck();
  let total = 0;
  const t = emptyTally();
  for (const g of s.list)
    for (let p = g.firstPage; p <= g.lastPage; p++) {
      const block = page.get(ftsLeafId(g.id, p)) as Buffer | undefined;
      if (block)
        tallyLeaf(block, t, (rowids, bytes, _kinds, n) => {
          for (let i = 0; i < n; i++) if (dead(rowids[i]!)) total += bytes[i]!;
        });
    }
  db.close();
  return total;
}

const assessed = (config: string): { fts: Fts; tasks: Task[] } => {
  const a = JSON.parse(cli(['--config', config, '--assess', '--json']).stdout) as {
    databases: Array<{ name: string; fts: Fts[] }>;
    tasks: Task[];
  };
  return { fts: a.databases.find((d) => d.name === 'tier1')!.fts[0]!, tasks: a.tasks };
};

describe('planning and running the optimize', () => {
  it('plans OPTIMIZE_FTS before the VACUUM that returns what it frees; --run shrinks the index and the file, rows untouched', () => {
    const { config, tier1 } = brain({ maxWriterWaitMs: 60_000 });
    const before = assessed(config);
    expect(before.fts).toMatchObject({
      table: 'messages_fts',
      status: 'bloated',
      bloat: { method: 'scanned', due: true },
    });
    expect(before.fts.bloat!.ratio).toBeGreaterThan(0.3);
    const order = before.tasks.filter((t) => t.database === 'tier1').map((t) => t.type);
    expect(order.indexOf('OPTIMIZE_FTS')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('OPTIMIZE_FTS')).toBeLessThan(order.indexOf('VACUUM'));
    const vacuum = before.tasks.find((t) => t.type === 'VACUUM' && t.database === 'tier1')!;
    expect(vacuum.reclaimableBytes).toBeGreaterThanOrEqual(before.fts.bloat!.reclaimableBytes);

    const rows = dumpUserRows(tier1);
    const fileBefore = fs.statSync(tier1).size;
    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status).toBe(0);
    const results = (JSON.parse(run.stdout) as { results: Result[] }).results.filter((r) => r.database === 'tier1');
    expect(results.map((r) => r.type).indexOf('OPTIMIZE_FTS')).toBeLessThan(
      results.map((r) => r.type).indexOf('VACUUM'),
    );
    const opt = results.find((r) => r.type === 'OPTIMIZE_FTS')!;
    expect(opt).toMatchObject({ status: 'ok', restored: false, bounded: false });
    expect(opt.ftsIndexes).toEqual([
      expect.objectContaining({ table: 'messages_fts', segmentsBefore: before.fts.segments, segmentsAfter: 1 }),
    ]);
    const [size] = opt.ftsIndexes;
    expect(size!.bytesAfter).toBeLessThan(size!.bytesBefore * (1 - 0.8 * before.fts.bloat!.ratio));
    expect(results.find((r) => r.type === 'VACUUM')!.status).toBe('ok');
    expect(fs.statSync(tier1).size).toBeLessThan(fileBefore);
    expect(dumpUserRows(tier1)).toEqual(rows);

    const after = assessed(config);
    expect(after.fts.status).toBe('ok');
    expect(after.fts.bloat!.ratio).toBeLessThan(0.05);
    expect(after.tasks.some((t) => t.type === 'OPTIMIZE_FTS')).toBe(false);
  }, 60_000);

  it('within a small writer-wait budget: merge steps into one segment, an application committing as fast as it can loses nothing', async () => {
    const { config, tier1 } = brain({ maxWriterWaitMs: 50 });
    expect(assessed(config).fts.bloat!.due).toBe(true);
    // The application starts once the run has planned (its own automerge would otherwise merge
    // this small index before the run looks at it): at the backup of the first task, the optimize.
    const pause = path.join(path.dirname(config), 'paused');
    const run = startCli(['--config', config, '--run', '--json'], {
      DB_MAINTENANCE_INJECT: 'pause-at:backup-snapshot',
      DB_MAINTENANCE_PAUSE_FILE: pause,
    });
    const done = exited(run);
    let app: ReturnType<typeof startCommitter> | null = null;
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      if (fs.existsSync(pause)) {
        if (!app) {
          app = startCommitter(tier1);
          await app.ready;
        }
        fs.rmSync(pause);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const out = await done;
    const committed = await app!.stop();
    expect(out.code, out.stderr).toBe(0);
    const opt = (JSON.parse(out.stdout) as { results: Result[] }).results.find((r) => r.type === 'OPTIMIZE_FTS')!;
    expect(opt).toMatchObject({ status: 'ok', bounded: true, restored: false });
    // To the end although the application added segments all along: the later steps go on with
    // the merge under way instead of starting it over.
    expect(opt.message).toMatch(/messages_fts merged in \d+ step\(s\) of at most \d+ ms; messages_fts /);
    expect(opt.ftsIndexes[0]!.bytesAfter).toEqual(expect.any(Number));
    expect(committed.ids.length).toBeGreaterThan(0);
    expect(committed.errors).toEqual([]);
    expect(committed.busy).toBe(0);
    const db = new Database(tier1);
    const has = db.prepare('SELECT 1 FROM messages WHERE id = ?').pluck();
    expect(committed.ids.filter((id) => has.get(id) === undefined)).toEqual([]);
    db.prepare("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)").run();
    db.close();
  }, 120_000);

  it('the bounded merge goes to the end under an application committing as fast as it can: no entry or marker of a deleted document is left when it returns', async () => {
    // The index's size after says little with an application adding to it all along (under load
    // it added about as much as the merge took out), and a second later the application's own
    // automerge has ended any merge under way. So: in this process, the committer frozen the
    // moment the steps return, the dead weight counted on every leaf page.
    const { tier1 } = brain();
    const deleted = deletedBefore(tier1);
    expect(deadWeightOf(tier1, deleted)).toBeGreaterThan(0);
    const db = new Database(tier1, { timeout: 5000 });
    const indexBytes = ftsIndexBytes(db, 'messages_fts')!;
    const app = startCommitter(tier1);
    await app.ready;
    const r = await mergeToOneInSteps(db, 'messages_fts', { budgetMs: 50, meter: new LockMeter(), indexBytes });
    app.child.kill('SIGSTOP');
    const left = deadWeightOf(tier1, deleted);
    app.child.kill('SIGCONT');
    db.close();
    const committed = await app.stop();
    expect(left).toBe(0);
    expect(r.finished).toBe(true);
    expect(r.steps).toBeGreaterThan(1);
    expect(committed.errors).toEqual([]);
    expect(committed.busy).toBe(0);
  }, 60_000);

  it('within a small writer-wait budget and left alone, the merge steps end where an optimize does', () => {
    const { config } = brain({ maxWriterWaitMs: 50 });
    const before = assessed(config).fts;
    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const opt = (JSON.parse(run.stdout) as { results: Result[] }).results.find((r) => r.type === 'OPTIMIZE_FTS')!;
    expect(opt).toMatchObject({ status: 'ok', bounded: true });
    expect(opt.ftsIndexes[0]).toMatchObject({ segmentsBefore: before.segments, segmentsAfter: 1 });
    const after = assessed(config).fts;
    expect(after.segments).toBe(1);
    expect(after.bloat!.ratio).toBeLessThan(0.05);
  }, 60_000);
  it("a rebuild's result gives the size before and none after (its index waits in FTS5's pending terms until COMMIT)", () => {
    const dir = path.join(tempDir('dbm-bloat-rebuild-'), 'brain');
    generateDemoBrain({ dir, scale: 1, seed: 3, now: NOW, ftsDrift: true });
    const run = cli([
      '--config',
      path.join(dir, 'maintenance.config.json'),
      '--rebuild-fts',
      '--db',
      'tier1',
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const r = (JSON.parse(run.stdout) as { results: Result[] }).results[0]!;
    expect(r.message).toMatch(/^rebuilt messages_fts; the triggers/);
    expect(r.ftsIndexes).toEqual([
      {
        table: 'messages_fts',
        bytesBefore: expect.any(Number),
        bytesAfter: null,
        segmentsBefore: expect.any(Number),
        segmentsAfter: null,
      },
    ]);
  }, 60_000);
});

describe('what the assessment shows', () => {
  it('the report, --json and the metrics give the same dead weight per index', () => {
    const { config } = brain();
    const dir = path.dirname(config);
    const metrics = path.join(dir, 'dbm.prom');
    const json = JSON.parse(cli(['--config', config, '--assess', '--json', '--metrics-file', metrics]).stdout) as {
      databases: Array<{ name: string; fts: Fts[] }>;
    };
    const human = cli(['--config', config, '--assess']).stdout;
    const prom = fs.readFileSync(metrics, 'utf8');
    for (const d of json.databases)
      for (const f of d.fts) {
        const labels = `{database="${d.name}",index="${f.table}"}`;
        expect(prom).toContain(`dbm_fts_dead_ratio${labels} ${f.bloat!.ratio}`);
        expect(prom).toContain(`dbm_fts_reclaimable_bytes${labels} ${f.bloat!.reclaimableBytes}`);
        const line = human.split('\n').find((l) => new RegExp(`^${d.name}\\s+${f.table}\\s`).test(l))!;
        expect(line).toContain(`${(f.bloat!.ratio * 100).toFixed(1)}%`);
      }
    expect(human).toMatch(
      /FTS "messages_fts" bloated: .*\d+% of the index \(.+ of .+\) is dead weight from deletes \(every page read\)/,
    );
  }, 60_000);
});
