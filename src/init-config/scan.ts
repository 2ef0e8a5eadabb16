/**
 * The walk of a brain directory for `--init-config`: SQLite databases (by their 16-byte header,
 * whatever their name), `*.jsonl` files and directories of `*.log` files. Bounded (depth and
 * entries), read-only (files are only stat'ed and their first bytes read), never following a
 * symlink out of DIR, never entering the tool's own state directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_ARCHIVE_FILE } from '../config/archive-files.js';
import { readHead, isSqliteHead } from '../db/open.js';
import { TEMP_MARKER } from '../util/fs-atomic.js';
import type { Evidence } from './types.js';

/** Directories below DIR entered at most (DIR/a/b/c/file). */
export const MAX_DEPTH = 4;
/** Directory entries looked at, at most: a brain is a few dozen files, not a home directory. */
export const MAX_ENTRIES = 20_000;
/** The tool's own state directory (the config's default `stateDir`), never part of the brain. */
const STATE_DIR = '.db-maintenance';
const SKIPPED_DIRS = new Set([STATE_DIR, 'node_modules', '.git']);
const SIDECAR = /-(wal|shm|journal)$/;
const BACKUP_NAME = /(\.(bak|backup|orig|old)|~)$|\.backup\b/i;
const DB_LIKE_NAME = /\.(db|db3|sqlite|sqlite3)$/i;

export interface ScanResult {
  /** SQLite databases (absolute paths), sorted. */
  readonly databases: string[];
  readonly jsonl: string[];
  /** Directories holding `*.log` files, with how many. */
  readonly logDirs: Array<{ readonly dir: string; readonly logs: number }>;
  readonly evidence: Evidence[];
}

export function scanBrain(root: string): ScanResult {
  const out: ScanResult = { databases: [], jsonl: [], logDirs: [], evidence: [] };
  const realRoot = fs.realpathSync(root);
  const rel = (p: string): string => path.relative(root, p).split(path.sep).join('/');
  const seen = new Set<string>();
  let entries = 0;
  let truncated = false;
  const archives = new Set<string>(Object.values(DEFAULT_ARCHIVE_FILE));

  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch (err) {
      out.evidence.push({
        part: 'databases',
        status: 'unreadable',
        subject: rel(dir) || '.',
        message: `${rel(dir) || '.'}/ cannot be listed (${(err as NodeJS.ErrnoException).code ?? String(err)}): not searched`,
      });
      return;
    }
    let logs = 0;
    for (const name of names) {
      if (++entries > MAX_ENTRIES) {
        truncated = true;
        return;
      }
      const full = path.join(dir, name);
      if (name.startsWith('.') || name.includes(TEMP_MARKER)) continue;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(full);
      } catch {
        continue; // removed meanwhile
      }
      let target = full;
      if (st.isSymbolicLink()) {
        // A link inside DIR to a file inside DIR is that file (found under its own name once);
        // a link out of DIR is not the brain's.
        try {
          target = fs.realpathSync(full);
          st = fs.statSync(target);
        } catch {
          continue; // dangling
        }
        if (target !== realRoot && !target.startsWith(realRoot + path.sep)) {
          out.evidence.push({
            part: 'databases',
            status: 'skipped',
            subject: rel(full),
            message: `${rel(full)} is a symlink out of the brain directory (to ${target}): not followed`,
          });
          continue;
        }
        if (st.isDirectory()) continue; // its contents are found under their own names
      }
      if (st.isDirectory()) {
        if (SKIPPED_DIRS.has(name)) continue;
        if (depth < MAX_DEPTH) walk(full, depth + 1);
        continue;
      }
      if (!st.isFile() || SIDECAR.test(name)) continue;
      const real = fs.realpathSync(target);
      if (seen.has(real)) continue;
      seen.add(real);
      const head = st.size === 0 ? Buffer.alloc(0) : readHead(full, 16);
      // A database named *.log is a database, never a log to rotate.
      if (name.endsWith('.log') && !isSqliteHead(head)) logs++;
      if (name.endsWith('.jsonl') && !isSqliteHead(head)) out.jsonl.push(full);
      if (st.size === 0) {
        if (DB_LIKE_NAME.test(name))
          out.evidence.push({
            part: 'databases',
            status: 'skipped',
            subject: rel(full),
            message: `${rel(full)} is an empty file (no SQLite header): not listed`,
          });
        continue;
      }
      if (head === null) {
        if (DB_LIKE_NAME.test(name)) {
          out.evidence.push({
            part: 'databases',
            status: 'unreadable',
            subject: rel(full),
            message: `${rel(full)} cannot be read (${unreadableWhy(full)}): whether it is a SQLite database is not known, it is not listed`,
          });
        }
        continue;
      }
      if (!isSqliteHead(head)) {
        if (DB_LIKE_NAME.test(name)) {
          out.evidence.push({
            part: 'databases',
            status: 'skipped',
            subject: rel(full),
            message: `${rel(full)} is not a SQLite database (no SQLite header): not listed`,
          });
        }
        continue;
      }
      if (archives.has(name)) {
        out.evidence.push({
          part: 'databases',
          status: 'skipped',
          subject: rel(full),
          message: `${rel(full)} is db-maintenance's own ${name === DEFAULT_ARCHIVE_FILE.conversations ? 'conversation' : 'pattern'} archive (its default name): not a live database, not listed`,
        });
        continue;
      }
      if (BACKUP_NAME.test(name)) {
        out.evidence.push({
          part: 'databases',
          status: 'skipped',
          subject: rel(full),
          message: `${rel(full)} is named like a backup copy: not listed (add it to "databases" by hand if it is live)`,
        });
        continue;
      }
      out.databases.push(full);
    }
    if (logs > 0) out.logDirs.push({ dir, logs });
  };
  walk(root, 0);
  if (truncated) {
    out.evidence.push({
      part: 'databases',
      status: 'skipped',
      message: `stopped looking after ${MAX_ENTRIES} directory entries: files beyond them are not listed`,
    });
  }
  out.databases.sort();
  out.jsonl.sort();
  return out;
}

function unreadableWhy(file: string): string {
  try {
    fs.closeSync(fs.openSync(file, 'r'));
    return 'unknown';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}
