import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, demoBrain, readJson, snapshotTree, tempDir, writeConfig } from './helpers.js';

/** One line on stderr, no stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

function brainWithBrokenTier1(mutate: (tier1Path: string) => void): { config: string; dir: string } {
  const demo = demoBrain();
  const tier1 = path.join(demo.dir, 'tier1', 'conversations.db');
  mutate(tier1);
  return { config: demo.configPath, dir: demo.dir };
}

describe('bad input: one clear line, a documented exit code, nothing changed', () => {
  it('missing config file -> exit 2', () => {
    const dir = tempDir();
    const r = cli(['--config', path.join(dir, 'nope.json'), '--assess']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /config file not found: .*nope\.json/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('invalid JSON -> exit 2', () => {
    const dir = tempDir();
    const p = path.join(dir, 'c.json');
    fs.writeFileSync(p, '{ "databases": { ');
    const r = cli(['--config', p, '--assess']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /is not valid JSON/);
  });

  it('schema violation names the JSON path -> exit 2', () => {
    const dir = tempDir();
    const p = writeConfig(dir, { databases: { a: { path: 'a.db' } }, thresholds: { fragmentationRatio: 5 } });
    const r = cli(['--config', p, '--assess']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /thresholds\.fragmentationRatio: must be between 0 and 1/);
  });

  it('a misspelt key is named, not ignored -> exit 2', () => {
    const dir = tempDir();
    const p = writeConfig(dir, { databases: { a: { path: 'a.db' } }, thresholds: { fragmentationRatoi: 0.3 } });
    const r = cli(['--config', p, '--assess']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /unknown key thresholds\.fragmentationRatoi/);
  });

  it('a wrong type deep inside is named with its path -> exit 2', () => {
    const dir = tempDir();
    const p = writeConfig(dir, { databases: { tier1: { path: 42 } } });
    const r = cli(['--config', p, '--assess']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /databases\.tier1\.path/);
  });

  it('unknown --db name -> exit 2, lists the valid names, prints no report', () => {
    const demo = demoBrain();
    const before = snapshotTree(demo.dir);
    const r = cli(['--config', demo.configPath, '--assess', '--db', 'tier9']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /unknown database "tier9".*tier1, tier2, tier3, state/);
    expect(r.stdout).toBe('');
    expect(snapshotTree(demo.dir)).toEqual(before);
  });

  it('unknown flag -> exit 2', () => {
    const r = cli(['--asess']);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /unknown option '--asess'/);
  });

  it('no action -> exit 2', () => {
    const r = cli([]);
    expect(r.status).toBe(2);
    expectOneLineError(r.stderr, /no action given/);
  });

  it('a database path that does not exist -> exit 3, and no empty database is created', () => {
    const { config, dir } = brainWithBrokenTier1((p) => fs.rmSync(p));
    const before = snapshotTree(dir);
    const r = cli(['--config', config, '--assess', '--db', 'tier1']);
    expect(r.status).toBe(3);
    expectOneLineError(r.stderr, /database tier1 \(.*conversations\.db\) does not exist.*databases\.tier1\.path/);
    expect(fs.existsSync(path.join(dir, 'tier1', 'conversations.db'))).toBe(false);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a file that is not SQLite -> exit 3', () => {
    const { config, dir } = brainWithBrokenTier1((p) => fs.writeFileSync(p, 'hello, I am a text file\n'.repeat(100)));
    const before = snapshotTree(dir);
    const r = cli(['--config', config, '--assess', '--db', 'tier1']);
    expect(r.status).toBe(3);
    expectOneLineError(r.stderr, /is not a SQLite database/);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a truncated database -> exit 3', () => {
    const { config, dir } = brainWithBrokenTier1((p) => {
      const size = fs.statSync(p).size;
      fs.truncateSync(p, Math.floor(size / 2) + 100);
    });
    const before = snapshotTree(dir);
    const r = cli(['--config', config, '--assess', '--db', 'tier1']);
    expect(r.status).toBe(3);
    expectOneLineError(r.stderr, /truncated/);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a database truncated at a page boundary is caught as corrupt -> exit 3', () => {
    const { config, dir } = brainWithBrokenTier1((p) => {
      const size = fs.statSync(p).size;
      fs.truncateSync(p, Math.floor(size / 4096 / 2) * 4096);
    });
    const before = snapshotTree(dir);
    const r = cli(['--config', config, '--assess', '--db', 'tier1']);
    expect(r.status).toBe(3);
    expectOneLineError(r.stderr, /truncated|corrupt/);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a database with garbage in its pages -> exit 3, quick_check reported', () => {
    const { config, dir } = brainWithBrokenTier1((p) => {
      const fd = fs.openSync(p, 'r+');
      const size = fs.statSync(p).size;
      // Overwrite a run of pages in the middle (never page 1) with garbage.
      fs.writeSync(fd, Buffer.alloc(4096 * 8, 0xa5), 0, 4096 * 8, Math.floor(size / 4096 / 2) * 4096);
      fs.closeSync(fd);
    });
    const before = snapshotTree(dir);
    const r = cli(['--config', config, '--assess', '--db', 'tier1', '--json']);
    expect(r.status).toBe(3);
    expectOneLineError(r.stderr, /corrupt/);
    const out = JSON.parse(r.stdout) as { databases: Array<{ status: string; quickCheck?: { status: string } }> };
    const db = out.databases[0]!;
    expect(db.status === 'error' || db.quickCheck?.status === 'failed').toBe(true);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a directory where a database should be -> exit 3', () => {
    const { config, dir } = brainWithBrokenTier1((p) => {
      fs.rmSync(p);
      fs.mkdirSync(p);
    });
    const r = cli(['--config', config, '--assess', '--db', 'tier1']);
    expect(r.status).toBe(3);
    expectOneLineError(r.stderr, /is a directory/);
    expect(fs.readdirSync(path.join(dir, 'tier1', 'conversations.db'))).toEqual([]);
  });

  it('an unreadable database -> exit 3', () => {
    const { config, dir } = brainWithBrokenTier1((p) => fs.chmodSync(p, 0o000));
    // root reads anything: run the CLI as root without the capabilities that bypass file modes.
    const asRoot = process.getuid?.() === 0;
    const r = asRoot
      ? cli(['--config', config, '--assess', '--db', 'tier1'], {
          wrap: [
            'setpriv',
            '--bounding-set',
            '-dac_override,-dac_read_search',
            '--inh-caps',
            '-dac_override,-dac_read_search',
          ],
        })
      : cli(['--config', config, '--assess', '--db', 'tier1']);
    expect(r.status, r.stderr).toBe(3);
    expectOneLineError(r.stderr, /cannot be (read|opened)/);
    fs.chmodSync(path.join(dir, 'tier1', 'conversations.db'), 0o644);
  });

  it('a database held under an exclusive lock -> waits a bounded time, then exit 4', async () => {
    const demo = demoBrain();
    const cfg = readJson(demo.configPath);
    writeConfig(demo.dir, { ...cfg, assess: { busyTimeoutMs: 500 } });
    const db = path.join(demo.dir, 'tier1', 'conversations.db');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
         const db = new D(${JSON.stringify(db)});
         db.pragma('locking_mode = EXCLUSIVE');
         db.exec('BEGIN EXCLUSIVE');
         db.exec('UPDATE sessions SET status = status');
         process.stdout.write('locked\\n');
         setTimeout(() => {}, 30000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d: Buffer) => (String(d).includes('locked') ? resolve() : undefined));
        holder.on('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
      });
      const r = cli(['--config', demo.configPath, '--assess', '--db', 'tier1']);
      expect(r.status).toBe(4);
      expectOneLineError(r.stderr, /locked by another process/);
      expect(r.ms).toBeLessThan(20_000); // bounded: never hangs
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
