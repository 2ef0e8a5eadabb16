/**
 * FTS5 repair. An index that is inconsistent with its content is rebuilt from the content
 * ('rebuild'); one that is merely bloated (many segments, or dead weight from deletes) is merged
 * ('optimize'). A contentless index has no content to rebuild from and is left alone.
 *
 * An 'optimize' merges every segment into one, which drops the delete markers and the entries
 * they cancel; but an index that is one segment already is left as it is by FTS5, so dead weight
 * inside a single segment is taken out by a 'rebuild' (same content, same index, without it).
 */
import type { FtsHealth } from '../../assess/types.js';
import { ftsCommandSql, ftsPageSize, ftsStructure } from '../../db/fts5.js';
import { wrongTriggersNote } from './fts-triggers.js';
import { MERGE_PAGES_FIRST, mergeInSteps, mergeToOneInSteps, type MergeResult } from './fts-merge.js';
import type { LockMeter } from '../lock-meter.js';
import { bytes } from '../../util/format.js';
import type { FtsIndexSize, OpContext, Operation, OpOutcome } from './types.js';

type Action = 'rebuild' | 'optimize' | null;
type Db = Parameters<Operation['run']>[0];

function isBroken(t: FtsHealth): boolean {
  return t.status === 'drift' || t.status === 'corrupt';
}

/** Its dead weight is what makes it due (not only its segment count). */
function deadWeightDue(t: FtsHealth): boolean {
  return t.status === 'bloated' && t.bloat?.due === true;
}

function actionFor(t: FtsHealth, ctx: OpContext, type: 'REBUILD_FTS' | 'OPTIMIZE_FTS'): Action {
  if (isBroken(t)) return t.kind === 'contentless' ? null : 'rebuild';
  if (deadWeightDue(t) && t.segments === 1) return t.kind === 'contentless' ? null : 'rebuild';
  if (t.status === 'bloated') return 'optimize';
  // Asked for explicitly (--rebuild-fts) on a healthy index: merging is safe and cheap.
  return ctx.requested || type === 'OPTIMIZE_FTS' ? 'optimize' : null;
}

function statement(t: FtsHealth, action: Exclude<Action, null>): string {
  return ftsCommandSql(t.table, action);
}

/** Merging dead weight away takes a merge into one segment; a segment count, FTS5's usual merge. */
const toOne = (ctx: OpContext): boolean => ctx.fts.some(deadWeightDue);

function make(type: 'REBUILD_FTS' | 'OPTIMIZE_FTS'): Operation {
  return {
    type,
    guarded: true,
    transactional: true,
    rewritesDatabase: false,
    sql: (ctx, bounded) =>
      ctx.fts.flatMap((t) => {
        const a = actionFor(t, ctx, type);
        if (!a) return [];
        return [
          bounded
            ? deadWeightDue(t)
              ? `${ftsCommandSql(t.table, 'merge', -MERGE_PAGES_FIRST)} -- then ('merge', N) steps going on with it, each in its own transaction, until the merge into one segment ends`
              : `${ftsCommandSql(t.table, 'merge', MERGE_PAGES_FIRST)} -- repeated, each in its own transaction, until it merges nothing`
            : statement(t, a),
        ];
      }),
    // Merging is done in bounded steps (fts-merge.ts); a rebuild is one statement.
    bounded: (ctx) =>
      ctx.fts.some((t) => actionFor(t, ctx, type) === 'rebuild')
        ? null
        : {
            describe: toOne(ctx)
              ? "FTS5 'merge' steps into one segment instead of 'optimize'"
              : "FTS5 'merge' steps instead of 'optimize'",
            batches: true,
          },
    run(db, ctx, env): OpOutcome | Promise<OpOutcome> {
      if (env.boundedMs !== null) return mergeAll(db, ctx, type, env.boundedMs, env.meter);
      return runFull(db, ctx, type);
    },
  };
}

/** Its size now, for the before and after of a result (one read of its structure record). */
function sizeOf(db: Db, table: string): { bytes: number | null; segments: number | null } {
  try {
    const s = ftsStructure(db, table);
    return s ? { bytes: s.leafPages * ftsPageSize(db, table), segments: s.segments } : { bytes: null, segments: null };
  } catch {
    return { bytes: null, segments: null };
  }
}

