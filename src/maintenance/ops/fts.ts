/**
 * FTS5 repair. An index that is inconsistent with its content is rebuilt from the content
 * ('rebuild'); one that is merely bloated (many segments) is merged ('optimize'). A contentless
 * index has no content to rebuild from and is left alone.
 */
import type { FtsHealth } from '../../assess/types.js';
import { ftsCommandSql } from '../../db/fts5.js';
import { wrongTriggersNote } from './fts-triggers.js';
import { MERGE_PAGES_FIRST, mergeInSteps } from './fts-merge.js';
import type { LockMeter } from '../lock-meter.js';
import type { OpContext, Operation, OpOutcome } from './types.js';

type Action = 'rebuild' | 'optimize' | null;

function isBroken(t: FtsHealth): boolean {
  return t.status === 'drift' || t.status === 'corrupt';
}

function actionFor(t: FtsHealth, ctx: OpContext, type: 'REBUILD_FTS' | 'OPTIMIZE_FTS'): Action {
  if (isBroken(t)) return t.kind === 'contentless' ? null : 'rebuild';
  if (t.status === 'bloated') return 'optimize';
  // Asked for explicitly (--rebuild-fts) on a healthy index: merging is safe and cheap.
  return ctx.requested || type === 'OPTIMIZE_FTS' ? 'optimize' : null;
}

function statement(t: FtsHealth, action: Exclude<Action, null>): string {
  return ftsCommandSql(t.table, action);
}

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
            ? `${ftsCommandSql(t.table, 'merge', MERGE_PAGES_FIRST)} -- repeated, each in its own transaction, until it merges nothing`
            : statement(t, a),
        ];
      }),
    // Merging is done in bounded steps (fts-merge.ts); a rebuild is one statement.
    bounded: (ctx) =>
      ctx.fts.some((t) => actionFor(t, ctx, type) === 'rebuild')
        ? null
        : { describe: "FTS5 'merge' steps instead of 'optimize'", batches: true },
    run(db, ctx, env): OpOutcome | Promise<OpOutcome> {
      if (env.boundedMs !== null) return mergeAll(db, ctx, type, env.boundedMs, env.meter);
      return runFull(db, ctx, type);
    },
  };
}

async function mergeAll(
  db: Parameters<Operation['run']>[0],
  ctx: OpContext,
  type: 'REBUILD_FTS' | 'OPTIMIZE_FTS',
  budgetMs: number,
  meter: LockMeter,
): Promise<OpOutcome> {
  const touched: string[] = [];
  const notes: string[] = [];
  for (const t of ctx.fts) {
    if (actionFor(t, ctx, type) !== 'optimize') continue;
    const r = await mergeInSteps(db, t.table, { budgetMs, meter, indexBytes: t.indexBytes ?? 0 });
    touched.push(t.table);
    notes.push(
      `${t.table} merged in ${r.steps} step(s) of at most ${r.longestMs} ms${r.finished ? '' : ' (stopped before the end: the application kept adding segments)'}`,
    );
  }
  if (touched.length === 0)
    return { status: 'skipped', rowsAffected: 0, message: 'no FTS5 index needs it', rebuiltFts: [], touchedFts: [] };
  return { status: 'ok', rowsAffected: touched.length, message: notes.join('; '), rebuiltFts: [], touchedFts: touched };
}

function runFull(db: Parameters<Operation['run']>[0], ctx: OpContext, type: 'REBUILD_FTS' | 'OPTIMIZE_FTS'): OpOutcome {
  const rebuilt: string[] = [];
  const touched: string[] = [];
  const skipped: string[] = [];
  for (const t of ctx.fts) {
    const a = actionFor(t, ctx, type);
    if (!a) {
      if (isBroken(t)) skipped.push(t.table);
      continue;
    }
    db.prepare(statement(t, a)).run();
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
    wrongTriggersNote(db, rebuilt),
  ].filter(Boolean);
  return {
    status: 'ok',
    rowsAffected: rebuilt.length + touched.length,
    message: parts.join('; '),
    rebuiltFts: rebuilt,
    touchedFts: touched,
  };
}

export const rebuildFts = make('REBUILD_FTS');
export const optimizeFts = make('OPTIMIZE_FTS');
