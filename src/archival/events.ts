/**
 * `--compress-events`: lines of events.jsonl older than the cut-off move into per-month gzip
 * archives (`events_archive_YYYYMM.jsonl.gz`, the month of each event's own timestamp, UTC);
 * newer lines, and lines that are not JSON objects with a parseable timestamp, stay.
 *
 * The application keeps appending (open, write a line, close) while this runs, so the live file
 * is never rewritten in place. The protocol, crash-safe at every step:
 *   1. stream the file once: old lines to temp archives (a month's existing archive is copied
 *      first and extended with new gzip members), kept lines to a temp file N;
 *   2. catch up with lines appended meanwhile (into N), fsync everything;
 *   3. hard-link the live file to `<file>.dbm-old` (its inode stays reachable), then write the
 *      journal `<file>.dbm-journal` (atomically): the commit point;
 *   4. rename N over the live file: new appends go to the new file;
 *   5. rename the temp archives into place;
 *   6. after `events.settleMs`, lines that appenders who opened the old file wrote to it after
 *      step 2 are appended to the new file (recorded in the journal first, so a re-run appends
 *      them exactly once);
 *   7. remove the link and the journal.
 * A run killed before 3 leaves only temp files (removed by the next run); killed after 3, the
 * next run finishes the job from the journal (before 4: it undoes it).
 * Memory is bounded by the read buffer, the gzip chunks in flight and the longest line.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { DbmError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../util/fs-atomic.js';
import { DAY_MS, parseTimestampMs } from '../util/time.js';
import { GzipMemberWriter } from './gzip.js';
import { outcome, type RetentionOutcome, type RetentionRequest } from './types.js';

const READ_BYTES = 1 << 20;
const TMP = '.tmp-';

interface Journal {
  readonly version: 1;
  readonly live: string;
  readonly old: string;
  readonly temp: string;
  readonly copiedUpTo: number;
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
  const file = req.rc.eventsPath;
  const dir = req.rc.config.events.archiveDir;
  return {
    file,
    archiveDir: dir ? path.resolve(req.rc.baseDir, dir) : path.dirname(file),
    journal: `${file}.dbm-journal`,
    old: `${file}.dbm-old`,
  };
}

export function archiveName(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `events_archive_${iso.slice(0, 4)}${iso.slice(5, 7)}.jsonl.gz`;
}

/** Timestamp (ms) of a line, or null when it is not a UTF-8 JSON object with a parseable `field`. */
export function eventTime(line: Buffer, field: string): number | null {
  let i = 0;
  while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
  if (line[i] !== 0x7b /* { */ || !isUtf8(line)) return null;
  try {
    const obj = JSON.parse(line.toString('utf8')) as unknown;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return null;
    return parseTimestampMs((obj as Record<string, unknown>)[field]);
  } catch {
    return null;
  }
}

/**
 * Calls `fn` with each complete line (without its \n) of `fd` from `start` until `end` (or the
 * end of the file as it grows, when `end` is undefined). Returns the offset after the last
 * complete line. Long lines are gathered in pieces, never re-copied per chunk.
 */
async function forEachLine(fd: number, start: number, end: number | undefined, fn: (line: Buffer) => Promise<void> | void): Promise<number> {
  const buf = Buffer.alloc(READ_BYTES);
  let pos = start;
  let lineStart = start;
  let pieces: Buffer[] = [];
  for (;;) {
    const limit = end === undefined ? READ_BYTES : Math.min(READ_BYTES, end - pos);
    if (limit <= 0) break;
    const n = fs.readSync(fd, buf, 0, limit, pos);
    if (n <= 0) break;
    let from = 0;
    for (let nl = buf.indexOf(10, 0); nl !== -1 && nl < n; nl = buf.indexOf(10, from)) {
      const part = buf.subarray(from, nl);
      const line = pieces.length ? Buffer.concat([...pieces, part]) : part;
      pieces = [];
      await fn(line);
      from = nl + 1;
      lineStart = pos + from;
    }
    if (from < n) pieces.push(Buffer.from(buf.subarray(from, n)));
    pos += n;
  }
  return lineStart;
}

