/**
 * `--compress-events` for a file another process holds open (a descriptor kept for its life):
 * the archived head is removed in place, so the live inode stays and the application's appends
 * (O_APPEND) go on landing in it. Linux `fallocate(FALLOC_FL_COLLAPSE_RANGE)` (util-linux
 * `fallocate --collapse-range`, ext4 and XFS) removes a range that starts and ends on file-system
 * block boundaries: so the head removed ends at the last line boundary that falls on a block
 * boundary, and only the old lines wholly before it are archived; the rest stay for a later run.
 * Where the file system (or the file's size) does not allow it, nothing is changed.
 *
 * Crash-safe: the archives are written to temp files and fsynced, then a journal (`mode:
 * 'collapse'`, with checksums of the head and of what follows it) is the commit point; a re-run
 * tells from the live file's first bytes whether the collapse happened, and renames the
 * archives into place, or undoes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DbmError } from '../errors.js';
import { killAt } from '../maintenance/inject.js';
import { fsyncDir, tempPathFor, writeFileAtomic } from '../util/fs-atomic.js';
import { originOf } from '../util/ownership.js';
import { extendArchive, GzipMemberWriter } from './gzip.js';
import { renameRetrying } from '../util/platform.js';

/** The paths an in-place compression uses (a subset of the swap's EventsPaths). */
export interface InPlacePaths {
  readonly file: string;
  readonly archiveDir: string;
  readonly journal: string;
}

/** The journal of an in-place compression (its `mode` tells it from the swap's). */
export interface CollapseJournal {
  readonly version: 1;
  readonly mode: 'collapse';
  readonly live: string;
  /** Bytes removed from the head. */
  readonly length: number;
  /** sha256 of the first `headLen` bytes before the collapse, and of the `nextLen` bytes that follow the head. */
  readonly headLen: number;
  readonly headSha: string;
  readonly nextLen: number;
  readonly nextSha: string;
  readonly archives: ReadonlyArray<{ readonly temp: string; readonly final: string }>;
}

const CHECK_BYTES = 64 * 1024;
const READ_BYTES = 1 << 20;

export interface InPlaceResult {
  readonly moved: number;
  readonly files: readonly string[];
  /** Why nothing was done (no block-aligned line boundary yet, the file system refused). */
  readonly notDone: string | null;
}

/**
 * The longest head of `file` made of whole lines that `movable` accepts and that ends on a
 * block boundary (0 when there is none), and how many lines it holds.
 */
function alignedHead(
  fd: number,
  blockSize: number,
  limit: number,
  movable: (line: Buffer) => boolean,
): { length: number; lines: number } {
  const buf = Buffer.allocUnsafe(READ_BYTES);
  let carry = Buffer.alloc(0);
  let pos = 0;
  let best = { length: 0, lines: 0 };
  let lines = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) return best;
    const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
    const base = pos - carry.length;
    pos += n;
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      if (!movable(data.subarray(from, nl + 1))) return best;
      lines++;
      const end = base + nl + 1;
      if (end % blockSize === 0 && end < limit) best = { length: end, lines };
      if (end >= limit) return best;
      from = nl + 1;
    }
    carry = Buffer.from(data.subarray(from));
  }
}

function sha256Of(fd: number, start: number, length: number): string {
  const b = Buffer.alloc(length);
  const n = fs.readSync(fd, b, 0, length, start);
  return createHash('sha256').update(b.subarray(0, n)).digest('hex');
}

