/**
 * The swap of `--compress-events` (events.ts, steps 3 to 7 of its protocol): the journal that
 * commits it, finishing or undoing a swap a killed run left, waiting for the appenders that
 * still have the old file open, and carrying their last lines over exactly once.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { partRule } from '../config/select.js';
import { DbmError } from '../errors.js';
import { fsyncDir, TEMP_MARKER, tempPathFor, writeFileAtomic } from '../util/fs-atomic.js';
import { originOf } from '../util/ownership.js';
import { recoverInPlace, type CollapseJournal } from './events-inplace.js';
import { extendArchive } from './gzip.js';
import { heldOpen } from '../util/holders.js';
import type { RetentionRequest } from './types.js';
import { renameRetrying } from '../util/platform.js';

export const READ_BYTES = 1 << 20;

export interface Journal {
  readonly version: 1;
  readonly live: string;
  readonly old: string;
  readonly temp: string;
  /** Bytes of the old file already in the live one (grows as lines are carried over). */
  copiedUpTo: number;
  readonly archives: ReadonlyArray<{ readonly temp: string; readonly final: string }>;
  /** A carry of lines from the old file under way (see drainOld). */
  drain?: {
    readonly from: number;
    readonly bytes: number;
    readonly sha256: string;
    /** Bytes of the old file it carries (bytes, less a completing newline). */
    readonly consumed?: number;
    readonly archive?: string;
    readonly temp?: string;
    readonly archiveSizeBefore?: number;
    /** Written by earlier versions, which carried into the live file. */
    readonly liveSizeBefore?: number;
  };
}
export interface EventsPaths {
  readonly file: string;
  readonly archiveDir: string;
  readonly journal: string;
  readonly old: string;
}

