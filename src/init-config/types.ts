/** What `--init-config` found and decided, as the report and `--json` give it. */

export type EvidencePart = 'databases' | 'conversations' | 'patterns' | 'fts' | 'events' | 'logs';

/**
 * One decision (or one thing left out) with its evidence: `found` (in the config), `not-found`
 * (the part is left out of the config), `skipped` (a file that is not used, and why),
 * `unreadable` (a file that could not be looked at), `noted` (found, nothing to configure).
 */
export interface Evidence {
  readonly part: EvidencePart;
  readonly status: 'found' | 'not-found' | 'skipped' | 'unreadable' | 'noted';
  /** The file (relative to DIR) or `<database>.<table>` it is about, when one. */
  readonly subject?: string;
  /** The human line (after `<part>: `). */
  readonly message: string;
}

/** A SQLite database found under DIR. */
export interface FoundDatabase {
  /** Its key in the config's "databases". */
  readonly key: string;
  /** Absolute path. */
  readonly path: string;
  /** Relative to DIR, with '/'. */
  readonly rel: string;
}
