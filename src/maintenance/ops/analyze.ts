import type { Operation } from './types.js';
import { nothingRebuilt } from './types.js';

export const analyze: Operation = {
  type: 'ANALYZE',
  guarded: true,
  transactional: true,
  rewritesDatabase: false,
  sql: () => ['ANALYZE'],
  run(db) {
    db.exec('ANALYZE');
    const n = Number(db.prepare('SELECT count(*) FROM sqlite_stat1').pluck().get());
    return {
      status: 'ok',
      rowsAffected: n,
      message: `statistics gathered (${n} sqlite_stat1 rows)`,
      ...nothingRebuilt,
    };
  },
};
