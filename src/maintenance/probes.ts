/**
 * The performance probe: configured queries, e.g. an FTS
 * search on tier2, timed before and after a run's maintenance, reported as p50/p95 before ->
 * after. Each probe runs `runs` times after one warm-up, on a connection that cannot write
 * (`query_only`; read-only when a -wal exists): a probe that tries to write is an error of
 * that probe, never a change. A database that cannot be read makes its probes errors; the run
 * goes on.
 */
import type { z } from 'zod';
import type { Brain } from '../config/load.js';
import { databaseNamed } from '../config/select.js';
import type { ProbeSchema } from '../config/schema.js';
import { inspectDatabaseFile, ReadConnection } from '../db/open.js';
import type { ProbeResult, Timing } from './types.js';

export type Probe = z.output<typeof ProbeSchema>;

/** The q-quantile (0..1) of `xs` by the nearest-rank method. */
export function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function timeProbe(brain: Brain, probe: Probe): Timing {
  const target = databaseNamed(brain, probe.database);
  if (!target) throw new Error(`probe "${probe.name}": database "${probe.database}" is not in the config`);
  const conn = new ReadConnection(target, inspectDatabaseFile(target), brain.config.assess.busyTimeoutMs);
  try {
    const stmt = conn.db.prepare(probe.sql);
    if (!stmt.reader) throw new Error(`probe "${probe.name}" is not a query (it returns no rows)`);
    // SQLite's own word: a statement that may write (or a PRAGMA that changes state) is refused
    // before it runs, whatever query_only would let through.
    if (!stmt.readonly) throw new Error(`probe "${probe.name}" is not read-only; a probe only reads (SELECT ...)`);
    let rows = stmt.all(...probe.params).length; // warm-up: the first run pays for the page cache
    const ms: number[] = [];
    for (let i = 0; i < probe.runs; i++) {
      const t0 = process.hrtime.bigint();
      rows = stmt.all(...probe.params).length;
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return { p50Ms: round(quantile(ms, 0.5)), p95Ms: round(quantile(ms, 0.95)), rows };
  } finally {
    conn.close();
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** Times every configured probe; `before` results are passed back in to pair them with `after`. */
export function runProbes(
  brain: Brain,
  phase: 'before' | 'after',
  previous: readonly ProbeResult[] = [],
): ProbeResult[] {
  return brain.config.probes.map((p, i) => {
    const prev = previous[i];
    let timing: Timing | null = null;
    let error: string | null = prev?.error ?? null;
    try {
      timing = timeProbe(brain, p);
    } catch (err) {
      error = `${phase}: ${(err as Error).message}`;
    }
    return phase === 'before'
      ? { name: p.name, database: p.database, before: timing, after: null, error }
      : { name: p.name, database: p.database, before: prev?.before ?? null, after: timing, error };
  });
}