class LineSink {
  private readonly fd: number;
  private buf: Buffer[] = [];
  private size = 0;
  constructor(file: string, mode: number) {
    this.fd = fs.openSync(file, 'wx', mode);
  }
  write(line: Buffer): void {
    this.buf.push(Buffer.from(line), NEWLINE);
    this.size += line.length + 1;
    if (this.size >= READ_BYTES) this.flush();
  }
  flush(): void {
    if (!this.size) return;
    const data = Buffer.concat(this.buf, this.size);
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
    this.buf = [];
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
const NEWLINE = Buffer.from('\n');

/** Finishes or undoes a compression a killed run left (call with the run lock held). Returns what it did, or null. */
export function recoverEvents(p: EventsPaths): string | null {
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
    throw new DbmError('DB_ERROR', `the journal ${p.journal} of an interrupted --compress-events cannot be read: ${(err as Error).message}`, {
      hint: 'inspect it: the live file, <file>.dbm-old and the temp archives hold every line; nothing was removed',
    });
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
  drainOld(j, p.journal);
  fs.rmSync(j.old, { force: true });
  fsyncDir(path.dirname(p.file));
  fs.rmSync(p.journal, { force: true });
  removeStrays(p);
  return 'completed an interrupted --compress-events from its journal';
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
        ((n.startsWith(`.${base}${TMP}`) || /^events_archive_\d{6}\.jsonl\.gz/.test(n)) && n.includes(TMP)) ||
        (n.startsWith(`.${base}.dbm-journal.`) && n.endsWith('.tmp'));
      if (ours) {
        fs.rmSync(path.join(dir, n), { force: true });
        removed.push(path.join(dir, n));
      }
    }
  }
  return removed;
}

/**
 * Appends to the live file the lines appenders wrote to the old inode after it was copied.
 * Recorded in the journal before the append, so a re-run can tell whether it already happened.
 */
