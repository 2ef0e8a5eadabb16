import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION, buildProgram } from '../src/cli.js';
import { ROOT, cli, demoBrain } from './helpers.js';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('cli', () => {
  it('every flag is in --help and documented in the README with an example', () => {
    const flags = buildProgram().options.map((o) => o.long!);
    expect(flags.length).toBeGreaterThan(8);
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    for (const flag of flags) {
      expect(help.stdout, `--help lists ${flag}`).toContain(flag);
      expect(readme, `README documents ${flag}`).toMatch(new RegExp(`\`[^\`\\n]*${flag}[^\`\\n]*\``));
    }
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(cli(['--version']).stdout.trim()).toBe(pkg.version);
  });

  it('every exit code in the README is the one the code uses', async () => {
    const { EXIT } = await import('../src/errors.js');
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`\\|\\s*${code}\\s*\\|`));
  });

  it('--json prints exactly one parseable JSON document with the documented top-level keys', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--assess', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual([
      'version',
      'command',
      'generatedAt',
      'configPath',
      'deep',
      'durationMs',
      'databases',
      'events',
      'logs',
      'retention',
      'tasks',
      'problems',
    ]);
    const tasks = out['tasks'] as Array<Record<string, unknown>>;
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) {
      expect(Object.keys(t)).toEqual(
        expect.arrayContaining(['id', 'type', 'database', 'priority', 'reason', 'estimatedSeconds', 'lastRun']),
      );
    }
    const priorities = tasks.map((t) => t['priority'] as number);
    expect([...priorities].sort()).toEqual(priorities);
  });

  it('logs go to stderr, or to logging.file; stdout carries only the result', () => {
    const demo = demoBrain();
    const verbose = cli(['--config', demo.configPath, '--assess', '--json', '--verbose']);
    expect(verbose.status).toBe(0);
    expect(() => JSON.parse(verbose.stdout)).not.toThrow();
    expect(verbose.stderr).toMatch(/"msg":"assessed database"/);
    const cfg = JSON.parse(fs.readFileSync(demo.configPath, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      demo.configPath,
      JSON.stringify({ ...cfg, logging: { level: 'debug', file: 'logs-of-the-tool/dbm.log' } }),
    );
    const toFile = cli(['--config', demo.configPath, '--assess', '--json']);
    expect(toFile.status).toBe(0);
    expect(toFile.stderr).toBe('');
    const logged = fs
      .readFileSync(path.join(demo.dir, 'logs-of-the-tool', 'dbm.log'), 'utf8')
      .trim()
      .split('\n');
    expect(logged.length).toBeGreaterThanOrEqual(4);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: 20, msg: 'assessed database' });
  });

  it('the human report lists databases and tasks in words', () => {
    const demo = demoBrain({ ftsDrift: true });
    const r = cli(['--config', demo.configPath, '--assess']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DATABASES/);
    expect(r.stdout).toMatch(/REBUILD_FTS\s+tier1/);
    expect(r.stdout).toMatch(/1 critical/);
  });

  it('bad input to --run changes nothing, not even the tool state: unknown --db, --dry-run alone', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--run', '--db', 'tier9']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(demo.dir, '.db-maintenance'))).toBe(false);
    expect(cli(['--config', demo.configPath, '--dry-run']).status).toBe(2);
    expect(cli(['--config', demo.configPath, '--history', '--db', 'tier9']).status).toBe(2);
  });

  it('--deep without --assess, and two actions at once, are usage errors', () => {
    expect(cli(['--deep']).status).toBe(2);
    expect(cli(['--assess', '--init-demo', 'x']).status).toBe(2);
  });

  it('--init-demo refuses a non-empty directory that is not a demo brain, and changes nothing in it', () => {
    const demo = demoBrain();
    const dir = path.dirname(demo.dir);
    fs.writeFileSync(path.join(dir, 'precious.txt'), 'keep me');
    const r = cli(['--init-demo', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not empty and is not a demo brain/);
    expect(fs.readFileSync(path.join(dir, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('--init-demo rejects a bad --scale', () => {
    const r = cli(['--init-demo', '/tmp/never-created-dbm', '--scale', '-3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--scale must be a positive number/);
    expect(fs.existsSync('/tmp/never-created-dbm')).toBe(false);
  });
});
