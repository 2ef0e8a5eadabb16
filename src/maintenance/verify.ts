/**
 * Verification after every mutating step: quick_check, FTS5 consistency (not worse than
 * before; the full integrity-check for an index that was rebuilt), and the row count of every
 * table unchanged. Every comparison is between states each read in one snapshot:
 *
 * - an operation that runs in a transaction (ANALYZE, REINDEX, FTS rebuild/optimize) is checked
 *   inside it, before COMMIT: counts before and after and the FTS checks see no other
 *   connection's commit, so the comparison is exact whatever the application does, and a
 *   failure is a ROLLBACK (nothing to restore, nothing of the application's discarded);
 * - VACUUM cannot run in a transaction: counts are read in one snapshot right before and one
 *   right after it; a table whose count moved while another connection committed (PRAGMA
 *   data_version) is named as not compared, every other table is compared exactly.
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
import { heldTransaction, type LockMeter } from './lock-meter.js';

const requireFromHere = createRequire(import.meta.url);

export interface CountsAt {
  readonly counts: ReadonlyMap<string, number>;
  /** PRAGMA data_version of the connection that counted, in the same snapshot. */
  readonly dataVersion: number;
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

/** Row counts and data_version in one snapshot: the caller's transaction, or a read transaction of their own (no write lock). */
export function countsInSnapshot(db: Database.Database): CountsAt {
  const read = (): CountsAt => ({
    counts: tableCounts(db),
    dataVersion: Number(db.pragma('data_version', { simple: true })),
  });
  return db.inTransaction ? read() : db.transaction(read)();
}

/**
 * Counts right before an operation that runs outside a transaction (VACUUM). `earlier` (counts
 * this connection took a moment ago, e.g. for the backup) is reused when no other connection
 * committed since: counting every table of a large brain is not free.
 *
 * `meter` given (a run that may block writers): counted under the write lock, so that a writer
 * that meanwhile waits on its busy timeout is asleep in its back-off when the operation starts
 * right after, and no commit lands between the two. Without it (within a writer-wait budget):
 * in a read snapshot, which blocks nobody; a table another connection writes before the
 * operation starts is then named as not compared.
 */
export function countsBefore(db: Database.Database, earlier?: CountsAt, meter?: LockMeter): CountsAt {
  const dataVersion = Number(db.pragma('data_version', { simple: true }));
  if (earlier && earlier.dataVersion === dataVersion) return earlier;
  if (!meter) return countsInSnapshot(db);
  return heldTransaction(db, meter, () => countsInSnapshot(db)).value;
}

export interface CountComparison {
  readonly problems: string[];
  /** Tables compared exactly. */
  readonly compared: number;
  /** Tables whose count moved while other connections committed: not comparable. */
  readonly notCompared: string[];
}

/**
 * Compares two snapshots' counts. `exact` (no other connection could commit between them):
 * any difference outside `mayChange` is a problem. Otherwise a table whose count moved is not
 * comparable (another connection may have written it) and is named; equal counts still verify.
 */
export function compareCounts(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  mayChange: ReadonlySet<string>,
  exact: boolean,
): CountComparison {
  const problems: string[] = [];
  const notCompared: string[] = [];
  let compared = 0;
  for (const [table, n] of before) {
    if (mayChange.has(table)) continue;
    const m = after.get(table);
    if (m === n) compared++;
    else if (exact || m === undefined) problems.push(`table "${table}" had ${n} rows, now ${m ?? 'missing'}`);
    else notCompared.push(table);
  }
  for (const table of after.keys()) {
    if (!before.has(table) && !mayChange.has(table)) problems.push(`table "${table}" appeared`);
  }
  return { problems, compared, notCompared };
}

/** What the verification of one operation said about row counts, for the result's message. */
export function describeCounts(c: CountComparison, how: 'in-transaction' | 'snapshots'): string {
  const where =
    how === 'in-transaction' ? "in the operation's own transaction" : 'in snapshots right before and after it';
  if (c.notCompared.length === 0) return `row counts of ${c.compared} tables compared ${where}`;
  return (
    `row counts of ${c.compared} tables compared ${where}; ` +
    `not compared: ${c.notCompared.map((t) => `"${t}"`).join(', ')} (written by another connection meanwhile)`
  );
}

export interface VerifyOptions {
  /** FTS indexes the operation rebuilt: checked in full and their shadow tables' counts may change. */
  readonly rebuiltFts: ReadonlySet<string>;
  /** FTS indexes the operation optimized: their shadow tables' counts may change. */
  readonly touchedFts: ReadonlySet<string>;
  readonly ftsSampleRows: number;
  /** FTS5's integrity-check on indexes up to this size even when the operation did not touch them. */
  readonly ftsFullCheckMaxBytes: number;
  /** PRAGMA quick_check of the whole database (--deep) instead of table by table. */
  readonly fullQuickCheck: boolean;
  readonly busyTimeoutMs: number;
  /**
   * The writer-wait budget, or null. FTS5's integrity-check is an INSERT and holds the write
   * lock while it reads the whole index (about 40 ms per MiB): within a budget it runs only on
   * indexes it can check in that time, the others get the bounded read-only check.
   */
  readonly budgetMs: number | null;
  /** Each FTS5 index's size as the assessment read it (fts[].indexBytes). */
  readonly ftsIndexBytes: ReadonlyMap<string, number>;
}

