/** Health of the brain's files: events.jsonl growth and logs due for rotation. */
import fs from 'node:fs';
import path from 'node:path';
import { DbmError } from '../errors.js';
import { hasExtension } from '../util/platform.js';
import { DAY_MS, parseTimestampMs } from '../util/time.js';
import type { EventsHealth, LogsHealth } from './types.js';

const CHUNK = 1 << 20;

export interface EventsOptions {
  readonly path: string;
  readonly timestampField: string;
  readonly compressAfterDays: number;
  readonly now: Date;
  readonly deep: boolean;
}

export function checkEvents(opts: EventsOptions): EventsHealth {
  const cutoffMs = opts.now.getTime() - opts.compressAfterDays * DAY_MS;
  const base = { path: opts.path, cutoff: new Date(cutoffMs).toISOString() };
  let st: fs.Stats;
  try {
    st = fs.statSync(opts.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return {
        ...base,
        exists: false,
        bytes: 0,
        olderLines: 0,
        olderBytes: 0,
        method: 'binary-search',
        malformedLines: null,
      };
    }
    throw new DbmError(
      'FILE_UNREADABLE',
      `events file ${opts.path} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  if (!st.isFile())
    throw new DbmError('FILE_NOT_REGULAR', `events file ${opts.path} is not a regular file`, {
      hint: 'fix events.path in the config',
    });
  let fd: number;
  try {
    fd = fs.openSync(opts.path, 'r');
  } catch (err) {
    throw new DbmError(
      'FILE_UNREADABLE',
      `events file ${opts.path} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      {
        hint: 'check permissions',
      },
    );
  }
  try {
    // Another process appends while we read: work on the size seen now, complete lines only.
    const size = st.size;
    const ts = (line: string): number | null => lineTimestamp(line, opts.timestampField);
    if (opts.deep) {
      let older = 0;
      let olderBytes = 0;
      let malformed = 0;
      forEachLine(fd, 0, size, (line, bytes) => {
        const t = ts(line);
        if (t === null) malformed++;
        else if (t < cutoffMs) {
          older++;
          olderBytes += bytes;
        }
      });
      return {
        ...base,
        exists: true,
        bytes: size,
        olderLines: older,
        olderBytes,
        method: 'full-scan',
        malformedLines: malformed,
      };
    }
    const boundary = firstOffsetAtOrAfter(fd, size, cutoffMs, ts);
    return {
      ...base,
      exists: true,
      bytes: size,
      olderLines: countNewlines(fd, boundary),
      olderBytes: boundary,
      method: 'binary-search',
      malformedLines: null,
    };
  } finally {
    fs.closeSync(fd);
  }
}

function lineTimestamp(line: string, field: string): number | null {
  if (!line.startsWith('{')) return null;
  try {
    const obj = JSON.parse(line) as Record<string, unknown>;
    return obj && typeof obj === 'object' ? parseTimestampMs(obj[field]) : null;
  } catch {
    return null;
  }
}

/** Calls fn for each complete line (terminated by \n) in [start, end). */
function forEachLine(fd: number, start: number, end: number, fn: (line: string, bytes: number) => void): void {
  const buf = Buffer.alloc(CHUNK);
  let carry = Buffer.alloc(0);
  let pos = start;
  while (pos < end) {
    const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, end - pos), pos);
    if (n <= 0) break;
    pos += n;
    const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      fn(data.toString('utf8', from, nl), nl + 1 - from);
      from = nl + 1;
    }
    carry = Buffer.from(data.subarray(from));
  }
}

/** The first complete line in the chunk at `offset` that has a timestamp: [lineStart, timestamp]. */
function probe(fd: number, offset: number, size: number, ts: (l: string) => number | null): [number, number] | null {
  const buf = Buffer.alloc(64 * 1024);
  let pos = offset;
  let skipPartial = offset > 0;
  while (pos < size) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n <= 0) return null;
    let from = 0;
    if (skipPartial) {
      const nl = buf.indexOf(10, 0);
      if (nl === -1 || nl >= n) {
        pos += n;
        continue;
      }
      from = nl + 1;
      skipPartial = false;
    }
    for (let nl = buf.indexOf(10, from); nl !== -1 && nl < n; nl = buf.indexOf(10, from)) {
      const t = ts(buf.toString('utf8', from, nl));
      if (t !== null) return [pos + from, t];
      from = nl + 1;
    }
    if (from === 0) return null; // a line longer than the buffer: give up on this probe
    pos += from;
  }
  return null;
}

/**
 * Byte offset of the first line at or after the cut-off, by binary search over the file:
 * the event log is appended in time order, so this costs O(log size) reads.
 */
function firstOffsetAtOrAfter(fd: number, size: number, cutoffMs: number, ts: (l: string) => number | null): number {
  let lo = 0;
  let hi = size;
  while (hi - lo > 4096) {
    const mid = Math.floor((lo + hi) / 2);
    const p = probe(fd, mid, size, ts);
    if (p === null || p[1] >= cutoffMs) hi = mid;
    else lo = mid;
  }
  // Finish linearly over the last few KB: the first line at or after the cut-off.
  const from = lo === 0 ? 0 : lineStartAfter(fd, lo, size);
  const limit = Math.min(size, hi + 64 * 1024);
  let at = from;
  let boundary = -1;
  forEachLine(fd, from, limit, (line, bytes) => {
    if (boundary === -1) {
      const t = ts(line);
      if (t !== null && t >= cutoffMs) boundary = at;
    }
    at += bytes;
  });
  return boundary === -1 ? at : boundary;
}

function lineStartAfter(fd: number, offset: number, size: number): number {
  const buf = Buffer.alloc(64 * 1024);
  let pos = offset;
  while (pos < size) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n <= 0) break;
    const nl = buf.indexOf(10, 0);
    if (nl !== -1 && nl < n) return pos + nl + 1;
    pos += n;
  }
  return size;
}

function countNewlines(fd: number, end: number): number {
  const buf = Buffer.alloc(CHUNK);
  let pos = 0;
  let lines = 0;
  while (pos < end) {
    const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, end - pos), pos);
    if (n <= 0) break;
    for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
    pos += n;
  }
  return lines;
}

export interface LogsOptions {
  readonly dir: string;
  readonly extension: string;
  readonly rotateAfterDays: number;
  readonly now: Date;
}

export function checkLogs(opts: LogsOptions): LogsHealth {
  let names: string[];
  try {
    names = fs.readdirSync(opts.dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { dir: opts.dir, exists: false, files: 0, eligible: [] };
    throw new DbmError('FILE_UNREADABLE', `logs directory ${opts.dir} cannot be read: ${code}`, {
      hint: 'fix logs.dir in the config',
    });
  }
  const cutoff = opts.now.getTime() - opts.rotateAfterDays * DAY_MS;
  const eligible: Array<LogsHealth['eligible'][number]> = [];
  let files = 0;
  for (const name of names.sort()) {
    if (!hasExtension(name, opts.extension)) continue; // as --rotate-logs matches them (any case on Windows)
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(opts.dir, name)); // symlinks are never rotated
    } catch {
      continue; // removed meanwhile
    }
    if (!st.isFile()) continue;
    files++;
    if (st.mtimeMs < cutoff) {
      const why = `last written ${Math.floor((opts.now.getTime() - st.mtimeMs) / DAY_MS)} days ago`;
      eligible.push({ file: name, bytes: st.size, modified: new Date(st.mtimeMs).toISOString(), why });
    }
  }
  return { dir: opts.dir, exists: true, files, eligible };
}
