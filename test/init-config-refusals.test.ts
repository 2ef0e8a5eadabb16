/**
 * `--init-config DIR` where it must refuse, report or write nothing: an existing config,
 * `--dry-run`, a directory without databases, unreadable and damaged databases, symlinks out of
 * DIR; the written file's owner and mode; the database keys.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databaseKeys } from '../src/init-config/keys.js';
import { cli, ROOT, snapshotTree, tempDir } from './helpers.js';
import { seed001Brain, tierPrefixedBrain } from './init-config-fixtures.js';
import { CONFIG, expectAssessable, initConfig, isRoot, NO_DAC, type Report } from './init-config-helpers.js';

describe('--init-config refuses, reports and writes nothing where it must', () => {
  it('never overwrites an existing config: exit 2, one line naming --dry-run, the file unchanged', () => {
    const dir = tempDir();
    tierPrefixedBrain(dir);
    fs.writeFileSync(path.join(dir, CONFIG), '{"databases": {"mine": {"path": "brain.sqlite"}}}\n');
    const before = snapshotTree(dir);
    const r = cli(['--init-config', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^error: .*maintenance\.config\.json already exists: --init-config never overwrites a config \(.*--dry-run.*move the existing one/,
    );
    expect(snapshotTree(dir)).toEqual(before);
    // --dry-run still shows what it would write.
    const d = cli(['--init-config', dir, '--dry-run']);
    expect(d.status, d.stderr).toBe(0);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('--dry-run prints the config and writes nothing', () => {
    const dir = tempDir();
    tierPrefixedBrain(dir);
    const before = snapshotTree(dir);
    const r = cli(['--init-config', dir, '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshotTree(dir)).toEqual(before);
    expect(r.stdout).toMatch(/^--dry-run: nothing written; .*maintenance\.config\.json would be:\n/);
    const json = r.stdout.slice(r.stdout.indexOf('\n') + 1, r.stdout.indexOf('\n}\n') + 2);
    expect(JSON.parse(json)['conversations'].table).toBe('tier1_conversations');
    expect(r.stdout).toMatch(/^conversations: brain\.tier1_conversations \(/m);
    const j = initConfig(dir, '--dry-run');
    expect(j.report.written).toBe(false);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a directory with no SQLite database in it: exit 3, one line, nothing written', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'memory.db'), 'not sqlite');
    fs.mkdirSync(path.join(dir, 'logs'));
    fs.writeFileSync(path.join(dir, 'logs', 'a.log'), 'x\n');
    for (const target of [tempDir(), dir]) {
      const r = cli(['--init-config', target]);
      expect(r.status).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /^error: --init-config: no SQLite database found in .* \(pass the directory that holds the brain's databases; nothing was written\)$/m,
      );
      expect(fs.existsSync(path.join(target, CONFIG))).toBe(false);
    }
  });

  it('a missing DIR or a file: exit 2; with --config or --db: exit 2', () => {
    const dir = tempDir();
    expect(cli(['--init-config', path.join(dir, 'nope')]).status).toBe(2);
    fs.writeFileSync(path.join(dir, 'f'), '');
    const f = cli(['--init-config', path.join(dir, 'f')]);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/^error: --init-config: .*f is not a directory/);
    const c = cli(['--init-config', dir, '--config', 'x.json']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/--init-config takes no --config or --db/);
  });

  // Root, with setpriv dropping the capabilities that bypass file modes (as another user the file would need another owner).
  it.skipIf(!isRoot)('reports an unreadable database and lists the others', () => {
    const dir = tempDir();
    tierPrefixedBrain(dir);
    seed001Brain(path.join(dir, 'old'));
    fs.chmodSync(path.join(dir, 'old', 'sessions.db'), 0o000);
    const r = cli(['--init-config', dir, '--json', '--dry-run'], { wrap: NO_DAC });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: databases: old\/sessions\.db cannot be read \(EACCES\)/);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.config['databases']).toEqual({ brain: { path: 'brain.sqlite' } });
    expect(report.evidence).toContainEqual(
      expect.objectContaining({ part: 'databases', status: 'unreadable', subject: 'old/sessions.db' }),
    );
  });

  // Only root can give a file another owner.
  it.skipIf(!isRoot)('writes the config owned as the brain directory, no more permissive than its databases', () => {
    const dir = tempDir();
    tierPrefixedBrain(dir);
    fs.chmodSync(path.join(dir, 'brain.sqlite'), 0o640);
    fs.chownSync(dir, 65534, 65534);
    initConfig(dir);
    const st = fs.statSync(path.join(dir, CONFIG));
    expect(st.mode & 0o777).toBe(0o640);
    expect([st.uid, st.gid]).toEqual([65534, 65534]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it("skips -wal/-shm files, the tool's state directory and symlinks out of DIR", () => {
    const dir = tempDir();
    tierPrefixedBrain(dir);
    const outside = tempDir();
    seed001Brain(outside);
    fs.symlinkSync(path.join(outside, 'sessions.db'), path.join(dir, 'linked.db'));
    fs.mkdirSync(path.join(dir, '.db-maintenance', 'backups'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'brain.sqlite'), path.join(dir, '.db-maintenance', 'backups', 'brain.sqlite'));
    // A live database has its -wal beside it: read through it, not listed itself.
    const holder = new Database(path.join(dir, 'brain.sqlite'));
    holder.pragma('wal_autocheckpoint = 0');
    holder.prepare("INSERT INTO tier3_snapshots VALUES ('x', 'y', 1)").run();
    try {
      expect(fs.existsSync(path.join(dir, 'brain.sqlite-wal'))).toBe(true);
      const { report } = initConfig(dir, '--dry-run');
      expect(report.config['databases']).toEqual({ brain: { path: 'brain.sqlite' } });
      expect(report.evidence).toContainEqual(
        expect.objectContaining({
          subject: 'linked.db',
          status: 'skipped',
          message: expect.stringMatching(/symlink out of the brain directory/),
        }),
      );
    } finally {
      holder.close();
    }
  });
});

describe('--init-config on damaged databases', () => {
  it('a table that cannot be read is no candidate, a truncated database is reported, neither crashes', () => {
    const dir = tempDir();
    const chat = path.join(dir, 'chat.db');
    const db = new Database(chat);
    db.exec('CREATE TABLE chats (id INTEGER PRIMARY KEY, created_at TEXT, body TEXT)');
    const insert = db.prepare('INSERT INTO chats (created_at, body) VALUES (?, ?)');
    for (let i = 0; i < 2000; i++) insert.run('2026-10-01 10:00:00', 'x'.repeat(200));
    db.close();
    // Pages 3-7 (the table's b-tree) overwritten: the schema on page 1 still reads.
    const fd = fs.openSync(chat, 'r+');
    fs.writeSync(fd, Buffer.alloc(5 * 4096, 0x41), 0, 5 * 4096, 2 * 4096);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(dir, 'trunc.db'), fs.readFileSync(chat).subarray(0, 5000));
    const r = cli(['--init-config', dir, '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.config['databases']).toEqual({ chat: { path: 'chat.db' } });
    expect(report.config['conversations']).toBeUndefined();
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        part: 'conversations',
        status: 'not-found',
        message: expect.stringMatching(/chat\.chats cannot be read/),
      }),
    );
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        status: 'unreadable',
        subject: 'trunc.db',
        message: expect.stringMatching(/is truncated/),
      }),
    );
    expect(r.stderr).toMatch(/^warning: databases: chat\.db: sampling table chats failed: .*is corrupt/m);
    expect(r.stderr).not.toMatch(/^error|internal/m);
  });
});

describe('--init-config never writes a database', () => {
  it('one with a hot journal (a writer killed mid-transaction) is left as it is: exit 3, the line says why', () => {
    const dir = tempDir();
    const file = path.join(dir, 'conv.db');
    // The writer spills its transaction to the file (cache_size 1) and is SIGKILLed before COMMIT.
    const writer = spawnSync(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
         db.exec('CREATE TABLE conversations (id INTEGER PRIMARY KEY, started_at TEXT)');
         for (let i = 0; i < 50; i++) db.prepare('INSERT INTO conversations (started_at) VALUES (?)').run('2026-10-01 10:00:00');
         db.pragma('cache_size = 1'); db.exec('BEGIN');
         for (let i = 0; i < 3000; i++) db.prepare('INSERT INTO conversations (started_at) VALUES (?)').run('x'.repeat(100));
         process.kill(process.pid, 'SIGKILL');`,
      ],
      { cwd: ROOT },
    );
    expect(writer.signal).toBe('SIGKILL');
    expect(fs.statSync(`${file}-journal`).size).toBeGreaterThan(0);
    const before = snapshotTree(dir);
    const r = cli(['--init-config', dir]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^error: --init-config: no SQLite database in .* can be read \(1 could not be\); conv\.db: .*hot journal/,
    );
    // A read-write connection would have rolled the journal back into the file.
    expect(snapshotTree(dir)).toEqual(before);
  });
});

describe('--init-config names and leaves out', () => {
  it('database keys come from file names, unique and valid config names', () => {
    expect(databaseKeys(['tier1/conversations.db', 'tier2/knowledge_graph.db'])).toEqual([
      'conversations',
      'knowledge_graph',
    ]);
    expect(databaseKeys(['a/memory.db', 'b/memory.sqlite', 'Memory.db', 'my brain (2).sqlite3', '.db'])).toEqual([
      'a.memory',
      'b.memory',
      'Memory',
      'my_brain_2',
      'db',
    ]);
    expect(databaseKeys(['x/m.db', 'x.m.db', 'y/x/m.db'])).toEqual(['x.m', 'x.m-2', 'y.x.m']);
    for (const k of databaseKeys(['a b/c:d.db', 'ä.db'])) expect(k).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  it('a brain with neither conversations nor patterns: the config names its databases and leaves both out, saying why', () => {
    const dir = tempDir();
    const db = new Database(path.join(dir, 'context.db'));
    db.exec('CREATE TABLE git_commits (sha TEXT PRIMARY KEY, committed_at INTEGER NOT NULL)');
    db.prepare('INSERT INTO git_commits VALUES (?, ?)').run('abc', 1_790_000_000);
    db.close();
    const { report } = initConfig(dir, '--dry-run');
    expect(Object.keys(report.config).sort()).toEqual(['$schema', 'databases']);
    for (const part of ['conversations', 'patterns', 'events', 'logs'])
      expect(report.evidence).toContainEqual(
        expect.objectContaining({
          part,
          status: 'not-found',
          message: expect.stringMatching(/^not found: .*left out of the config( \(.*\))?$/),
        }),
      );
    // Written, it is a config --assess runs on as it is: the parts left out are not managed.
    initConfig(dir);
    expectAssessable(dir);
  });
});
