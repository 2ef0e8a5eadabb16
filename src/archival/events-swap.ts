/**
 * The swap of `--compress-events` (events.ts, steps 3 to 7 of its protocol): the journal that
 * commits it, finishing or undoing a swap a killed run left, waiting for the appenders that
 * still have the old file open, and carrying their last lines over exactly once.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DbmError } from '../errors.js';
import { fsyncDir, TEMP_MARKER, writeFileAtomic } from '../util/fs-atomic.js';
import type { RetentionRequest } from './types.js';

export const READ_BYTES = 1 << 20;

export interface Journal {
  readonly version: 1;
  readonly live: string;
  readonly old: string;
  readonly temp: string;
  /** Bytes of the old file already in the live one (grows as lines are carried over). */
  copiedUpTo: number;
  readonly archives: ReadonlyArray<{ readonly temp: string; readonly final: string }>;
  drain?: { readonly from: number; readonly bytes: number; readonly sha256: string; readonly liveSizeBefore: number };
}
export interface EventsPaths {
  readonly file: string;
  readonly archiveDir: string;
  readonly journal: string;
  readonly old: string;
}

export function eventsPaths(req: RetentionRequest): EventsPaths {
  const file = req.brain.eventsPath;
  const dir = req.brain.config.events.archiveDir;
  return {
    file,
    archiveDir: dir ? path.resolve(req.brain.baseDir, dir) : path.dirname(file),
    journal: `${file}.dbm-journal`,
    old: `${file}.dbm-old`,
  };
}

const NEWLINE = Buffer.from('\n');

export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

/**
 * How many processes have `file` open, from /proc (Linux), or null when that cannot be known
 * (no /proc, or processes whose descriptors we may not read).
 */
export function openersOf(file: string): number | null {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  let n = 0;
  let blind = false;
  for (const pid of pids) {
    if (pid === String(process.pid)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') blind = true; // not ours to read
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file) n++;
      } catch {
        // closed meanwhile
      }
    }
  }
  return blind ? null : n;
}

/** Finishes or undoes a compression a killed run left (call with the run lock held). Returns what it did, or null. */
export async function recoverEvents(p: EventsPaths, settleMs: number): Promise<string | null> {
  if (!fs.existsSync(p.journal)) {
    // Killed before the commit point: only temp files (and perhaps the link) to remove.
    const removed = removeStrays(p);
    if (fs.existsSync(p.old)) {
      fs.rmSync(p.old, { force: true });
      removed.push(p.old);
    }
    return removed.length ? `removed ${removed.length} temp file(s) an interrupted --compress-events left` : null;
  }
  let j: Journal;
  try {
    j = JSON.parse(fs.readFileSync(p.journal, 'utf8')) as Journal;
  } catch (err) {
    throw new DbmError(
      'FILE_ERROR',
      `the journal ${p.journal} of an interrupted --compress-events cannot be read: ${(err as Error).message}`,
      {
        hint: 'inspect it: the live file, <file>.dbm-old and the temp archives hold every line; nothing was removed',
      },
    );
  }
  if (fs.existsSync(j.temp)) {
    // Killed before the swap: the live file is untouched. Undo.
    for (const a of j.archives) fs.rmSync(a.temp, { force: true });
    fs.rmSync(j.temp, { force: true });
    fs.rmSync(j.old, { force: true });
    fs.rmSync(p.journal, { force: true });
    removeStrays(p);
    return 'undid an interrupted --compress-events (killed before its swap; nothing had changed)';
  }
  for (const a of j.archives) {
    if (fs.existsSync(a.temp)) fs.renameSync(a.temp, a.final);
  }
  fsyncDir(p.archiveDir);
  const { done } = await finishSwap(j, p, settleMs);
  removeStrays(p);
  return done
    ? 'completed an interrupted --compress-events from its journal'
    : `carried over lines written to the previous events file; an appender still holds it open (${j.old}), the next run continues`;
}

