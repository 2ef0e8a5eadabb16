/**
 * The quick part of the bad-input campaign (bench/bad-input.mjs runs all of it, as root and as
 * an unprivileged user): each case against a fresh copy of a demo brain through the real CLI.
 * Nothing of the brain changes, no stack trace, no hang, a documented exit code, every error
 * line names its fix.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
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