/** Archives the old lines of the aligned head and collapses it out of the live file. */
export async function compressInPlace(
  p: InPlacePaths,
  cutoffMs: number,
  gzipLevel: number,
  timeOf: (line: Buffer) => number | null,
  archiveFor: (ms: number) => string,
  env: NodeJS.ProcessEnv = {},
): Promise<InPlaceResult> {
  const fd = fs.openSync(p.file, 'r');
  const files = new Map<string, GzipMemberWriter>();
  let committed = false;
  try {
    const st = fs.fstatSync(fd);
    const blockSize = st.blksize > 0 ? st.blksize : 4096;
    const movable = (line: Buffer): boolean => {
      const t = timeOf(line.subarray(0, line.length - 1));
      return t !== null && t < cutoffMs;
    };
    const size = st.size;
    // Not up to the end: the range removed must not reach it (and the end may be growing).
    const head = alignedHead(fd, blockSize, size, movable);
    if (head.length === 0) {
      return {
        moved: 0,
        files: [],
        notDone: `no line of its old ones ends on a ${blockSize}-byte block boundary yet (an in-place removal must end on one)`,
      };
    }
    // The archives of the head's lines, as temp files.
    const origin = originOf(p.file);
    const writerFor = (name: string): GzipMemberWriter => {
      let w = files.get(name);
      if (!w) {
        const final = path.join(p.archiveDir, name);
        w = extendArchive(final, tempPathFor(final), gzipLevel, origin);
        files.set(name, w);
      }
      return w;
    };
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let carry = Buffer.alloc(0);
    let moved = 0;
    for (let pos = 0; pos < head.length;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, head.length - pos), pos);
      if (n <= 0) break;
      pos += n;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let from = 0;
      for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
        const line = data.subarray(from, nl + 1);
        await writerFor(archiveFor(timeOf(line.subarray(0, line.length - 1))!)).write(line);
        moved++;
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
    }
    for (const w of files.values()) await w.close();
    const archives = [...files.entries()].map(([name, w]) => ({ temp: w.path, final: path.join(p.archiveDir, name) }));
    const headLen = Math.min(CHECK_BYTES, head.length);
    const nextLen = Math.min(CHECK_BYTES, size - head.length);
    const j: CollapseJournal = {
      version: 1,
      mode: 'collapse',
      live: p.file,
      length: head.length,
      headLen,
      headSha: sha256Of(fd, 0, headLen),
      nextLen,
      nextSha: sha256Of(fd, head.length, nextLen),
      archives,
    };
    writeFileAtomic(p.journal, JSON.stringify(j));
    committed = true;
    killAt(env, 'inplace-journal');
    // The file at the path must still be the one read (an application or logrotate may have replaced it).
    const now = fs.statSync(p.file);
    if (now.ino !== st.ino || now.dev !== st.dev) {
      undo(j, p);
      return { moved: 0, files: [], notDone: 'the file was replaced while it was read' };
    }
    try {
      execFileSync('fallocate', ['--collapse-range', '--offset', '0', '--length', String(head.length), p.file], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (err) {
      undo(j, p);
      const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message)
        .trim()
        .split('\n')[0];
      return { moved: 0, files: [], notDone: `the file system did not remove its head in place (${why})` };
    }
    killAt(env, 'inplace-collapsed');
    finish(j, p);
    return { moved, files: archives.map((a) => a.final), notDone: null };
  } finally {
    fs.closeSync(fd);
    if (!committed)
      for (const w of files.values()) {
        w.abandon();
        fs.rmSync(w.path, { force: true });
      }
  }
}

function undo(j: CollapseJournal, p: InPlacePaths): void {
  for (const a of j.archives) fs.rmSync(a.temp, { force: true });
  fs.rmSync(p.journal, { force: true });
}

function finish(j: CollapseJournal, p: InPlacePaths): void {
  for (const a of j.archives) if (fs.existsSync(a.temp)) renameRetrying(a.temp, a.final);
  fsyncDir(p.archiveDir);
  fs.rmSync(p.journal, { force: true });
}

/** Finishes (or undoes) an in-place compression a killed run left, from what the live file begins with. */
export function recoverInPlace(j: CollapseJournal, p: InPlacePaths): string {
  const fd = fs.openSync(j.live, 'r');
  let notRemoved: boolean;
  let removed: boolean;
  try {
    // Not removed: the head is still at the start and what followed it still follows it.
    notRemoved = sha256Of(fd, 0, j.headLen) === j.headSha && sha256Of(fd, j.length, j.nextLen) === j.nextSha;
    // Removed: what followed the head is now at the start.
    removed = sha256Of(fd, 0, j.nextLen) === j.nextSha;
    if (removed && notRemoved) removed = notRemoved = false; // a file that repeats itself: cannot tell (below)
  } finally {
    fs.closeSync(fd);
  }
  if (removed) {
    finish(j, p);
    return 'completed an interrupted in-place --compress-events from its journal';
  }
  if (notRemoved) {
    undo(j, p);
    return 'undid an interrupted in-place --compress-events (killed before its head was removed; nothing had changed)';
  }
  throw new DbmError(
    'FILE_ERROR',
    `${j.live} changed at its start since an interrupted --compress-events, which cannot tell whether its head was removed`,
    {
      hint: `inspect it: the archives it wrote are ${j.archives.map((a) => a.temp).join(', ')}; remove ${p.journal} when done`,
    },
  );
}
