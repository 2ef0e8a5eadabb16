/**
 * Progress on a terminal (src/report/progress.ts): shown on stderr when it is a TTY, under a
 * real pseudo-terminal (util-linux `script`); never with --json, --quiet, or stderr a pipe.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TIER1_SCHEMA } from '../src/demo/schema.js';
import { progressLine } from '../src/report/progress.js';
import { BIN, cli, NOW, ROOT, tempDir, writeConfig } from './helpers.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI with stderr on a pseudo-terminal (`script`); stdout goes to a file, so what the
 * terminal shows is stderr alone. Returns that, and stdout.
 */
function onTerminal(args: readonly string[]): { status: number; tty: string; stdout: string } {
  const out = path.join(tempDir('dbm-tty-'), 'stdout');
  const cmd = `${sh(process.execPath)} ${sh(BIN)} ${args.map(sh).join(' ')} >${sh(out)}`;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, DB_MAINTENANCE_NOW: NOW.toISOString(), COLUMNS: '200' },
  });
  return { status: r.status ?? -1, tty: r.stdout, stdout: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '' };
}

/** A demo brain made by the CLI (scale 1, a few MB). */
function brain(): string {
  const dir = path.join(tempDir('dbm-progress-'), 'brain');
  const r = cli(['--init-demo', dir, '--scale', '1']);
  expect(r.status, r.stderr).toBe(0);
  return path.join(dir, 'maintenance.config.json');
}

