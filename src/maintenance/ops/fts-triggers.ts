/**
 * Repairing the cause of FTS drift: an external-content index's wrong sync triggers are replaced
 * by FTS5's documented form (src/db/fts-triggers.ts builds the SQL), then the index is rebuilt
 * from its content, in the safety net's one write transaction: verified (FTS5's rank-1
 * integrity-check of each rebuilt index, the triggers classified again) before COMMIT.
 * Other drifted indexes of the database are rebuilt in the same transaction.
 */
import type Database from 'better-sqlite3';
import type { FtsHealth } from '../../assess/types.js';
import { checkFtsTriggers } from '../../db/fts-triggers.js';
import { ftsCommandSql, listFtsTables } from '../../db/fts5.js';
import type { Operation, OpOutcome } from './types.js';

const rebuild = (name: string): string => ftsCommandSql(name, 'rebuild');
const broken = (f: FtsHealth): boolean => (f.status === 'drift' || f.status === 'corrupt') && f.kind !== 'contentless';

export const repairFtsTriggers: Operation = {
  type: 'REPAIR_FTS_TRIGGERS',
  guarded: true,
  transactional: true,
  rewritesDatabase: false,
  sql: (ctx) =>
    ctx.fts.flatMap((f) =>
      f.triggers?.status === 'wrong'
        ? [...f.triggers.replacementSql, rebuild(f.table)]
        : broken(f)
          ? [rebuild(f.table)]
          : [],
    ),
  run(db, ctx): OpOutcome {
    // Read again inside the write transaction: what the assessment saw may have changed since.
    const repaired: string[] = [];
    const rebuilt: string[] = [];
    for (const t of listFtsTables(db)) {
      if (t.kind !== 'external') continue;
      const check = checkFtsTriggers(db, t);
      if (check.status !== 'wrong') continue;
      for (const stmt of check.replacementSql) db.exec(stmt);
      const after = checkFtsTriggers(db, t);
      if (after.status !== 'correct') {
        throw new Error(
          `the replacement triggers of "${t.name}" do not classify as correct (${after.problems.map((p) => p.problem).join('; ')})`,
        );
      }
      db.prepare(rebuild(t.name)).run();
      repaired.push(`"${t.name}" (${check.triggers.join(', ') || 'no triggers'} -> ${after.triggers.join(', ')})`);
      rebuilt.push(t.name);
    }
    for (const f of ctx.fts) {
      if (!broken(f) || rebuilt.includes(f.table)) continue;
      db.prepare(rebuild(f.table)).run();
      rebuilt.push(f.table);
    }
    if (repaired.length === 0 && rebuilt.length === 0) {
      return {
        status: 'skipped',
        rowsAffected: 0,
        message: 'no FTS5 index has wrong triggers',
        rebuiltFts: [],
        touchedFts: [],
      };
    }
    const others = rebuilt.filter((n) => !repaired.some((r) => r.startsWith(`"${n}"`)));
    const parts = [
      repaired.length ? `replaced the triggers of ${repaired.join(', ')} and rebuilt them` : '',
      others.length ? `rebuilt ${others.join(', ')}` : '',
    ].filter(Boolean);
    return {
      status: 'ok',
      rowsAffected: rebuilt.length,
      message: parts.join('; '),
      rebuiltFts: rebuilt,
      touchedFts: [],
    };
  },
};

/** After a rebuild: the indexes whose triggers will break them again, as a note for the result (or ''). */
export function wrongTriggersNote(db: Database.Database, rebuilt: readonly string[]): string {
  const wrong = listFtsTables(db).filter(
    (t) => t.kind === 'external' && rebuilt.includes(t.name) && checkFtsTriggers(db, t).status === 'wrong',
  );
  if (wrong.length === 0) return '';
  return `the triggers of ${wrong.map((t) => `"${t.contentTable}"`).join(', ')} will break ${wrong.map((t) => `"${t.name}"`).join(', ')} again on the application's next DELETE or UPDATE (--repair-fts-triggers replaces them)`;
}
