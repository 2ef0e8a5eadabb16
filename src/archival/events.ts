/**
 * `--compress-events`: lines of events.jsonl older than the cut-off move into per-month gzip
 * archives (`events_archive_YYYYMM.jsonl.gz`, the month of each event's own timestamp, UTC);
 * newer lines, and lines that are not JSON objects with a parseable timestamp, stay.
 *
 * The application keeps appending while this runs, so the live file is never rewritten in place.
 * Which process holds which file is decided by device and inode (src/util/holders.ts), and a
 * process that cannot be looked at counts as holding it. The protocol, crash-safe at every step:
 *   0. the swap below is for appenders that open, append and close: if some process holds the
 *      live file open for longer than `events.settleMs` (a descriptor kept for its life), the
 *      file is left as it is and the item is skipped, saying who holds it, unless
 *      `events.afterSwapCommand` is set to make the application reopen it after the swap;
 *   1. stream the file once: old lines to temp archives (a month's existing archive is copied
 *      first and extended with new gzip members), kept lines to a temp file N;
 *   2. catch up with lines appended meanwhile (into N), fsync everything; look again (0.);
 *   3. hard-link the live file to `<file>.dbm-old` (its inode stays reachable), then write the
 *      journal `<file>.dbm-journal` (atomically): the commit point;
 *   4. rename N over the live file: new appends go to the new file; run afterSwapCommand;
 *   5. rename the temp archives into place;
 *   6. once no process holds the old inode any more, the lines appenders wrote to it after
 *      step 2 are appended to the new file (recorded in the journal first, so a re-run appends
 *      them exactly once); while it may still be held, only whole lines, and the rest is left
 *      to the next run;
 *   7. remove the link and the journal.
 * A run killed before 3 leaves only temp files (removed by the next run); killed after 3, the
 * next run finishes the job from the journal (before 4: it undoes it).
 * Memory is bounded by the read buffer, the gzip chunks in flight and the longest line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { partRule } from '../config/select.js';
import { DbmError } from '../errors.js';
import { fsyncDir, tempPathFor, writeFileAtomic } from '../util/fs-atomic.js';
import { DAY_MS } from '../util/time.js';
import { lastTimestampMs, scanLine, scanObject } from './json-scan.js';
import {
  countNewlines,
  eventsPaths,
  finishSwap,
  READ_BYTES,
  recoverEvents,
  runAfterSwapCommand,
  writeAll,
  type CarryTo,
  type Journal,
} from './events-swap.js';
import { describeHolders, heldOpen, type Holders } from '../util/holders.js';
import { canRecreate, mkdirLike, originOf } from '../util/ownership.js';
import { killAt } from '../maintenance/inject.js';
import { compressInPlace } from './events-inplace.js';
import { extendArchive, GzipMemberWriter } from './gzip.js';
import { outcome, type RetentionOutcome, type RetentionRequest } from './types.js';
import { renameRetrying } from '../util/platform.js';

export function archiveName(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `events_archive_${iso.slice(0, 4)}${iso.slice(5, 7)}.jsonl.gz`;
}

/** Timestamp (ms) of a line, or null when it is not a UTF-8 JSON object with a parseable `field`. */
export function eventTime(line: Buffer, field: string): number | null {
  if (!isUtf8(line)) return null;
  return scanObject(line, 0, line.length, Buffer.from(field)) ? lastTimestampMs(line) : null;
}

const KEEP = -1;

/** Decides where each line goes; sets `lineEnd` to the offset of the line's \n. */
interface Router {
  lineEnd: number;
  route(data: Buffer, from: number, limit: number, utf8: boolean): number;
}

/**
 * Reads `fd` from `start` to `stop` (or to the end of the file as it grows, when `stop` is
 * undefined) and cuts it into complete lines; `route` says where each line goes (KEEP or an
 * archive slot), and `emit` gets each run of consecutive lines with one destination as a single
 * slice, newlines included (valid only during the call). Returns the offset after the last
 * complete line: a last line without its newline is left where it is.
 */