const PROGRESS = /\r[^\r\n]*: [^\r\n]*\x1b\[K/; // a line rewritten in place

describe.skipIf(!hasScript)('progress on a terminal, through a real pseudo-terminal', () => {
  it('--init-demo shows which file it writes and the rows so far, and clears the line before the report', () => {
    const dir = path.join(tempDir('dbm-progress-'), 'brain');
    const r = onTerminal(['--init-demo', dir, '--scale', '1']);
    expect(r.status).toBe(0);
    expect(r.tty).toMatch(/\rinit-demo tier1: 0\/120 conversations \(0%\)\x1b\[K/);
    expect(r.tty).toMatch(/\rinit-demo tier1: 120\/120 conversations \(100%\)\x1b\[K/);
    expect(r.tty).toMatch(/\rinit-demo tier2: \d+\/\d+ patterns/);
    expect(r.tty).toMatch(/\rinit-demo events: \d+\/\d+ lines/);
    expect(r.tty.endsWith('\r\x1b[K')).toBe(true); // the line is cleared at the end
    expect(r.stdout).toMatch(/^demo brain created in /);
  });

  it('--assess --deep names each database as it checks it (n of total)', () => {
    const config = brain();
    const r = onTerminal(['--config', config, '--assess', '--deep']);
    expect(r.status).toBe(0);
    expect(r.tty).toMatch(/\rassess --deep tier1 \(1\/4\): 0 s\x1b\[K/);
    expect(r.tty).toMatch(/\rassess --deep state \(4\/4\): 0 s\x1b\[K/);
    expect(r.tty).toMatch(/\rassess --deep events: 0 s\x1b\[K/);
    expect(r.tty.endsWith('\r\x1b[K')).toBe(true);
    expect(r.stdout).toMatch(/DATABASES/);
  });

  it('a maintenance operation shows the time elapsed against its estimate', () => {
    const config = brain();
    const r = onTerminal(['--config', config, '--vacuum', '--db', 'tier1']);
    expect(r.status).toBe(0);
    expect(r.tty).toMatch(/\rVACUUM tier1: 0 s of about \d+ s\x1b\[K/);
    expect(r.tty.endsWith('\r\x1b[K')).toBe(true);
  });

  it('the retention actions count what they move: archive, prune-patterns, compress-events, rotate-logs', () => {
    const config = brain();
    const r = onTerminal(['--config', config, '--enforce-retention']);
    expect(r.status, r.tty).toBe(0);
    expect(r.tty).toMatch(/\rarchive: counting eligible conversations: 0 s\x1b\[K/);
    expect(r.tty).toMatch(/\rarchive: 0\/(\d+) conversations \(0%\)\x1b\[K/);
    const total = /\rarchive: 0\/(\d+) conversations/.exec(r.tty)![1];
    expect(r.tty).toContain(`\rarchive: ${total}/${total} conversations (100%)\x1b[K`);
    expect(r.tty).toMatch(/\rprune-patterns: (\d+)\/\1 patterns \(100%\)/);
    expect(r.tty).toMatch(/\rcompress-events: [\d.]+\/[\d.]+ KB \(\d+%\)/);
    expect(r.tty).toMatch(/\rrotate-logs: 0\/1 files/);
    expect(r.tty.endsWith('\r\x1b[K')).toBe(true);
  });

  it('--compact-logs counts the rows it deletes', () => {
    const dir = tempDir('dbm-progress-');
    const db = new Database(path.join(dir, 'graph.db'));
    db.exec(`CREATE TABLE "GraphLog" (id INTEGER PRIMARY KEY, op TEXT NOT NULL);
             CREATE TABLE consumers (name TEXT PRIMARY KEY, last_id INTEGER);
             CREATE TABLE conversations (id INTEGER PRIMARY KEY, started_at TEXT);
             CREATE TABLE patterns (id INTEGER PRIMARY KEY, confidence REAL, last_used TEXT)`);
    const ins = db.prepare(`INSERT INTO "GraphLog"(op) VALUES ('upsert')`);
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) ins.run();
    })();
    db.exec(`INSERT INTO consumers VALUES ('indexer', 2500)`);
    db.close();
    const config = writeConfig(dir, {
      databases: { graph: { path: 'graph.db' } },
      conversations: { database: 'graph' },
      patterns: { database: 'graph' },
      compaction: [
        {
          name: 'graphlog',
          database: 'graph',
          table: 'GraphLog',
          idColumn: 'id',
          marginRows: 0,
          batchRows: 1000,
          watermarks: [{ table: 'consumers', column: 'last_id' }],
        },
      ],
    });
    const r = onTerminal(['--config', config, '--compact-logs']);
    expect(r.status, r.tty + r.stdout).toBe(0);
    expect(r.tty).toMatch(/\rcompact-logs graphlog: 2500\/2500 rows \(100%\)\x1b\[K/);
  });

  it('a fleet counts the databases done', () => {
    const dir = tempDir('dbm-fleet-');
    fs.mkdirSync(path.join(dir, 'tenants'));
    for (let i = 0; i < 20; i++) {
      const db = new Database(path.join(dir, 'tenants', `t${i}.db`));
      db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX i ON notes(body);');
      db.close();
    }
    const main = new Database(path.join(dir, 'main.db'));
    main.exec(TIER1_SCHEMA);
    main.close();
    const config = writeConfig(dir, {
      databases: { main: { path: 'main.db' }, tenants: { path: 'tenants/*.db' } },
      conversations: { database: 'main' },
      patterns: {
        database: 'main',
        table: 'learned_patterns',
        confidenceColumn: 'confidence_score',
        lastUsedColumn: 'last_seen',
      },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
      assess: { workers: 2 },
      maintenance: { workers: 2 },
    });
    const r = onTerminal(['--config', config, '--analyze']);
    expect(r.status, r.tty).toBe(0);
    expect(r.tty).toMatch(/\rassess, 2 at a time: 21\/21 databases \(100%\)\x1b\[K/);
    expect(r.tty).toMatch(/\rmaintain, 2 at a time: 0\/21 databases \(0%\)\x1b\[K/);
    expect(r.tty).toMatch(/\rmaintain, 2 at a time: 21\/21 databases \(100%\)\x1b\[K/);
  });

  it('nothing of it with --json or --quiet, on the same terminal', () => {
    const config = brain();
    for (const flag of ['--json', '--quiet']) {
      const demo = onTerminal(['--init-demo', path.join(tempDir('dbm-progress-'), 'b'), '--scale', '1', flag]);
      expect(demo.status).toBe(0);
      expect(demo.tty).not.toMatch(PROGRESS);
      expect(demo.tty).not.toContain('init-demo');
      // One gate (commands/context.ts progressFor) for every command: a ticker and a count each.
      for (const args of [['--vacuum', '--db', 'tier1'], ['--archive']]) {
        const r = onTerminal(['--config', config, ...args, flag]);
        expect(r.tty, `${args.join(' ')} ${flag}`).not.toMatch(PROGRESS);
        expect(r.tty).not.toMatch(/archive:|VACUUM tier1:/);
      }
    }
  });
});

describe('progress never reaches a pipe', () => {
  it('with stderr a pipe (cron, a redirection) the same commands write none of it', () => {
    const dir = path.join(tempDir('dbm-progress-'), 'brain');
    const demo = cli(['--init-demo', dir, '--scale', '1']);
    expect(demo.status).toBe(0);
    expect(demo.stderr).toBe('');
    const config = path.join(dir, 'maintenance.config.json');
    for (const args of [['--assess', '--deep'], ['--vacuum', '--db', 'tier1'], ['--enforce-retention']]) {
      const r = cli(['--config', config, ...args]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/\r|\x1b\[K/);
      expect(r.stderr).not.toMatch(/archive:|VACUUM tier1:|assess --deep/);
    }
  });
});

describe('the progress line', () => {
  it('renders a count with its share, and the time against an estimate, cut to the terminal width', () => {
    const base = { unit: 'conversations', elapsedSeconds: null, estimatedSeconds: null };
    expect(progressLine({ ...base, label: 'archive', done: 1200, total: 5000 }, 80)).toBe(
      '\rarchive: 1200/5000 conversations (24%)\x1b[K',
    );
    expect(progressLine({ ...base, label: 'compress-events', done: 3, total: null, unit: 'MB' }, 80)).toBe(
      '\rcompress-events: 3 MB\x1b[K',
    );
    const t = { label: 'VACUUM tier1', done: null, total: null, unit: '', elapsedSeconds: 12.4, estimatedSeconds: 49 };
    expect(progressLine(t, 80)).toBe('\rVACUUM tier1: 12 s of about 49 s\x1b[K');
    expect(progressLine({ ...t, label: 'x'.repeat(100) }, 40)).toBe(`\r${'x'.repeat(39)}\x1b[K`);
  });

  it('ticks while a synchronous operation blocks the main thread, and not once after it stopped', () => {
    const mod = pathToFileURL(path.join(ROOT, 'dist', 'report', 'progress.js')).href;
    const script = `
      const { terminalProgress } = await import(${JSON.stringify(mod)});
      const p = terminalProgress({ columns: 80 });
      const busy = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };
      const stop = p.during('VACUUM tier1', 5);
      busy(2300); // a synchronous operation, as SQLite's are
      stop();
      process.stderr.write('|after|');
      busy(1500); // the ticker would have ticked again by now
      await new Promise((r) => setTimeout(r, 300));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\rVACUUM tier1: 0 s of about 5 s\x1b\[K/);
    expect(r.stderr).toMatch(/\rVACUUM tier1: [12] s of about 5 s\x1b\[K/);
    expect(r.stderr.endsWith('\r\x1b[K|after|')).toBe(true);
  });

  it('counts are throttled to a few lines a second; the last one (done = total) is always shown', () => {
    const mod = pathToFileURL(path.join(ROOT, 'dist', 'report', 'progress.js')).href;
    const script = `
      const { terminalProgress, UPDATES_PER_SECOND } = await import(${JSON.stringify(mod)});
      const p = terminalProgress({ columns: 80 });
      const end = Date.now() + 1000;
      let i = 0;
      while (Date.now() < end) p.count('archive', ++i, null, 'conversations');
      p.count('archive', 100000, 100000, 'conversations');
      p.end();
      process.stderr.write('|' + UPDATES_PER_SECOND);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\r').filter((l) => l.startsWith('archive:'));
    const perSecond = Number(r.stderr.split('|').at(-1));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(perSecond + 2); // one second of calls, plus the final count
    expect(lines.at(-1)).toBe('archive: 100000/100000 conversations (100%)\x1b[K');
    expect(r.stderr).toMatch(/\r\x1b\[K\|\d+$/);
  });
});
