/**
 * Verification after every mutating step: quick_check, FTS5 consistency (not worse than
 * before; the full integrity-check for an index that was rebuilt), and the row count of every
 * table unchanged. Counts are compared exactly when no other connection committed between the
 * two counts (PRAGMA data_version); otherwise they are not comparable and the report says so.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { checkFts } from '../assess/fts-health.js';
import type { FtsHealth } from '../assess/types.js';
import { listFtsTables, ftsShadowNames } from '../db/fts5.js';
import type { WriteCapable } from '../db/open.js';
import { ordinaryTables } from '../db/schema.js';
import { quoteIdent } from '../db/sql.js';

const requireFromHere = createRequire(import.meta.url);

export interface ContentSnapshot {
  readonly counts: ReadonlyMap<string, number>;
  readonly dataVersion: number;
  readonly fts: ReadonlyMap<string, FtsHealth['status']>;
}

export function tableCounts(db: Database.Database): Map<string, number> {
  const out = new Map<string, number>();
  // sqlite_stat* are left out: ANALYZE rewrites them.
  for (const t of ordinaryTables(db))
    out.set(
      t,
      Number(
        db
          .prepare(`SELECT count(*) FROM ${quoteIdent(t)}`)
          .pluck()
          .get(),
      ),
    );
  return out;
}

/**
 * Counts under a write lock, so they describe the database right before our change. `earlier`
 * (counts this connection took a moment ago, e.g. for the backup) is reused when no other
 * connection committed since: counting every table of a large brain is not free.
 */
export function takeSnapshot(
  db: Database.Database,
  ftsBefore: readonly FtsHealth[],
  earlier?: { readonly counts: ReadonlyMap<string, number>; readonly dataVersion: number },
): ContentSnapshot {
  return db
    .transaction(() => {
      const dataVersion = Number(db.pragma('data_version', { simple: true }));
      const counts = earlier && earlier.dataVersion === dataVersion ? earlier.counts : tableCounts(db);
      return { counts, dataVersion, fts: new Map(ftsBefore.map((f) => [f.table, f.status])) };
    })
    .immediate();
}

export interface Verification {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly notes: readonly string[];
}

export interface VerifyOptions {
  /** FTS indexes the operation rebuilt: checked in full and their shadow tables' counts may change. */
  readonly rebuiltFts: ReadonlySet<string>;
  /** FTS indexes the operation optimized: their shadow tables' counts may change. */
  readonly touchedFts: ReadonlySet<string>;
  readonly ftsSampleRows: number;
  /** PRAGMA quick_check of the whole database (--deep) instead of table by table. */
  readonly fullQuickCheck: boolean;
  readonly busyTimeoutMs: number;
}

/**
 * quick_check, whole-database form (--deep, and after a restore). By default verification
 * checks table by table instead (PRAGMA quick_check(TABLE)): the same b-tree and record
 * checks, without the FTS5 xIntegrity pass the whole-database form adds (FTS5's own O(N)
 * integrity-check, about 4/5 of the time on a brain), which our FTS check replaces.
 */
export function quickCheckAll(db: Database.Database): string[] {
  return problemsOf(db, 'quick_check(10)').map((m) => `quick_check: ${m}`);
}

const quickCheckPragma = (table: string): string => `quick_check(${quoteIdent(table)})`;

function quickCheckTable(db: Database.Database, table: string): string[] {
  return problemsOf(db, quickCheckPragma(table)).map((m) => `quick_check(${table}): ${m}`);
}

function problemsOf(db: Database.Database, pragma: string): string[] {
  return (db.pragma(pragma) as Array<Record<string, unknown>>)
    .map((r) => String(Object.values(r)[0]))
    .filter((m) => m !== 'ok');
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const next = new Int32Array(workerData.next);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: workerData.timeoutMs });
const out = [];
try {
  for (let i = Atomics.add(next, 0, 1); i < workerData.checks.length; i = Atomics.add(next, 0, 1)) {
    const { table, pragma } = workerData.checks[i];
    for (const r of db.pragma(pragma)) {
      const m = String(Object.values(r)[0]);
      if (m !== 'ok' && out.length < 10) out.push('quick_check(' + table + '): ' + m);
    }
  }
} finally { db.close(); }
parentPort.postMessage(out);
`;

/**
 * The table-by-table quick_check on both cores: this thread and a worker thread (with its own
 * read-only connection) take tables from one shared queue, most rows first. Same checks,
 * about half the wall time.
 */
async function quickCheckTablesParallel(
  db: Database.Database,
  file: string,
  counts: ReadonlyMap<string, number>,
  timeoutMs: number,
): Promise<string[]> {
  const tables = ['sqlite_schema', ...ordinaryTables(db, { internal: true })].sort(
    (x, y) => (counts.get(y) ?? 0) - (counts.get(x) ?? 0),
  );
  const next = new Int32Array(new SharedArrayBuffer(4));
  // The worker gets the pragmas ready-made: identifiers are quoted in one place (db/sql.ts).
  const checks = tables.map((table) => ({ table, pragma: quickCheckPragma(table) }));
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver: requireFromHere.resolve('better-sqlite3'), file, checks, timeoutMs, next: next.buffer },
  });
  const fromWorker = new Promise<string[]>((resolve, reject) => {
    worker.once('message', (m: string[]) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      code === 0 ? undefined : reject(new Error(`quick_check worker exited with ${code}`)),
    );
  });
  const here: string[] = [];
  for (let i = Atomics.add(next, 0, 1); i < tables.length; i = Atomics.add(next, 0, 1)) {
    here.push(...quickCheckTable(db, tables[i]!));
  }
  return [...here, ...(await fromWorker)].slice(0, 10);
}

export async function verify(
  conn: WriteCapable,
  file: string,
  before: ContentSnapshot,
  opts: VerifyOptions,
): Promise<Verification> {
  const db = conn.db;
  const problems: string[] = [];
  const notes: string[] = [];

  problems.push(
    ...(opts.fullQuickCheck
      ? quickCheckAll(db)
      : await quickCheckTablesParallel(db, file, before.counts, opts.busyTimeoutMs)),
  );

  const mayChange = new Set([...opts.rebuiltFts, ...opts.touchedFts].flatMap((f) => ftsShadowNames(f)));
  const after = db
    .transaction(() => ({ counts: tableCounts(db), dataVersion: Number(db.pragma('data_version', { simple: true })) }))
    .immediate();
  if (after.dataVersion !== before.dataVersion) {
    notes.push('row counts not compared: another connection committed meanwhile');
  } else {
    for (const [table, n] of before.counts) {
      if (mayChange.has(table)) continue;
      const m = after.counts.get(table);
      if (m !== n) problems.push(`table "${table}" had ${n} rows, now ${m ?? 'missing'}`);
    }
    for (const table of after.counts.keys()) {
      if (!before.counts.has(table) && !mayChange.has(table)) problems.push(`table "${table}" appeared`);
    }
  }

  for (const t of listFtsTables(db)) {
    const full = opts.rebuiltFts.has(t.name);
    const h = checkFts(conn, t, { deep: full, sampleRows: opts.ftsSampleRows, maxSegments: Number.MAX_SAFE_INTEGER });
    const was = before.fts.get(t.name);
    const bad = h.status === 'drift' || h.status === 'corrupt';
    if (bad && (full || was === 'ok' || was === 'bloated' || was === undefined))
      problems.push(`FTS index "${t.name}": ${h.detail}`);
  }
  return { ok: problems.length === 0, problems, notes };
}