async function scanRuns(
  fd: number,
  start: number,
  stop: number | undefined,
  route: Router | null,
  emit: (dest: number, slice: Buffer) => Promise<void> | void,
  /** Called with the offset read up to after each read (progress). */
  onRead?: (pos: number) => void,
): Promise<number> {
  // One buffer: the unfinished last line of a read moves to its front, the next read fills the rest.
  let buf = Buffer.allocUnsafe(2 * READ_BYTES);
  let carry = 0;
  let pos = start;
  let done = start;
  for (;;) {
    if (buf.length - carry < READ_BYTES) {
      const bigger = Buffer.allocUnsafe(2 * buf.length); // a very long line
      buf.copy(bigger, 0, 0, carry);
      buf = bigger;
    }
    const limit = stop === undefined ? buf.length - carry : Math.min(buf.length - carry, stop - pos);
    if (limit <= 0) break;
    const n = fs.readSync(fd, buf, carry, limit, pos);
    if (n <= 0) break;
    pos += n;
    onRead?.(pos);
    const size = carry + n;
    const data = buf.subarray(0, size);
    const last = data.lastIndexOf(10);
    if (last === -1) {
      carry = size;
      continue;
    }
    if (route === null) {
      await emit(KEEP, data.subarray(0, last + 1));
    } else {
      const utf8 = isUtf8(data.subarray(0, last + 1));
      let runStart = 0;
      let runDest = Number.NaN;
      for (let from = 0; from <= last;) {
        const dest = route.route(data, from, last + 1, utf8);
        if (dest !== runDest) {
          if (from > runStart) await emit(runDest, data.subarray(runStart, from));
          runStart = from;
          runDest = dest;
        }
        from = route.lineEnd + 1;
      }
      await emit(runDest, data.subarray(runStart, last + 1));
    }
    done = pos - (size - (last + 1));
    carry = size - (last + 1);
    buf.copy(buf, 0, last + 1, size);
  }
  return done;
}

class LineSink {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);
  private size = 0;
  /** Creates `file` with the mode and, when we may, the owner of the file it will replace (the application must still be able to append). */
  constructor(file: string, like: fs.Stats) {
    this.fd = fs.openSync(file, 'wx', like.mode & 0o777);
    try {
      fs.fchmodSync(this.fd, like.mode & 0o777); // the umask narrowed it
      fs.fchownSync(this.fd, like.uid, like.gid);
    } catch {
      // not root: the file is ours, as the original was when we could open it for this
    }
  }
  /** Writes whole lines (newlines included), buffered. */
  write(lines: Buffer): void {
    if (this.size + lines.length > this.buf.length) this.flush();
    if (lines.length >= this.buf.length) {
      writeAll(this.fd, lines);
      return;
    }
    lines.copy(this.buf, this.size);
    this.size += lines.length;
  }
  flush(): void {
    if (!this.size) return;
    writeAll(this.fd, this.buf.subarray(0, this.size));
    this.size = 0;
  }
  close(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
  abandon(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // closed
    }
  }
}
interface Scan {
  moved: number;
  kept: number;
  malformed: number;
}