function removeStrays(p: EventsPaths): string[] {
  const removed: string[] = [];
  const base = path.basename(p.file);
  for (const dir of new Set([path.dirname(p.file), p.archiveDir])) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const ours =
        ((n.startsWith(`.${base}${TEMP_MARKER}`) || /^events_archive_\d{6}\.jsonl\.gz/.test(n)) &&
          n.includes(TEMP_MARKER)) ||
        (n.startsWith(`.${base}.dbm-journal.`) && n.endsWith('.tmp'));
      if (ours) {
        fs.rmSync(path.join(dir, n), { force: true });
        removed.push(path.join(dir, n));
      }
    }
  }
  return removed;
}

/** How long to wait for appenders that still have the old file open before leaving it to the next run. */
const OPENERS_WAIT_MS = 10_000;

/**
 * After the swap: waits until no other process has the old file open (Linux /proc; elsewhere
 * `settleMs`), carries over the lines written to it after the copy, then removes it and the
 * journal. If an appender keeps it open past OPENERS_WAIT_MS, both stay and the next run carries
 * over the rest. Returns the bytes carried over and whether the old file is gone.
 */
export async function finishSwap(
  j: Journal,
  p: EventsPaths,
  settleMs: number,
): Promise<{ drained: number; done: boolean }> {
  const deadline = Date.now() + OPENERS_WAIT_MS;
  let open = fs.existsSync(j.old) ? openersOf(j.old) : 0;
  if (open === null) await new Promise((r) => setTimeout(r, settleMs));
  while (open !== null && open > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    open = openersOf(j.old);
  }
  const done = open === null || open === 0;
  const drained = drainOld(j, p.journal, done);
  if (!done) return { drained, done };
  fs.rmSync(j.old, { force: true });
  fsyncDir(path.dirname(p.file));
  fs.rmSync(p.journal, { force: true });
  return { drained, done };
}

/**
 * Appends to the live file the lines appenders wrote to the old inode after it was copied
 * (with `complete`, also a last line without its newline, completed with one). Recorded in the
 * journal before the append, so a re-run can tell whether it already happened.
 */
function drainOld(j: Journal, journalPath: string, complete: boolean): number {
  if (!fs.existsSync(j.old)) return 0;
  const fd = fs.openSync(j.old, 'r');
  let data: Buffer;
  try {
    const size = fs.fstatSync(fd).size;
    data = Buffer.alloc(Math.max(0, size - j.copiedUpTo));
    if (data.length) fs.readSync(fd, data, 0, data.length, j.copiedUpTo);
  } finally {
    fs.closeSync(fd);
  }
  if (!complete) data = data.subarray(0, data.lastIndexOf(10) + 1);
  if (data.length === 0) return 0;
  const consumed = data.length;
  // A last line without its newline (a writer died mid-line) is completed, so the next
  // application line does not run into it.
  if (data[data.length - 1] !== 10) data = Buffer.concat([data, NEWLINE]);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const already =
    j.drain !== undefined &&
    j.drain.sha256 === sha256 &&
    j.drain.from === j.copiedUpTo &&
    alreadyAppended(j.live, j.drain.liveSizeBefore, data);
  if (!already) {
    const liveSizeBefore = fs.existsSync(j.live) ? fs.statSync(j.live).size : 0;
    j.drain = { from: j.copiedUpTo, bytes: data.length, sha256, liveSizeBefore };
    writeFileAtomic(journalPath, JSON.stringify(j));
    const out = fs.openSync(j.live, 'a');
    try {
      writeAll(out, data);
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(out);
    }
  }
  j.copiedUpTo += consumed;
  delete j.drain;
  writeFileAtomic(journalPath, JSON.stringify(j));
  return consumed;
}

function alreadyAppended(file: string, from: number, data: Buffer): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const window = Buffer.alloc(Math.min(Math.max(0, fs.fstatSync(fd).size - from), 64 * 1024 * 1024 + data.length));
    fs.readSync(fd, window, 0, window.length, from);
    for (let at = window.indexOf(data); at !== -1; at = window.indexOf(data, at + 1)) {
      if (at === 0 || window[at - 1] === 10) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

export function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let at = buf.indexOf(10); at !== -1; at = buf.indexOf(10, at + 1)) n++;
  return n;
}
