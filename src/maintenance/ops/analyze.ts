import type { Operation } from './types.js';
import { nothingRebuilt } from './types.js';

/**
 * Rows ANALYZE reads per index in its bounded form (SQLite's analysis_limit, which it suggests
 * between 100 and 1000): approximate statistics, good enough for the planner, in milliseconds
 * instead of a pass over every index.
 */
export const ANALYSIS_LIMIT = 1000;

export const analyze: Operation = {
  type: 'ANALYZE',
  guarded: true,
  transactional: true,
  rewritesDatabase: false,
  sql: (_ctx, bounded) => (bounded ? [`PRAGMA analysis_limit = ${ANALYSIS_LIMIT}`, 'ANALYZE'] : ['ANALYZE']),
  bounded: () => ({ describe: `ANALYZE with analysis_limit=${ANALYSIS_LIMIT}`, batches: false }),
  run(db, _ctx, env) {
    const limit = env.boundedMs === null ? 0 : ANALYSIS_LIMIT;
    const was = Number(db.pragma('analysis_limit', { simple: true }));
    db.pragma(`analysis_limit = ${limit}`);
    try {
      db.exec('ANALYZE');
    } finally {
      db.pragma(`analysis_limit = ${was}`);
    }
    const n = Number(db.prepare('SELECT count(*) FROM sqlite_stat1').pluck().get());
    return {
      status: 'ok',
      rowsAffected: n,
      message: `statistics gathered (${n} sqlite_stat1 rows${limit ? `; analysis_limit=${limit}, approximate` : ''})`,
      ...nothingRebuilt,
    };
  },
};
