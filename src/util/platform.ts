/**
 * What differs on Windows, in one place, with the platform a parameter so that the Windows
 * paths are tested on Linux:
 *
 *   - a rename fails with EPERM, EBUSY or EACCES while another process (an antivirus scanner,
 *     the search indexer, a backup agent) has the file open for a moment: it is retried a few
 *     times with a short backoff; on other platforms those errors are permanent and are not
 *   - file names are case-insensitive: extensions and globs match whatever the case
 */
import fs from 'node:fs';
import { sleepSync } from './process.js';

/** The errors a rename on Windows gets while another process briefly holds the file. */
export const TRANSIENT_RENAME_ERRORS: readonly string[] = ['EPERM', 'EBUSY', 'EACCES'];

export interface RenameOptions {
  /** The rename to use (fs.renameSync); injected by tests. */
  readonly rename?: (from: string, to: string) => void;
  /** process.platform unless given. */
  readonly platform?: NodeJS.Platform;
  /** Attempts in all (default 5: waits of 20, 40, 80, 160 ms between them, 300 ms at most). */
  readonly attempts?: number;
  readonly sleep?: (ms: number) => void;
}

/**
 * `fs.renameSync(from, to)`, retried on Windows while it fails with a transient error. When
 * every attempt failed, the last error is thrown with its code, and a message that says how
 * many attempts were made and what usually holds a file there.
 *
 * @example renameRetrying(`${file}.tmp`, file) // as fs.renameSync on Linux and macOS
 */
export function renameRetrying(from: string, to: string, opts: RenameOptions = {}): void {
  const rename = opts.rename ?? fs.renameSync;
  const platform = opts.platform ?? process.platform;
  const attempts = platform === 'win32' ? Math.max(1, opts.attempts ?? 5) : 1;
  const sleep = opts.sleep ?? sleepSync;
  for (let i = 1; ; i++) {
    try {
      rename(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (i >= attempts || !TRANSIENT_RENAME_ERRORS.includes(code)) {
        if (i > 1) {
          const e = err as NodeJS.ErrnoException;
          e.message = `rename ${from} -> ${to} failed ${i} times (${code}): another program (an antivirus scanner, the search indexer, a backup agent, an editor) holds one of them open; ${e.message}`;
        }
        throw err;
      }
      sleep(20 * 2 ** (i - 1));
    }
  }
}

/** Whether file names are compared without regard to case on `platform` (Windows). */
export function caseInsensitiveNames(platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'win32';
}

/**
 * Whether `name` ends with `extension` (`.log`), in any case on Windows (`APP.LOG`).
 *
 * @example hasExtension('APP.LOG', '.log', 'win32') // true; false on 'linux'
 */
export function hasExtension(name: string, extension: string, platform: NodeJS.Platform = process.platform): boolean {
  if (!caseInsensitiveNames(platform)) return name.endsWith(extension);
  return name.toLowerCase().endsWith(extension.toLowerCase());
}

/** The flags of a RegExp that matches file names: case-insensitive on Windows. */
export function nameRegExpFlags(platform: NodeJS.Platform = process.platform): string {
  return caseInsensitiveNames(platform) ? 'i' : '';
}