function sized(table: string, before: ReturnType<typeof sizeOf>, after: ReturnType<typeof sizeOf>): FtsIndexSize {
  return {
    table,
    bytesBefore: before.bytes,
    bytesAfter: after.bytes,
    segmentsBefore: before.segments,
    segmentsAfter: after.segments,
  };
}

/** "messages_fts 217.3 MB -> 115.8 MB, 11 -> 1 segments" */
function sizesNote(sizes: readonly FtsIndexSize[]): string {
  const mb = (b: number | null): string => (b === null ? '?' : bytes(b));
  return sizes
    .filter((s) => s.bytesAfter !== null)
    .map(
      (s) =>
        `${s.table} ${mb(s.bytesBefore)} -> ${mb(s.bytesAfter)}, ${s.segmentsBefore ?? '?'} -> ${s.segmentsAfter ?? '?'} segments`,
    )
    .join('; ');
}

async function mergeAll(
  db: Db,
  ctx: OpContext,
  type: 'REBUILD_FTS' | 'OPTIMIZE_FTS',
  budgetMs: number,
  meter: LockMeter,
): Promise<OpOutcome> {
  const touched: string[] = [];
  const notes: string[] = [];
  const sizes: FtsIndexSize[] = [];
  for (const t of ctx.fts) {
    if (actionFor(t, ctx, type) !== 'optimize') continue;
    const before = sizeOf(db, t.table);
    const opts = { budgetMs, meter, indexBytes: t.indexBytes ?? 0 };
    const r: MergeResult = deadWeightDue(t)
      ? await mergeToOneInSteps(db, t.table, opts)
      : await mergeInSteps(db, t.table, opts);
    sizes.push(sized(t.table, before, sizeOf(db, t.table)));
    touched.push(t.table);
    notes.push(
      `${t.table} merged in ${r.steps} step(s) of at most ${r.longestMs} ms${r.finished ? '' : ` (stopped before the end: ${r.stoppedBecause ?? 'the work cap'})`}`,
    );
  }
  if (touched.length === 0)
    return { status: 'skipped', rowsAffected: 0, message: 'no FTS5 index needs it', rebuiltFts: [], touchedFts: [] };
  return {
    // Stopped before the end is still ok: what it merged is verified, and the merge under way is
    // carried on by the application's automerge as it writes, or by the next run.
    status: 'ok',
    rowsAffected: touched.length,
    message: `${notes.join('; ')}; ${sizesNote(sizes)}`,
    rebuiltFts: [],
    touchedFts: touched,
    ftsIndexes: sizes,
  };
}

function runFull(db: Db, ctx: OpContext, type: 'REBUILD_FTS' | 'OPTIMIZE_FTS'): OpOutcome {
  const rebuilt: string[] = [];
  const touched: string[] = [];
  const skipped: string[] = [];
  const sizes: FtsIndexSize[] = [];
  for (const t of ctx.fts) {
    const a = actionFor(t, ctx, type);
    if (!a) {
      if (isBroken(t)) skipped.push(t.table);
      continue;
    }
    const before = sizeOf(db, t.table);
    db.prepare(statement(t, a)).run();
    // A rebuild's new index waits in FTS5's pending terms until COMMIT: its size is not known here.
    sizes.push(sized(t.table, before, a === 'rebuild' ? { bytes: null, segments: null } : sizeOf(db, t.table)));
    (a === 'rebuild' ? rebuilt : touched).push(t.table);
  }
  if (rebuilt.length + touched.length === 0) {
    return {
      status: 'skipped',
      rowsAffected: 0,
      message: skipped.length ? `contentless index ${skipped.join(', ')} cannot be rebuilt` : 'no FTS5 index needs it',
      rebuiltFts: [],
      touchedFts: [],
    };
  }
  const parts = [
    rebuilt.length ? `rebuilt ${rebuilt.join(', ')}` : '',
    touched.length ? `optimized ${touched.join(', ')}` : '',
    sizesNote(sizes),
    wrongTriggersNote(db, rebuilt),
  ].filter(Boolean);
  return {
    status: 'ok',
    rowsAffected: rebuilt.length + touched.length,
    message: parts.join('; '),
    rebuiltFts: rebuilt,
    touchedFts: touched,
    ftsIndexes: sizes,
  };
}

export const rebuildFts = make('REBUILD_FTS');
export const optimizeFts = make('OPTIMIZE_FTS');
