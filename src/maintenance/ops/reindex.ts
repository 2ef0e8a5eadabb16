import type { Operation } from './types.js';
import { nothingRebuilt } from './types.js';

export const reindex: Operation = {
  type: 'REINDEX',
  guarded: true,
  transactional: true,
  rewritesDatabase: false,
  sql: () => ['REINDEX'],
  run(db) {
    db.exec('REINDEX');
    const n = Number(db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'index'").pluck().get());
    return { status: 'ok', rowsAffected: n, message: `rebuilt ${n} indexes`, ...nothingRebuilt };
  },
};
