/** Shared by the `--init-config` tests: running it, and what every written config must allow. */
import path from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { cli, snapshotTree } from './helpers.js';

export const CONFIG = 'maintenance.config.json';
export const isRoot = process.getuid?.() === 0;
/** Root without the capabilities that bypass file modes: file permissions apply to it. */
export const NO_DAC = [
  'setpriv',
  '--bounding-set',
  '-dac_override,-dac_read_search',
  '--inh-caps',
  '-dac_override,-dac_read_search',
];

export interface Report {
  version: number;
  command: string;
  configPath: string;
  written: boolean;
  config: Record<string, any>;
  evidence: Array<{ part: string; status: string; subject?: string; message: string }>;
}

export function initConfig(dir: string, ...flags: string[]): { report: Report; stderr: string } {
  const r = cli(['--init-config', dir, '--json', ...flags]);
  expect(r.status, r.stderr).toBe(0);
  return { report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

/** The written config loads (zod schema, paths checked) and `--assess` runs on it: exit 0, nothing on stderr. */
export function expectAssessable(dir: string): void {
  const configPath = path.join(dir, CONFIG);
  expect(() => loadConfig(configPath)).not.toThrow();
  const r = cli(['--config', configPath, '--assess', '--json']);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe(''); // no error, and no warning about a part the brain does not have
  expect(JSON.parse(r.stdout).problems).toEqual([]);
}

/** The database path (relative to DIR) a rule's `database` names. */
export const dbPath = (config: Record<string, any>, rule: string): string =>
  config['databases'][config[rule].database].path;

/** Every file under dir, the config excepted, with its size, mtime and hash; and no SQLite side file. */
export function untouched(dir: string): Record<string, string> {
  return snapshotTree(dir, (rel) => rel === CONFIG || rel.startsWith('.db-maintenance'));
}
