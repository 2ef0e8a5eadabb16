/**
 * The quick part of the bad-input campaign (bench/bad-input.mjs runs all of it, as root and as
 * an unprivileged user): each case against a fresh copy of a demo brain through the real CLI.
 * Nothing of the brain changes, no stack trace, no hang, a documented exit code, every error
 * line names its fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, demoBrain } from './helpers.js';
// @ts-expect-error: a plain ES module of the bench, shared with bench/bad-input.mjs
import { CASES, baseDir, makeTemplate, runCase } from '../bench/bad-input-cases.mjs';

interface Case {
  name: string;
  quick?: boolean;
}
interface Outcome {
  name: string;
  problems: string[];
  code: number | string;
  changed: string[];
  stderr: string;
}

const quick = (CASES as Case[]).filter((c) => c.quick);
const base = baseDir() as string;
const template = makeTemplate(base) as string;
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('bad input, the quick part of the campaign', () => {
  it('has at least 40 cases', () => {
    expect(quick.length).toBeGreaterThanOrEqual(40);
  });

  it('every case: nothing changed, no stack trace, no hang, a documented code, a hint', async () => {
    const outcomes: Outcome[] = [];
    // Two at a time: each case is a CLI process of its own.
    for (let i = 0; i < quick.length; i += 2) {
      outcomes.push(
        ...((await Promise.all(
          quick.slice(i, i + 2).map((c) => runCase(c, { template, base, user: 'root', timeoutMs: 30_000 })),
        )) as Outcome[]),
      );
    }
    const bad = outcomes
      .filter((o) => o.problems.length > 0)
      .map((o) => `${o.name}: ${o.problems.join(', ')} (exit ${o.code}) ${o.changed.join(', ')} :: ${o.stderr}`);
    expect(bad).toEqual([]);
  }, 240_000);
});

describe('one log that cannot be compressed', () => {
  it('is left as it is and the others are rotated: partial (exit 6), one line, never an internal error', () => {
    const demo = demoBrain();
    const logs = path.join(demo.dir, 'logs');
    const before = fs.readdirSync(logs).sort();
    // indexer.log (140 days old) sorts between agent.log and the others: the logs after it must still go.
    const r = cli(['--config', demo.configPath, '--rotate-logs', '--days', '1', '--json'], {
      env: { DB_MAINTENANCE_INJECT: 'fail-at:log-compress:indexer.log' },
    });
    expect(r.status, r.stderr).toBe(6);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    const item = (JSON.parse(r.stdout) as { items: Array<{ status: string; message: string; rowsAffected: number }> })
      .items[0]!;
    expect(item.status).toBe('partial');
    expect(item.message).toMatch(/indexer\.log could not be compressed \(ENOSPC\); left as it is/);
    const after = fs.readdirSync(logs).sort();
    expect(after).toContain('indexer.log');
    expect(after.filter((f) => f.endsWith('.gz')).length).toBe(item.rowsAffected);
    expect(item.rowsAffected).toBeGreaterThanOrEqual(2); // router.log, sync.log: after indexer.log
    expect(before.filter((f) => !after.includes(f))).not.toContain('indexer.log');
  });
});
