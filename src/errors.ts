/**
 * The one error type of db-maintenance. Everything that can go wrong in an
 * expected way throws (or returns) a `DbmError`; the CLI's error funnel turns it
 * into one line on stderr and the exit code below.
 */

/** Documented exit codes (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  database: 3,
  busy: 4,
  locked: 5,
  taskFailed: 6,
  refused: 7,
  conflict: 8,
  /** `--assess --fail-on LEVEL`: the assessment found a task at or above that priority. */
  finding: 9,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_UNREADABLE'
  | 'CONFIG_INVALID_JSON'
  | 'CONFIG_INVALID'
  | 'UNKNOWN_DATABASE'
  | 'DB_NOT_FOUND'
  | 'DB_IS_DIRECTORY'
  | 'DB_UNREADABLE'
  | 'DB_NOT_SQLITE'
  | 'DB_CORRUPT'
  | 'DB_BUSY'
  | 'DB_ERROR'
  | 'FILE_UNREADABLE'
  | 'FILE_NOT_REGULAR'
  | 'FILE_UNWRITABLE'
  | 'FILE_ERROR'
  | 'STATE_DB'
  | 'DEMO_TARGET_EXISTS'
  | 'LOCKED'
  | 'NO_SPACE'
  | 'ARCHIVE_SCHEMA'
  | 'GUARD'
  | 'KEY_CONFLICT'
  | 'INTERNAL';

const EXIT_BY_CODE: Record<ErrorCode, ExitCode> = {
  USAGE: EXIT.usage,
  CONFIG_NOT_FOUND: EXIT.usage,
  CONFIG_UNREADABLE: EXIT.usage,
  CONFIG_INVALID_JSON: EXIT.usage,
  CONFIG_INVALID: EXIT.usage,
  UNKNOWN_DATABASE: EXIT.usage,
  DEMO_TARGET_EXISTS: EXIT.usage,
  DB_NOT_FOUND: EXIT.database,
  DB_IS_DIRECTORY: EXIT.database,
  DB_UNREADABLE: EXIT.database,
  DB_NOT_SQLITE: EXIT.database,
  DB_CORRUPT: EXIT.database,
  DB_ERROR: EXIT.database,
  FILE_UNREADABLE: EXIT.database,
  FILE_NOT_REGULAR: EXIT.database,
  FILE_UNWRITABLE: EXIT.database,
  FILE_ERROR: EXIT.database,
  STATE_DB: EXIT.database,
  DB_BUSY: EXIT.busy,
  LOCKED: EXIT.locked,
  NO_SPACE: EXIT.refused,
  ARCHIVE_SCHEMA: EXIT.database,
  GUARD: EXIT.refused,
  KEY_CONFLICT: EXIT.conflict,
  INTERNAL: EXIT.internal,
};

export class DbmError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  /** What the user can do about it, printed after the message. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbmError';
    this.code = code;
    this.exitCode = EXIT_BY_CODE[code];
    this.hint = options.hint;
  }
}

/** The one-line form used on stderr and in `--json` problem lists. */
export function formatError(err: DbmError): string {
  return `error: ${withHint(err)}`;
}

/** The message and, in parentheses, how to fix it (every error names its fix: a usage error without its own hint points at the flags). */
export function withHint(err: DbmError): string {
  const hint = err.hint ?? (err.code === 'USAGE' ? 'see db-maintenance --help' : undefined);
  return hint ? `${err.message} (${hint})` : err.message;
}

/** The most severe exit code of several problems (busy beats plain database errors). */
export function worstExitCode(codes: readonly ExitCode[]): ExitCode {
  const order: readonly ExitCode[] = [
    EXIT.internal,
    EXIT.usage,
    EXIT.locked,
    EXIT.busy,
    EXIT.database,
    EXIT.taskFailed,
    EXIT.refused,
    EXIT.conflict,
    EXIT.finding,
  ];
  for (const c of order) if (codes.includes(c)) return c;
  return EXIT.ok;
}
