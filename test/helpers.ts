import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { generateDemoBrain, type DemoSummary } from '../src/demo/generate.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin', 'db-maintenance.js');
export const NOW = new Date('2026-11-20T12:00:00.000Z');

/**
 * SIGKILL trials per campaign in `npm test` (DBM_CRASH_TRIALS to change it): a sample that keeps
 * the suite near five minutes on the 2-core machine. The campaigns of hundreds of trials are
 * bench/crash.mjs and bench/retention-crash.mjs.
 */
export const CRASH_TRIALS = ((): number => {
  const v = process.env['DBM_CRASH_TRIALS'];
  if (v === undefined || v === '') return 12;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2)
    throw new Error(`DBM_CRASH_TRIALS must be a whole number of at least 2, not '${v}'`);
  return n;
})();

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the test. */
export function tempDir(prefix = 'dbm-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A small demo brain (a few MB) in a temp directory. */
export function demoBrain(opts: { ftsDrift?: boolean; seed?: number; scale?: number } = {}): DemoSummary {
  const dir = path.join(tempDir(), 'brain');
  return generateDemoBrain({
    dir,
    scale: opts.scale ?? 1,
    seed: opts.seed ?? 7,
    now: NOW,
    ftsDrift: opts.ftsDrift ?? false,
  });
}

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the real CLI in a child process with the clock pinned to NOW (optionally under a wrapper command). */
export function cli(
  args: readonly string[],
  opts: SpawnSyncOptions & { env?: NodeJS.ProcessEnv; wrap?: readonly string[] } = {},
): CliResult {
  const t0 = Date.now();
  const [cmd, ...pre] = [...(opts.wrap ?? []), process.execPath];
  const r = spawnSync(cmd!, [...pre, BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    ...opts,
    env: { ...process.env, DB_MAINTENANCE_NOW: NOW.toISOString(), ...opts.env },
  });
  return {
    status: r.status ?? -1,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    ms: Date.now() - t0,
  };
}

/**
 * Every file under dir (recursively) with its size, mtime and content hash. The empty lock file
 * a run leaves beside each database it took the database lock of (`.<db>.dbm-lock`, kept like
 * SQLite's own -shm) is left out: it holds no data.
 */
export function snapshotTree(dir: string, exclude: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const full = path.join(d, name);
      const rel = path.relative(dir, full);
      if (exclude(rel) || name.endsWith('.dbm-lock')) continue;
      const st = fs.statSync(full);
      if (st.isDirectory()) walk(full);
      else
        out[rel] =
          `${st.size}:${st.mtimeMs}:${crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

/** Writes a config file next to the brain and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'maintenance.config.json'): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, JSON.stringify(config, null, 2));
  return p;
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/**
 * Whether uid 65534 (nobody) can run this checkout's CLI: as root, with setpriv, and the
 * checkout not under a directory closed to others (a clone in a `mktemp -d` is out of its reach).
 * Tests that run the tool as nobody skip, with this reason, when it cannot.
 */
export function nobodyCanRunTheTool(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    process.execPath,
    '-e',
    `require('fs').accessSync(${JSON.stringify(BIN)}, require('fs').constants.R_OK)`,
  ]);
  return r.status === 0;
}
