/** Starting the real CLI and real application processes as children, and collecting how they ended. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach } from 'vitest';
import { BIN, NOW, ROOT } from './helpers.js';

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DB_MAINTENANCE_NOW: NOW.toISOString(), ...env },
  });
}

export function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr?.on('data', (d: Buffer) => (stderr += String(d)));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const COMMITTER = path.join(ROOT, 'test', 'fixtures', 'committer.mjs');

/** What test/fixtures/committer.mjs committed: every id, the writes that hit their busy timeout, other errors. */
export interface Committed {
  readonly ids: number[];
  readonly busy: number;
  readonly errors: string[];
}

// A committer a failed assertion left running is ended: it would load the machine for every later test.
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

/** An application committing messages into a demo tier1 database as fast as it can (test/fixtures/committer.mjs). */
export function startCommitter(file: string): {
  child: ChildProcess;
  ready: Promise<void>;
  stop: () => Promise<Committed>;
} {
  const child = spawn(process.execPath, [COMMITTER, file, 'messages'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += String(d);
      if (err.includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`committer ended early: ${err}`)));
  });
  const stop = (): Promise<Committed> =>
    new Promise((resolve) => {
      child.once('close', () => resolve(JSON.parse(out) as Committed));
      child.kill('SIGTERM');
    });
  return { child, ready, stop };
}
