import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, demoBrain } from './helpers.js';

describe('--quiet', () => {
  it('real actions that succeed print nothing at all: --assess, --run, --scheduled, retention, --history, --doctor', () => {
    const demo = demoBrain();
    const c = ['--config', demo.configPath, '--quiet'];
    for (const action of [
      ['--assess'],
      ['--assess', '--deep'],
      ['--run'],
      ['--vacuum', '--db', 'tier1'],
      ['--scheduled'],
      ['--enforce-retention'],
      ['--rotate-logs'],
      ['--history'],
      ['--doctor'],
    ]) {
      const r = cli([...c, ...action]);
      expect({ action, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
        action,
        status: 0,
        stdout: '',
        stderr: '',
      });
    }
    // ... and they did run: the history has them.
    const history = JSON.parse(cli(['--config', demo.configPath, '--history', '--json']).stdout) as {
      runs: Array<{ command: string; exitCode: number }>;
    };
    expect(history.runs.map((x) => x.command).reverse()).toEqual([
      '--run',
      '--vacuum',
      '--scheduled',
      '--enforce-retention',
      '--rotate-logs',
    ]);
  });

  it('with --json the document is still printed (the report only with --json or at default verbosity)', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--assess', '--quiet', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { command: string }).command).toBe('assess');
    const human = cli(['--config', demo.configPath, '--assess']);
    expect(human.stdout).toMatch(/tier1/);
  });

  it('warnings go, errors stay: a skipped item is silent, a failed task is one error line on stderr (exit 6)', () => {
    const demo = demoBrain();
    fs.rmSync(path.join(demo.dir, 'events.jsonl'));
    const loud = cli(['--config', demo.configPath, '--compress-events']);
    expect(loud.status, loud.stderr).toBe(0);
    expect(loud.stderr).toMatch(/^warning: /m);
    const quiet = cli(['--config', demo.configPath, '--compress-events', '--quiet']);
    expect({ status: quiet.status, stdout: quiet.stdout, stderr: quiet.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
    // A change that fails verification (rows deleted behind its back) is restored: exit 6, said on stderr.
    const failed = cli(['--config', demo.configPath, '--vacuum', '--db', 'tier1', '--quiet'], {
      env: { DB_MAINTENANCE_INJECT: 'after:VACUUM:tier1' },
    });
    expect(failed.status).toBe(6);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^error: VACUUM on tier1 failed: /m);
  });
});
