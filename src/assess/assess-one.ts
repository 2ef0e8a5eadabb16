/**
 * The assessment of one database (read-only): what the main thread and the assessment worker
 * threads both run. Plain data in, plain data out: the result crosses worker threads.
 */
import { DbmError, formatError } from '../errors.js';
import type { BrainDatabase } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { inspectDatabaseFile, ReadConnection, sqliteError } from '../db/open.js';
import { checkDatabase, roleOf } from './database-health.js';
import { countConversations, countPatterns } from './retention.js';
import type { AssessmentProblem, DatabaseHealth, RetentionHealth } from './types.js';

/** What one database's assessment contributes; plain data (it crosses worker threads). */
export interface DbAssessment {
  readonly health: DatabaseHealth;
  readonly problems: AssessmentProblem[];
  /** What went wrong counting a retention part (conversations, patterns): a problem only for actions that use the part. */
  readonly partProblems: AssessmentProblem[];
  readonly conversations: RetentionHealth['conversations'];
  readonly patterns: RetentionHealth['patterns'];
  readonly ms: number;
}

/** Assesses one database (read-only). Never throws: what goes wrong is in `problems`. */
export function assessOne(target: BrainDatabase, config: Config, now: Date, deep: boolean): DbAssessment {
  const t0 = Date.now();
  const problems: AssessmentProblem[] = [];
  const partProblems: AssessmentProblem[] = [];
  const problem = (err: unknown, into = problems): void => {
    const e = err instanceof DbmError ? err : new DbmError('INTERNAL', (err as Error).message ?? String(err));
    into.push({ database: target.name, code: e.code, message: formatError(e), exitCode: e.exitCode });
  };
  let conversations: RetentionHealth['conversations'] = null;
  let patterns: RetentionHealth['patterns'] = null;
  let health: DatabaseHealth;
  try {
    health = withConnection(target, config.assess.busyTimeoutMs, (conn, facts) => {
      const h = checkDatabase(conn, target, facts, { deep, config });
      if (h.quickCheck?.status === 'failed') {
        problem(
          new DbmError(
            'DB_CORRUPT',
            `database ${target.name} (${target.path}) is corrupt: quick_check reports ${h.quickCheck.messages[0]}`,
            {
              hint: 'restore it from a backup; run --assess --deep --json for the full list',
            },
          ),
        );
      }
      if (config.conversations && target.name === config.conversations.database) {
        try {
          conversations = countConversations(conn.db, config.conversations, now, deep);
        } catch (err) {
          problem(retentionError(target, err, 'counting conversations'), partProblems);
        }
      }
      if (config.patterns && target.name === config.patterns.database) {
        try {
          patterns = countPatterns(conn.db, config.patterns, now);
        } catch (err) {
          problem(retentionError(target, err, 'counting patterns'), partProblems);
        }
      }
      return h;
    });
  } catch (err) {
    const e = sqliteError(target, err, 'assessing it');
    problem(e);
    health = {
      name: target.name,
      path: target.path,
      ...roleOf(target),
      status: 'error',
      error: { code: e.code, message: e.message },
    };
  }
  return { health, problems, partProblems, conversations, patterns, ms: Date.now() - t0 };
}

function withConnection<T>(
  target: BrainDatabase,
  timeoutMs: number,
  fn: (conn: ReadConnection, facts: ReturnType<typeof inspectDatabaseFile>) => T,
): T {
  const facts = inspectDatabaseFile(target);
  const conn = new ReadConnection(target, facts, timeoutMs);
  try {
    return fn(conn, facts);
  } catch (err) {
    throw sqliteError(target, err, 'assessing it');
  } finally {
    conn.close();
  }
}

function retentionError(target: BrainDatabase, err: unknown, doing: string): DbmError {
  if (err instanceof DbmError)
    return new DbmError(err.code, `database ${target.name}: ${err.message}`, { hint: err.hint });
  return sqliteError(target, err, doing);
}