/** What FTS5's integrity-check costs, as measured on the benchmark brain (15-36 ms per MB). */
const FTS_CHECK_MS_PER_MIB = 40;
const MIB = 1024 * 1024;

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

/** The structural check: whole-database quick_check (--deep, fullQuickCheck) or table by table on both cores. */
export async function structureProblems(
  db: Database.Database,
  file: string,
  counts: ReadonlyMap<string, number>,
  opts: Pick<VerifyOptions, 'fullQuickCheck' | 'busyTimeoutMs'>,
): Promise<string[]> {
  return opts.fullQuickCheck ? quickCheckAll(db) : quickCheckTablesParallel(db, file, counts, opts.busyTimeoutMs);
}

/**
 * The FTS5 indexes, each not worse than before. Every index the operation rebuilt or optimized
 * gets FTS5's integrity-check (rank 1 for an external one) whatever its size; the others the
 * default check. Runs in the caller's transaction when there is one; otherwise each index's
 * check reads one snapshot.
 */
export function ftsProblems(
  conn: WriteCapable,
  ftsBefore: ReadonlyMap<string, FtsHealth['status']>,
  opts: Pick<
    VerifyOptions,
    'rebuiltFts' | 'touchedFts' | 'ftsSampleRows' | 'ftsFullCheckMaxBytes' | 'budgetMs' | 'ftsIndexBytes'
  >,
): string[] {
  const problems: string[] = [];
  const fitsBytes = opts.budgetMs === null ? Infinity : (opts.budgetMs / FTS_CHECK_MS_PER_MIB) * MIB;
  for (const t of listFtsTables(conn.db)) {
    const full =
      (opts.rebuiltFts.has(t.name) || opts.touchedFts.has(t.name)) &&
      (opts.ftsIndexBytes.get(t.name) ?? 0) <= fitsBytes;
    const h = checkFts(conn, t, {
      deep: full,
      sampleRows: opts.ftsSampleRows,
      maxSegments: Number.MAX_SAFE_INTEGER,
      fullCheckMaxBytes: Math.min(opts.ftsFullCheckMaxBytes, fitsBytes),
      bloat: null,
    });
    const was = ftsBefore.get(t.name);
    const bad = h.status === 'drift' || h.status === 'corrupt';
    if (bad && (full || was === 'ok' || was === 'bloated' || was === undefined))
      problems.push(`FTS index "${t.name}": ${h.detail}`);
  }
  return problems;
}

/** Shadow tables of the FTS indexes an operation rebuilt or optimized: their row counts may change. */
export function mayChangeOf(opts: Pick<VerifyOptions, 'rebuiltFts' | 'touchedFts'>): Set<string> {
  return new Set([...opts.rebuiltFts, ...opts.touchedFts].flatMap((f) => ftsShadowNames(f)));
}

/**
 * Inside the operation's own write transaction, before COMMIT: counts against those taken at
 * its start in the same transaction (exact: nobody else can commit meanwhile) and the FTS checks.
 */
export function verifyInTransaction(
  conn: WriteCapable,
  before: ReadonlyMap<string, number>,
  ftsBefore: ReadonlyMap<string, FtsHealth['status']>,
  opts: VerifyOptions,
): { readonly problems: string[]; readonly counts: CountComparison } {
  const counts = compareCounts(before, tableCounts(conn.db), mayChangeOf(opts), true);
  return { problems: [...counts.problems, ...ftsProblems(conn, ftsBefore, opts)], counts };
}

/**
 * After an operation that ran outside a transaction (VACUUM): `after` are the counts read right
 * after it (before anything else, such as its checkpoint, gives other connections time to
 * commit), compared with `before` (see compareCounts for what a concurrent commit changes); then
 * quick_check and the FTS checks, each index in one snapshot.
 */
export async function verifyAfter(
  conn: WriteCapable,
  file: string,
  before: CountsAt,
  after: CountsAt,
  ftsBefore: ReadonlyMap<string, FtsHealth['status']>,
  opts: VerifyOptions,
): Promise<{ readonly problems: string[]; readonly counts: CountComparison }> {
  const counts = compareCounts(
    before.counts,
    after.counts,
    mayChangeOf(opts),
    after.dataVersion === before.dataVersion,
  );
  const structure = await structureProblems(conn.db, file, before.counts, opts);
  return { problems: [...structure, ...counts.problems, ...ftsProblems(conn, ftsBefore, opts)], counts };
}