function drainOld(j: Journal, journalPath: string): number {
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
  if (data.length === 0) return 0;
  // A last line without its newline (a writer died mid-line) is completed, so the next
  // application line does not run into it.
  if (data[data.length - 1] !== 10) data = Buffer.concat([data, NEWLINE]);
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (j.drain && j.drain.sha256 === sha256 && alreadyAppended(j.live, j.drain.liveSizeBefore, data)) return data.length;
  const liveSizeBefore = fs.existsSync(j.live) ? fs.statSync(j.live).size : 0;
  j.drain = { from: j.copiedUpTo, bytes: data.length, sha256, liveSizeBefore };
  writeFileAtomic(journalPath, JSON.stringify(j));
  const out = fs.openSync(j.live, 'a');
  try {
    fs.writeSync(out, data);
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
  return data.length;
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

interface Scan {
  moved: number;
  kept: number;
  malformed: number;
  months: Map<string, number>;
}

export async function compressEvents(req: RetentionRequest): Promise<RetentionOutcome> {
  const cfg = req.rc.config.events;
  const p = eventsPaths(req);
  const days = req.days ?? cfg.compressAfterDays;
  const cutoffMs = req.now.getTime() - days * DAY_MS;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p.file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return outcome('skipped', `no events file at ${p.file}`, 0);
    throw new DbmError('DB_UNREADABLE', `events file ${p.file} cannot be read: ${(err as NodeJS.ErrnoException).code}`, { hint: 'check events.path and permissions' });
  }
  if (!st.isFile()) throw new DbmError('DB_IS_DIRECTORY', `events file ${p.file} is not a regular file`, { hint: 'fix events.path in the config' });
  if (!req.dryRun) {
    const note = recoverEvents(p);
    if (note) req.logger.warn({ file: p.file }, note);
  }
  let fd: number;
  try {
    fd = fs.openSync(p.file, 'r');
  } catch (err) {
    throw new DbmError('DB_UNREADABLE', `events file ${p.file} cannot be read: ${(err as NodeJS.ErrnoException).code}`, { hint: 'check permissions' });
  }
  const scan: Scan = { moved: 0, kept: 0, malformed: 0, months: new Map() };
  const counts = (): Record<string, number> => ({ moved: scan.moved, kept: scan.kept, malformed: scan.malformed });
  const classify = (line: Buffer): string | null => {
    const t = eventTime(line, cfg.timestampField);
    if (t === null) {
      scan.malformed++;
      scan.kept++;
      return null;
    }
    if (t >= cutoffMs) {
      scan.kept++;
      return null;
    }
    scan.moved++;
    const name = archiveName(t);
    scan.months.set(name, (scan.months.get(name) ?? 0) + 1);
    return name;
  };
  const malformedNote = (): string => (scan.malformed ? `; ${scan.malformed} line(s) without a valid JSON object or timestamp kept in the live file` : '');

  if (req.dryRun) {
    try {
      await forEachLine(fd, 0, st.size, (line) => void classify(line));
    } finally {
      fs.closeSync(fd);
    }
    const files = [...scan.months.keys()].sort().map((n) => path.join(p.archiveDir, n));
    return outcome('ok', `would move ${scan.moved} line(s) older than ${new Date(cutoffMs).toISOString().slice(0, 10)} into ${files.length} archive(s), keep ${scan.kept}${malformedNote()}`, scan.moved, {
      counts: counts(),
      files: scan.moved ? [...files, p.file] : [],
    });
  }

  fs.mkdirSync(p.archiveDir, { recursive: true });
  const temp = path.join(path.dirname(p.file), `.${path.basename(p.file)}${TMP}${process.pid}`);
  const sink = new LineSink(temp, st.mode & 0o777);
  const writers = new Map<string, GzipMemberWriter>();
  const writerFor = (name: string): GzipMemberWriter => {
    let w = writers.get(name);
    if (!w) {
      const final = path.join(p.archiveDir, name);
      const tmp = `${final}${TMP}${process.pid}`;
      // Extending a month: a copy of its archive gets the new members, then replaces it by rename.
      if (fs.existsSync(final)) fs.copyFileSync(final, tmp);
      w = new GzipMemberWriter(tmp, cfg.gzipLevel);
      writers.set(name, w);
    }
    return w;
  };
  let committed = false;
  try {
    let copiedUpTo = await forEachLine(fd, 0, undefined, async (line) => {
      const month = classify(line);
      if (month === null) sink.write(line);
      else await writerFor(month).write(Buffer.concat([line, NEWLINE]));
    });
    if (scan.moved === 0) {
      sink.abandon();
      fs.rmSync(temp, { force: true });
      return outcome('ok', `no event lines older than ${new Date(cutoffMs).toISOString().slice(0, 10)}${malformedNote()}`, 0, { counts: counts() });
    }
    for (const w of writers.values()) await w.close();
    // Catch up with the lines appended meanwhile (they are new: they stay).
    copiedUpTo = await forEachLine(fd, copiedUpTo, undefined, (line) => {
      scan.kept++;
      sink.write(line);
    });
    sink.close();
    const archives = [...writers.entries()].map(([name, w]) => ({ temp: w.path, final: path.join(p.archiveDir, name) }));
    fs.rmSync(p.old, { force: true });
    fs.linkSync(p.file, p.old);
    const j: Journal = { version: 1, live: p.file, old: p.old, temp, copiedUpTo, archives };
    writeFileAtomic(p.journal, JSON.stringify(j));
    committed = true;
    fs.renameSync(temp, p.file);
    fsyncDir(path.dirname(p.file));
    for (const a of archives) fs.renameSync(a.temp, a.final);
    fsyncDir(p.archiveDir);
    await new Promise((r) => setTimeout(r, cfg.settleMs));
    const drained = drainOld(j, p.journal);
    fs.rmSync(p.old, { force: true });
    fsyncDir(path.dirname(p.file));
    fs.rmSync(p.journal, { force: true });
    const files = archives.map((a) => a.final);
    return outcome(
      'ok',
      `moved ${scan.moved} line(s) older than ${new Date(cutoffMs).toISOString().slice(0, 10)} into ${files.map((f) => path.basename(f)).join(', ')}; kept ${scan.kept}${malformedNote()}${drained ? `; ${drained} bytes appended during the swap carried over` : ''}`,
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
