/**
 * The brain's files for `--init-config`: the events file (a `*.jsonl` whose sampled lines are
 * JSON objects) with its timestamp field (the top-level field that is a time in most of them),
 * and the logs directory (a directory of `*.log` files). Only the first and last 64 KiB of a
 * file are read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeTimes, sampleTimes } from './timestamps.js';

const SAMPLE_BYTES = 64 * 1024;

export interface EventsGuess {
  readonly file: string;
  readonly timestampField: string;
  readonly evidence: string;
}

export interface FileVerdict {
  readonly file: string;
  readonly why: string;
}

/** Complete lines from the head and the tail of `file` (the tail's first, partial line dropped). */
function sampleLines(file: string): string[] {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const size = fs.fstatSync(fd).size;
    const read = (pos: number, len: number): string => {
      const buf = Buffer.alloc(len);
      return buf.toString('utf8', 0, fs.readSync(fd, buf, 0, len, pos));
    };
    const head = read(0, Math.min(size, SAMPLE_BYTES));
    const headLines = head.split('\n');
    if (size > SAMPLE_BYTES) headLines.pop(); // cut mid-line
    if (size <= 2 * SAMPLE_BYTES) {
      const rest = size > SAMPLE_BYTES ? read(SAMPLE_BYTES, size - SAMPLE_BYTES) : '';
      const all = (head + rest).split('\n');
      return all.filter((l) => l.trim() !== '');
    }
    const tail = read(size - SAMPLE_BYTES, SAMPLE_BYTES)
      .split('\n')
      .slice(1);
    return [...headLines, ...tail].filter((l) => l.trim() !== '');
  } finally {
    fs.closeSync(fd);
  }
}

const fieldRank = (f: string): number =>
  ['timestamp', 'ts', 'time', 'created_at', 'at', 'date', 'datetime'].includes(f.toLowerCase()) ? 1 : 0;

/** The events file and its timestamp field, or why each `*.jsonl` is not one. */
export function guessEvents(
  root: string,
  files: readonly string[],
): { guess: EventsGuess | undefined; rejected: FileVerdict[]; others: string[] } {
  const rel = (p: string): string => path.relative(root, p).split(path.sep).join('/');
  const rejected: FileVerdict[] = [];
  const found: Array<EventsGuess & { size: number; named: boolean }> = [];
  for (const file of files) {
    let lines: string[];
    try {
      lines = sampleLines(file);
    } catch (err) {
      rejected.push({ file: rel(file), why: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
      continue;
    }
    const objects: Array<Record<string, unknown>> = [];
    for (const l of lines) {
      try {
        const v: unknown = JSON.parse(l);
        if (v && typeof v === 'object' && !Array.isArray(v)) objects.push(v as Record<string, unknown>);
      } catch {
        // a malformed line: events files have a few
      }
    }
    if (lines.length === 0) {
      rejected.push({ file: rel(file), why: 'is empty: no line to sample' });
      continue;
    }
    if (objects.length * 5 < lines.length * 4) {
      rejected.push({
        file: rel(file),
        why: `only ${objects.length} of ${lines.length} sampled lines are JSON objects`,
      });
      continue;
    }
    const counts = new Map<string, number>();
    for (const o of objects)
      for (const [k, v] of Object.entries(o)) if (sampleTimes([v]).times === 1) counts.set(k, (counts.get(k) ?? 0) + 1);
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1] || fieldRank(b[0]) - fieldRank(a[0]))[0];
    if (!best || best[1] * 2 <= objects.length) {
      rejected.push({
        file: rel(file),
        why: `no top-level field is a time in most of its ${objects.length} sampled JSON lines${best ? ` (${best[0]} in ${best[1]})` : ''}`,
      });
      continue;
    }
    const times = sampleTimes(objects.map((o) => o[best[0]]));
    found.push({
      file: rel(file),
      timestampField: best[0],
      evidence: `${objects.length}/${lines.length} sampled lines are JSON objects; timestamp field "${best[0]}", ${describeTimes({ ...times, sampled: objects.length }, 'lines')}`,
      size: fs.statSync(file).size,
      named: /event/i.test(path.basename(file)),
    });
  }
  found.sort((a, b) => Number(b.named) - Number(a.named) || b.size - a.size);
  const [guess, ...others] = found;
  return {
    guess: guess && { file: guess.file, timestampField: guess.timestampField, evidence: guess.evidence },
    rejected,
    others: others.map((o) => o.file),
  };
}

export interface LogsGuess {
  readonly dir: string;
  readonly extension: string;
  readonly evidence: string;
}

/** The logs directory: named logs (or log) first, then the one with the most `*.log` files. */
export function guessLogs(
  root: string,
  dirs: ReadonlyArray<{ readonly dir: string; readonly logs: number }>,
): { guess: LogsGuess | undefined; others: string[] } {
  const rel = (p: string): string => path.relative(root, p).split(path.sep).join('/') || '.';
  const named = (d: string): boolean => /^logs?$/i.test(path.basename(d));
  const sorted = [...dirs].sort((a, b) => Number(named(b.dir)) - Number(named(a.dir)) || b.logs - a.logs);
  const [best, ...others] = sorted;
  if (!best) return { guess: undefined, others: [] };
  return {
    guess: {
      dir: rel(best.dir),
      extension: '.log',
      evidence: `${best.logs} *.log file${best.logs === 1 ? '' : 's'}${named(best.dir) ? '' : ' (the directory with the most)'}`,
    },
    others: others.map((o) => `${rel(o.dir)} (${o.logs})`),
  };
}