export async function compressEvents(req: RetentionRequest): Promise<RetentionOutcome> {
  const cfg = partRule(req.brain, 'events');
  const p = eventsPaths(req);
  // Lines written to the swapped-out file go to this month's archive (events-swap.ts).
  const carry: CarryTo = {
    archive: path.join(p.archiveDir, archiveName(req.now.getTime())),
    gzipLevel: cfg.gzipLevel,
    windowMs: cfg.settleMs,
  };
  const days = req.days ?? cfg.compressAfterDays;
  const cutoffMs = req.now.getTime() - days * DAY_MS;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p.file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return outcome('skipped', `no events file at ${p.file}`, 0);
    throw new DbmError(
      'FILE_UNREADABLE',
      `events file ${p.file} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      { hint: 'check events.path and permissions' },
    );
  }
  if (!st.isFile())
    throw new DbmError('FILE_NOT_REGULAR', `events file ${p.file} is not a regular file`, {
      hint: 'fix events.path in the config',
    });
  if (!req.dryRun) {
    const reopen = cfg.afterSwapCommand
      ? (): void => void runAfterSwapCommand(cfg.afterSwapCommand!, p, req.brain.baseDir, req.logger)
      : undefined;
    const note = await recoverEvents(p, carry, reopen);
    if (note) req.logger.warn({ file: p.file }, note);
    if (fs.existsSync(p.journal)) return outcome('partial', note ?? 'an earlier compression is not finished', 0);
  }
  // 0. A descriptor kept open on the live file would go on writing to the swapped-out inode.
  const keptOpen = cfg.afterSwapCommand ? null : await heldOpen(p.file, cfg.settleMs);
  if (keptOpen && !req.dryRun) {
    // Kept open: its head is removed in place where the file system can (events-inplace.ts), else it is left.
    if (keptOpen.nonAppending.length > 0) {
      const who = keptOpen.nonAppending.map((pid) => `pid ${pid}`).join(', ');
      return leftHeld(
        p.file,
        keptOpen,
        `${who} writes it at its own offsets (not O_APPEND), so its head cannot be removed in place either`,
      );
    }
    mkdirLike(p.archiveDir, originOf(path.dirname(p.file)));
    const r = await compressInPlace(
      p,
      cutoffMs,
      cfg.gzipLevel,
      (line) => eventTime(line, cfg.timestampField),
      archiveName,
      req.env,
    );
    if (r.notDone) return leftHeld(p.file, keptOpen, r.notDone);
    return outcome(
      'ok',
      `moved ${r.moved} line(s) older than ${new Date(cutoffMs).toISOString().slice(0, 10)} into ${r.files.map((f) => path.basename(f)).join(', ')}, removing them from the head of the file in place: it is held open by ${describeHolders(keptOpen)}, whose appends go on into the same file`,
      r.moved,
      { counts: { moved: r.moved }, files: [...r.files, p.file] },
    );
  }
  // The swap: a new live file this process cannot give the old one's owner and group could lock the application out.
  if (!canRecreate(st) && !req.dryRun) {
    return outcome(
      'skipped',
      `not compressed: ${p.file} belongs to uid ${st.uid}, gid ${st.gid}, which this user cannot give a new file, so the application could lose access to it; run as root or as its owner`,
      0,
    );
  }
  let fd: number;
  try {
    fd = fs.openSync(p.file, 'r');
  } catch (err) {
    throw new DbmError(
      'FILE_UNREADABLE',
      `events file ${p.file} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      { hint: 'check permissions' },
    );
  }
  const scan: Scan = { moved: 0, kept: 0, malformed: 0 };
  const counts = (): Record<string, number> => ({ moved: scan.moved, kept: scan.kept, malformed: scan.malformed });
  const fieldBytes = Buffer.from(cfg.timestampField);
  // Archive slots by month; the last month seen is cached (lines come in time order).
  const slots: string[] = [];
  let monthFrom = 0;
  let monthTo = -1;
  let monthSlot = -1;
  const route = (data: Buffer, from: number, limit: number, utf8: boolean): number => {
    const nl = scanLine(data, from, limit, fieldBytes);
    let t: number | null = null;
    if (nl >= 0) {
      router.lineEnd = nl;
      if (utf8 || isUtf8(data.subarray(from, nl))) t = lastTimestampMs(data);
    } else {
      router.lineEnd = data.indexOf(10, from);
    }
    if (t === null) {
      scan.malformed++;
      scan.kept++;
      return KEEP;
    }
    if (t >= cutoffMs) {
      scan.kept++;
      return KEEP;
    }
    scan.moved++;
    if (t < monthFrom || t >= monthTo) {
      const d = new Date(t);
      monthFrom = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      monthTo = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      const name = archiveName(t);
      monthSlot = slots.indexOf(name);
      if (monthSlot === -1) monthSlot = slots.push(name) - 1;
    }
    return monthSlot;
  };
  const router: Router = { lineEnd: 0, route };
  const malformedNote = (): string =>
    scan.malformed ? `; ${scan.malformed} line(s) without a valid JSON object or timestamp kept in the live file` : '';

  // Bytes of the file scanned, in MB (KB for a small file; lines are not counted ahead).
  const [unit, per] = st.size >= 10e6 ? ['MB', 1e6] : ['KB', 1e3];
  const scanned = (pos: number): void =>
    req.progress?.count(
      'compress-events',
      Math.round((10 * pos) / per) / 10,
      Math.round((10 * st.size) / per) / 10,
      unit,
    );
  if (req.dryRun) {
    try {
      await scanRuns(fd, 0, st.size, router, () => undefined, scanned);
    } finally {
      fs.closeSync(fd);
    }
    const files = [...slots].sort().map((n) => path.join(p.archiveDir, n));
    const held = keptOpen
      ? `; but it is held open by ${describeHolders(keptOpen)} now, so a run now would remove its old head in place where one of its lines ends on a file-system block boundary, and leave it otherwise`
      : '';
    return outcome(
      'ok',
      `would move ${scan.moved} line(s) older than ${new Date(cutoffMs).toISOString().slice(0, 10)} into ${files.length} archive(s), keep ${scan.kept}${malformedNote()}${held}`,
      scan.moved,
      {
        counts: counts(),
        files: scan.moved ? [...files, p.file] : [],
      },
    );
  }

  const origin = originOf(p.file);
  mkdirLike(p.archiveDir, originOf(path.dirname(p.file)));
  const temp = tempPathFor(p.file, { hidden: true });
  const sink = new LineSink(temp, st);
  const writers = new Map<string, GzipMemberWriter>();
  const writerFor = (name: string): GzipMemberWriter => {
    let w = writers.get(name);
    if (!w) {
      const final = path.join(p.archiveDir, name);
      w = extendArchive(final, tempPathFor(final), cfg.gzipLevel, origin);
      writers.set(name, w);
    }
    return w;
  };
  let committed = false;
  try {
    let copiedUpTo = await scanRuns(
      fd,
      0,
      undefined,
      router,
      async (dest, slice) => {
        if (dest === KEEP) sink.write(slice);
        else await writerFor(slots[dest]!).write(slice);
      },
      scanned,
    );
    if (scan.moved === 0) {
      sink.abandon();
      fs.rmSync(temp, { force: true });
      return outcome(
        'ok',
        `no event lines older than ${new Date(cutoffMs).toISOString().slice(0, 10)}${malformedNote()}`,
        0,
        { counts: counts() },
      );
    }
    for (const w of writers.values()) await w.close();
    // Catch up with the lines appended meanwhile (they are new: they stay).
    copiedUpTo = await scanRuns(fd, copiedUpTo, undefined, null, (_dest, slice) => {
      scan.kept += countNewlines(slice);
      sink.write(slice);
    });
    sink.close();
    const lateHolder = cfg.afterSwapCommand ? null : await heldOpen(p.file, cfg.settleMs);
    if (lateHolder) return leftHeld(p.file, lateHolder); // the temp files go in `finally`
    const archives = [...writers.entries()].map(([name, w]) => ({
      temp: w.path,
      final: path.join(p.archiveDir, name),
    }));
    fs.rmSync(p.old, { force: true });
    fs.linkSync(p.file, p.old);
    const j: Journal = { version: 1, live: p.file, old: p.old, temp, copiedUpTo, archives };
    writeFileAtomic(p.journal, JSON.stringify(j));
    committed = true;
    renameRetrying(temp, p.file);
    fsyncDir(path.dirname(p.file));
    killAt(req.env, 'swap-renamed');
    for (const a of archives) renameRetrying(a.temp, a.final);
    fsyncDir(p.archiveDir);
    const hook = cfg.afterSwapCommand
      ? runAfterSwapCommand(cfg.afterSwapCommand, p, req.brain.baseDir, req.logger)
      : '';
    const { drained, done } = await finishSwap(j, p, carry);
    const files = archives.map((a) => a.final);
    return outcome(
      'ok',
      `moved ${scan.moved} line(s) older than ${new Date(cutoffMs).toISOString().slice(0, 10)} into ${files.map((f) => path.basename(f)).join(', ')}; kept ${scan.kept}${malformedNote()}${hook}${drained ? `; ${drained} bytes written to the previous file during the swap carried over` : ''}${done ? '' : `; the previous file (${p.old}) may still be held open: the next run carries over what is written there`}`,
      scan.moved,
      { counts: counts(), files: [...files, p.file] },
    );
  } finally {
    fs.closeSync(fd);
    if (!committed) {
      sink.abandon();
      for (const w of writers.values()) w.abandon();
      fs.rmSync(temp, { force: true });
      for (const w of writers.values()) fs.rmSync(w.path, { force: true });
    }
  }
}

/** The item when the live file is held open for longer than an open-append-close takes: left as it is. */
function leftHeld(file: string, h: Holders, why?: string): RetentionOutcome {
  return outcome(
    'skipped',
    `not compressed: ${file} is held open by ${describeHolders(h)}, and lines written through a descriptor kept open would go to a swapped-out file${why ? `; ${why}` : ''}; left as it is (set events.afterSwapCommand to a command that makes the application reopen its events file, or run as root so that every process can be looked at)`,
    0,
  );
}