export function eventsPaths(req: RetentionRequest): EventsPaths {
  const rule = partRule(req.brain, 'events');
  const file = path.resolve(req.brain.baseDir, rule.path);
  const dir = rule.archiveDir;
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
 * Finishes or undoes a compression a killed run left (call with the run lock held); `reopen`
 * runs events.afterSwapCommand again when the swap was done (the killed run may have died
 * before it ran it, and an application that never reopens would hold the old file for good).
 * Returns what it did, or null.
 */
export async function recoverEvents(p: EventsPaths, carry: CarryTo, reopen?: () => void): Promise<string | null> {
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
  if ((j as { mode?: string }).mode === 'collapse') return recoverInPlace(j as unknown as CollapseJournal, p);
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
    if (fs.existsSync(a.temp)) renameRetrying(a.temp, a.final);
  }
  fsyncDir(p.archiveDir);
  reopen?.();
  const { done } = await finishSwap(j, p, carry);
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
 * After the swap: waits until no other process holds the old inode open (by device and inode;
 * a process that cannot be looked at counts as holding it), carries over the lines written to
 * it after the copy, then removes it and the journal. While it may still be held, only whole
 * lines are carried over (a line being written in several writes is left for later); if it is
 * still held after OPENERS_WAIT_MS, the old file and the journal stay and the next run carries
 * over the rest. Returns the bytes carried over and whether the old file is gone.
 */
export async function finishSwap(
  j: Journal,
  p: EventsPaths,
  carry: CarryTo,
): Promise<{ drained: number; done: boolean }> {
  const held = fs.existsSync(j.old) ? await heldOpen(j.old, OPENERS_WAIT_MS) : null;
  const done = held === null;
  const drained = await drainOld(j, p.journal, done, carry);
  if (!done) return { drained, done };
  fs.rmSync(j.old, { force: true });
  fsyncDir(path.dirname(p.file));
  fs.rmSync(p.journal, { force: true });
  return { drained, done };
}

/**
 * Where the lines written to the previous file during the swap go: the live file at a moment
 * when no other process holds it open (so nobody is in the middle of writing a line there),
 * else the archive of the current month: an append of ours into a file the application is
 * writing could land between the writes of one of its lines (a torn line).
 */
export interface CarryTo {
  /** The archive (events_archive_YYYYMM.jsonl.gz of this month) that takes them when the live file is held. */
  readonly archive: string;
  readonly gzipLevel: number;
  /** How long to look for a moment when nobody holds the live file (events.settleMs). */
  readonly windowMs: number;
}

type Drain = NonNullable<Journal['drain']>;

/**
 * Carries the lines appenders wrote to the old inode after it was copied into the archive of
 * `carry` (with `complete`, also a last line without its newline, completed with one; otherwise
 * only whole lines). Crash-safe through the journal: the carry is recorded before the archive
 * grows (by a temp copy renamed over it), and a re-run tells from the archive's size whether
 * that rename happened.
 */
async function drainOld(j: Journal, journalPath: string, complete: boolean, carry: CarryTo): Promise<number> {
  if (!fs.existsSync(j.old)) return 0;
  if (j.drain && finishedBefore(j, j.drain)) {
    j.copiedUpTo += j.drain.consumed ?? j.drain.bytes;
    delete j.drain;
    writeFileAtomic(journalPath, JSON.stringify(j));
  }
  if (j.drain?.temp) fs.rmSync(j.drain.temp, { force: true });
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
  // A last line without its newline (a writer died mid-line) is completed, so it stays a line.
  if (data[data.length - 1] !== 10) data = Buffer.concat([data, NEWLINE]);
  const sha256 = createHash('sha256').update(data).digest('hex');
  let intoLive = (await heldOpen(j.live, carry.windowMs)) === null && endsWithNewline(j.live);
  if (intoLive) {
    const liveSizeBefore = fs.existsSync(j.live) ? fs.statSync(j.live).size : 0;
    j.drain = { from: j.copiedUpTo, bytes: data.length, consumed, sha256, liveSizeBefore };
    writeFileAtomic(journalPath, JSON.stringify(j));
    // Looked at again right before the append (the journal write took a while): a free moment, at a line end.
    intoLive = (await heldOpen(j.live, carry.windowMs)) === null && endsWithNewline(j.live);
  }
  if (intoLive) {
    const out = fs.openSync(j.live, 'a');
    try {
      writeAll(out, data);
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(out);
    }
    j.copiedUpTo += consumed;
    delete j.drain;
    writeFileAtomic(journalPath, JSON.stringify(j));
    return consumed;
  }
  const temp = tempPathFor(`${carry.archive}.carry`);
  const sizeBefore = fs.existsSync(carry.archive) ? fs.statSync(carry.archive).size : 0;
  j.drain = {
    from: j.copiedUpTo,
    bytes: data.length,
    consumed,
    sha256,
    archive: carry.archive,
    temp,
    archiveSizeBefore: sizeBefore,
  };
  writeFileAtomic(journalPath, JSON.stringify(j));
  const w = extendArchive(carry.archive, temp, carry.gzipLevel, originOf(j.live));
  try {
    await w.write(data);
    await w.close();
  } catch (err) {
    w.abandon();
    fs.rmSync(temp, { force: true });
    throw err;
  }
  renameRetrying(temp, carry.archive);
  fsyncDir(path.dirname(carry.archive));
  j.copiedUpTo += consumed;
  delete j.drain;
  writeFileAtomic(journalPath, JSON.stringify(j));
  return consumed;
}

/** Whether the carry `d`, recorded by a run that was killed, already happened (so must not happen again). */
function finishedBefore(j: Journal, d: Drain): boolean {
  if (d.from !== j.copiedUpTo) return false;
  if (d.archive === undefined) {
    // A carry into the live file.
    return d.liveSizeBefore !== undefined && alreadyAppended(j.live, d.liveSizeBefore, d.bytes, d.sha256);
  }
  const size = fs.existsSync(d.archive) ? fs.statSync(d.archive).size : 0;
  return !(d.temp !== undefined && fs.existsSync(d.temp)) && size > (d.archiveSizeBefore ?? 0);
}

/** Whether `bytes` bytes with this sha256 stand at a line start at or after `from` in `file` (the old protocol's carry). */
function alreadyAppended(file: string, from: number, bytes: number, sha256: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const window = Buffer.alloc(Math.min(Math.max(0, fs.fstatSync(fd).size - from), 64 * 1024 * 1024 + bytes));
    fs.readSync(fd, window, 0, window.length, from);
    for (let at = 0; at + bytes <= window.length; at = window.indexOf(10, at) + 1) {
      if (
        createHash('sha256')
          .update(window.subarray(at, at + bytes))
          .digest('hex') === sha256
      )
        return true;
      if (window.indexOf(10, at) === -1) break;
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

/** How long events.afterSwapCommand may run. */
const HOOK_TIMEOUT_MS = 60_000;

/**
 * Runs `events.afterSwapCommand` (in the config's directory, through the shell, with
 * DBM_EVENTS_FILE and DBM_EVENTS_PREVIOUS set) so that the application reopens its events
 * file. A failing hook is reported, never fatal: the lines written to the previous file are
 * still carried over once it is released. Returns a note for the item's message.
 */
export function runAfterSwapCommand(
  command: string,
  p: EventsPaths,
  cwd: string,
  logger: { warn(o: object, m: string): void },
): string {
  const r = spawnSync(command, {
    shell: true,
    cwd,
    env: { ...process.env, DBM_EVENTS_FILE: p.file, DBM_EVENTS_PREVIOUS: p.old },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: HOOK_TIMEOUT_MS,
    encoding: 'utf8',
  });
  if (r.status === 0) return '; events.afterSwapCommand ran';
  const why = r.error
    ? r.error.message
    : r.signal
      ? `killed by ${r.signal}`
      : `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}`;
  logger.warn({ command, why }, 'events.afterSwapCommand failed');
  return `; events.afterSwapCommand failed (${why})`;
}

/** Whether `file` is empty or ends with a newline (nobody left a line half-written at its end). */
function endsWithNewline(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, size - 1);
    return b[0] === 10;
  } finally {
    fs.closeSync(fd);
  }
}
