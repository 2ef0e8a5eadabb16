import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

describe('progress on a terminal', () => {
  it('shows elapsed time against the estimate while an operation blocks the main thread, and clears the line after', () => {
    const mod = pathToFileURL(path.join(ROOT, 'dist', 'report', 'progress.js')).href;
    const script = `
      const { terminalProgress } = await import(${JSON.stringify(mod)});
      const stop = terminalProgress()('VACUUM tier1', 5);
      const end = Date.now() + 1600;
      while (Date.now() < end) {} // a synchronous operation, as SQLite's are
      stop();
      await new Promise((r) => setTimeout(r, 300));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\rVACUUM tier1: 1 s of about 5 s/);
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
  });
});
