import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cli, demoBrain, nobodyCanRunTheTool, snapshotTree } from './helpers.js';

type Report = { checks: Array<{ check: string; status: string; detail: string }> };
const status = (r: { stdout: string }, check: string): string | undefined =>
  (JSON.parse(r.stdout) as Report).checks.find((c) => c.check === check)?.status;

describe('--doctor', () => {
  it('a healthy install: every check ok or a warning, exit 0, nothing written', () => {
    const demo = demoBrain();
    const before = snapshotTree(demo.dir);
    const r = cli(['--config', demo.configPath, '--doctor', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.checks.map((c) => c.check)).toEqual([
      'node',
      'sqlite',
      'fts5',
      'dbstat',
      'config',
      'owner',
      'database tier1',
      'database tier2',
      'database tier3',
      'database state',
      'events',
      'logs',
      'stateDir',
      'backupDir',
      'lock',
      'disk',
      'last run',
    ]);
    expect(report.checks.find((c) => c.check === 'sqlite')!.detail).toMatch(
      /better-sqlite3 \d+\.\d+\.\d+, SQLite 3\.\d+/,
    );
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(status(r, 'last run')).toBe('warn'); // none recorded yet
    expect(snapshotTree(demo.dir)).toEqual(before);
  });

  it('what would stop a scheduled run fails the doctor with its exit code: a corrupt database, an invalid config', () => {
    const demo = demoBrain();
    fs.writeFileSync(
      path.join(demo.dir, 'tier3/development_context.db'),
      'not a database at all, just text '.repeat(10),
    );
    const r = cli(['--config', demo.configPath, '--doctor', '--json']);
    expect(r.status).toBe(3);
    expect(status(r, 'database tier3')).toBe('fail');
    expect(status(r, 'database tier1')).toBe('ok');
    expect(r.stderr).toMatch(/^error: database tier3: database tier3 .* is not a SQLite database/m);
    fs.writeFileSync(demo.configPath, '{ "databases": { "x": { "path": 3 } } }');
    const bad = cli(['--config', demo.configPath, '--doctor', '--json']);
    expect(bad.status).toBe(2);
    expect(status(bad, 'config')).toBe('fail');
  });

  it('a lock held by a live process is reported (a run now would exit 5), a dead holder is not', () => {
    const demo = demoBrain();
    const state = path.join(demo.dir, '.db-maintenance');
    fs.mkdirSync(state, { recursive: true });
    const info = { pid: process.pid, host: os.hostname(), startedAt: '2026-11-20T12:00:00Z', command: '--run' };
    fs.writeFileSync(path.join(state, 'run.lock.json'), JSON.stringify(info));
    const held = cli(['--config', demo.configPath, '--doctor', '--json']);
    expect(status(held, 'lock')).toBe('warn');
    expect((JSON.parse(held.stdout) as Report).checks.find((c) => c.check === 'lock')!.detail).toMatch(
      new RegExp(`held by pid ${process.pid}`),
    );
    fs.writeFileSync(path.join(state, 'run.lock.json'), JSON.stringify({ ...info, pid: 2 ** 22 + 12345 }));
    expect(status(cli(['--config', demo.configPath, '--doctor', '--json']), 'lock')).toBe('ok');
  });

  const asRoot = process.getuid?.() === 0;
  const detail = (r: { stdout: string }, check: string): string =>
    (JSON.parse(r.stdout) as Report).checks.find((c) => c.check === check)!.detail;

  it.skipIf(!asRoot)(
    'run as root on a brain owned by another user: a warning (not a failure) naming the owner and how to run as them',
    () => {
      const demo = demoBrain();
      const own = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim();
      fs.chownSync(
        demo.dir,
        Number(own),
        Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim()),
      );
      const r = cli(['--config', demo.configPath, '--doctor', '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(status(r, 'owner')).toBe('warn');
      expect(detail(r, 'owner')).toMatch(
        new RegExp(
          `^running as root \\(uid 0\\) but ${demo.dir} is owned by nobody \\(uid ${own}\\): .*sudo -u nobody `,
        ),
      );
      expect(r.stderr).toBe(''); // a warning is no error line
      fs.chownSync(demo.dir, 0, 0);
      const mine = cli(['--config', demo.configPath, '--doctor', '--json']);
      expect(status(mine, 'owner')).toBe('ok');
      expect(detail(mine, 'owner')).toBe(`running as root, the owner of ${demo.dir}`);
    },
  );

  it.skipIf(!nobodyCanRunTheTool())(
    'run as another user (setpriv to nobody) on a root-owned brain: the owner warning (skipped unless root and nobody can reach this checkout)',
    (ctx) => {
      const demo = demoBrain();
      // nobody must be able to reach the brain: open the temp directories above it for reading.
      for (let d = demo.dir; d !== os.tmpdir() && d !== '/'; d = path.dirname(d)) fs.chmodSync(d, 0o755);
      const wrap = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
      if (spawnSync(wrap[0]!, [...wrap.slice(1), 'true']).status !== 0) return ctx.skip(); // no setpriv here
      const r = cli(['--config', demo.configPath, '--doctor', '--json'], { wrap });
      expect(r.stdout, r.stderr).not.toBe('');
      expect(status(r, 'owner')).toBe('warn');
      expect(detail(r, 'owner')).toMatch(
        new RegExp(`^running as nobody \\(uid \\d+\\) but ${demo.dir} is owned by root \\(uid 0\\): .*sudo -u root `),
      );
    },
  );
});
