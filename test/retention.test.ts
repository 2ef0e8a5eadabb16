import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, NOW, snapshotTree } from './helpers.js';
import { integrityCheck } from './maintenance-helpers.js';
import { allEventLines, ids, miniBrain, sqlite3 } from './retention-helpers.js';

const require = createRequire(import.meta.url);
const DAY = 86_400_000;
const daysAgo = (d: number, extraMs = 0): string => new Date(NOW.getTime() - d * DAY + extraMs).toISOString();

/** Every MATCH of each word returns exactly the rows a scan of the content finds. */
function ftsMatchesContent(file: string, words: readonly string[]): void {
  const db = new Database(file, { readonly: true });
  try {
    for (const w of words) {
      const viaIndex = db
        .prepare(`SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid`)
        .pluck()
        .all(w);
      const viaScan = db
        .prepare(`SELECT id FROM messages WHERE (' ' || content || ' ') LIKE ? ORDER BY id`)
        .pluck()
        .all(`% ${w} %`);
      expect(viaIndex, `MATCH ${w} in ${path.basename(file)}`).toEqual(viaScan);
    }
    db.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`);
  } finally {
    db.close();
  }
}

describe('--archive', () => {
  it('FIFO: with 25 conversations all older than the cut-off, exactly the oldest 5 are archived', () => {
    const b = miniBrain({ started: Array.from({ length: 25 }, (_, i) => daysAgo(100 - i)) });
    const r = cli(['--config', b.config, '--archive']);
    expect(r.status, r.stderr).toBe(0);
    expect(ids(b.archive, 'conversations')).toEqual([1, 2, 3, 4, 5]);
    expect(ids(b.tier1, 'conversations')).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    expect(ids(b.archive, 'messages').length).toBe(15);
    expect(ids(b.tier1, 'messages').length).toBe(60);
    ftsMatchesContent(b.tier1, ['topic1', 'number3', 'number7', 'message']);
    ftsMatchesContent(b.archive, ['topic1', 'number3', 'number7', 'message']);
    expect(integrityCheck(b.tier1)).toBe('ok');
    expect(integrityCheck(b.archive)).toBe('ok');
    // A second run has nothing left to move.
    const again = cli(['--config', b.config, '--archive', '--json']);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout).summary).toEqual({ conversations_archived: 0 });
  });

  it('mixed timestamp formats: exactly the rows older than the cut-off move (cut-off 2026-10-21T12:00:00Z)', () => {
    const cut = Date.parse('2026-10-21T12:00:00Z');
    const sec = (ms: number): number => Math.floor(ms / 1000);
    // [value, older than the cut-off?]
    const cases: Array<[unknown, boolean]> = [
      ['2026-10-21T11:59:59Z', true],
      ['2026-10-21T12:00:01Z', false],
      ['2026-10-21 11:59:59', true],
      ['2026-10-21 12:00:01', false],
      ['2026-10-21T13:59:59+02:00', true],
      ['2026-10-21T14:00:01+02:00', false],
      ['2026-10-21T11:59:59.999Z', true],
      ['2026-10-21T12:00:00.001', false],
      [sec(cut) - 1, true],
      [sec(cut) + 1, false],
      [cut - 1, true],
      [cut + 1, false],
      [String(sec(cut) - 1), true],
      [String(cut + 1), false],
      ['2026-10-21T07:59:59-04:00', true],
      ['not a date', false],
    ];
    const b = miniBrain({
      started: cases.map((c) => c[0]),
      config: { conversations: { database: 'tier1', keepNewest: 0 } },
      messagesPer: 1,
    });
    const r = cli(['--config', b.config, '--archive', '--days', '30']);
    expect(r.status, r.stderr).toBe(0);
    const expected = cases
      .map((c, i) => [i + 1, c[1]] as const)
      .filter(([, old]) => old)
      .map(([id]) => id);
    expect(ids(b.archive, 'conversations')).toEqual(expected);
    expect(ids(b.tier1, 'conversations')).toEqual(cases.map((_, i) => i + 1).filter((id) => !expected.includes(id)));
  });

  it('--dry-run shows exact counts and the archive it would create, and changes nothing', () => {
    const b = miniBrain({ started: Array.from({ length: 30 }, (_, i) => daysAgo(60 - i)) });
    const before = snapshotTree(b.dir);
    const r = cli(['--config', b.config, '--archive', '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshotTree(b.dir)).toEqual(before);
    const item = JSON.parse(r.stdout).items[0];
    expect(item.counts).toMatchObject({ conversations: 10, messages: 30 });
    expect(item.files).toEqual([b.archive]);
    const real = cli(['--config', b.config, '--archive', '--json']);
    expect(JSON.parse(real.stdout).items[0].counts).toMatchObject({ conversations: 10, messages: 30 });
  });

  it('extends the archive when the live schema grew (ADD COLUMN), and restores a conversation', () => {
    const b = miniBrain({ started: Array.from({ length: 24 }, (_, i) => daysAgo(90 - i)) });
    expect(cli(['--config', b.config, '--archive']).status).toBe(0);
    const db = new Database(b.tier1);
    db.exec(`ALTER TABLE messages ADD COLUMN "lang; x" TEXT DEFAULT 'en'`);
    db.prepare(`INSERT INTO conversations(session_id, conversation_id, started_at) VALUES ('s1', 'late', ?)`).run(
      daysAgo(200),
    );
    db.prepare(
      `INSERT INTO messages(conversation_id, role, content, "lang; x", created_at) VALUES (25, 'user', 'bonjour topic9', 'fr', ?)`,
    ).run(daysAgo(200));
    db.close();
    const r = cli(['--config', b.config, '--archive']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('added column(s) messages.lang; x');
    expect(sqlite3(b.archive, `SELECT "lang; x" FROM messages WHERE conversation_id = 25`)).toBe('fr');
    expect(sqlite3(b.archive, `SELECT count(*) FROM messages WHERE "lang; x" = 'en'`)).toBe('12');

    const back = cli(['--config', b.config, '--restore-conversation', '2']);
    expect(back.status, back.stderr).toBe(0);
    expect(ids(b.tier1, 'conversations')).toContain(2);
    expect(ids(b.archive, 'conversations')).not.toContain(2);
    expect(sqlite3(b.tier1, `SELECT count(*) FROM messages WHERE conversation_id = 2`)).toBe('3');
    ftsMatchesContent(b.tier1, ['number1', 'topic1', 'bonjour']);
    ftsMatchesContent(b.archive, ['number1', 'topic1', 'bonjour']);
    const missing = cli(['--config', b.config, '--restore-conversation', '2']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/is not in the archive/);
  });

  it('a live database whose FTS delete trigger is the wrong kind: both indexes are consistent afterwards', () => {
    const b = miniBrain({ started: Array.from({ length: 26 }, (_, i) => daysAgo(90 - i)) });
    const db = new Database(b.tier1);
    db.exec(
      `DROP TRIGGER messages_ad; CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN DELETE FROM messages_fts WHERE rowid = old.id; END;`,
    );
    db.close();
    const r = cli(['--config', b.config, '--archive']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rebuilt the live FTS index "messages_fts"/);
    ftsMatchesContent(b.tier1, ['number1', 'number25', 'topic2']);
    ftsMatchesContent(b.archive, ['number1', 'number25', 'topic2']);
  });

  it('an archive left with a hot journal (a run killed mid-commit) is recovered by SQLite, not called truncated', () => {
    const b = miniBrain({ started: Array.from({ length: 30 }, (_, i) => daysAgo(90 - i)) });
    expect(cli(['--config', b.config, '--archive', '--days', '85']).status).toBe(0);
    expect(ids(b.archive, 'conversations')).toEqual([1, 2, 3, 4, 5]);
    // A writer killed inside a big transaction: the journal holds the original pages.
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
         const db = new D(${JSON.stringify(b.archive)});
         db.pragma('cache_size = 2');
         db.pragma('foreign_keys = OFF');
         db.exec('BEGIN');
         db.exec('CREATE TABLE scratch(x)'); // changes page 1, so the journal holds its original
         const ins = db.prepare("INSERT INTO messages(conversation_id, role, content) VALUES (999999, 'user', ?)");
         for (let i = 0; i < 2000; i++) ins.run('x'.repeat(400));
         process.kill(process.pid, 'SIGKILL');`,
      ],
      { encoding: 'utf8' },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(fs.statSync(`${b.archive}-journal`).size).toBeGreaterThan(0);
    // What a kill mid-commit can leave: page 1 already promises more pages than the file has.
    // The journal holds the original page 1 and size, so the rollback undoes all of it.
    const fd = fs.openSync(b.archive, 'r+');
    const header = Buffer.alloc(100);
    fs.readSync(fd, header, 0, 100, 0);
    const pages = fs.fstatSync(fd).size / 4096;
    header.writeUInt32BE(pages + 4, 28);
    header.writeUInt32BE(header.readUInt32BE(24), 92);
    fs.writeSync(fd, header, 0, 100, 0);
    fs.closeSync(fd);
    const r = cli(['--config', b.config, '--archive']);
    expect(r.status, r.stderr).toBe(0);
    expect(integrityCheck(b.archive)).toBe('ok');
    expect(ids(b.archive, 'conversations')).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(sqlite3(b.archive, 'SELECT count(*) FROM messages WHERE conversation_id = 999999')).toBe('0');
    expect(sqlite3(b.archive, `SELECT count(*) FROM sqlite_schema WHERE name = 'scratch'`)).toBe('0');
    expect([...ids(b.tier1, 'messages'), ...ids(b.archive, 'messages')].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 90 }, (_, i) => i + 1),
    );
  });

  it('an empty archive file (a run killed right after creating it) is used, not refused', () => {
    const b = miniBrain({ started: Array.from({ length: 22 }, (_, i) => daysAgo(90 - i)) });
    fs.writeFileSync(b.archive, '');
    const r = cli(['--config', b.config, '--archive']);
    expect(r.status, r.stderr).toBe(0);
    expect(ids(b.archive, 'conversations')).toEqual([1, 2]);
  });

  it('an archive whose schema cannot take the rows: a clear error (exit 3), nothing moved', () => {
    const b = miniBrain({ started: Array.from({ length: 25 }, (_, i) => daysAgo(90 - i)) });
    const a = new Database(b.archive);
    a.exec(`CREATE TABLE conversations (id INTEGER PRIMARY KEY, must_have TEXT NOT NULL)`);
    a.close();
    const before = {
      live: sqlite3(b.tier1, 'SELECT count(*) FROM messages'),
      archive: snapshotTree(b.dir, (f) => !f.startsWith('conversation_archive')),
    };
    const r = cli(['--config', b.config, '--archive']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/requires column\(s\) "must_have"/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(sqlite3(b.tier1, 'SELECT count(*) FROM messages')).toBe(before.live);
    expect(snapshotTree(b.dir, (f) => !f.startsWith('conversation_archive'))).toEqual(before.archive);
  });
});

describe('--prune-patterns', () => {
  function withPatterns(rows: Array<[number, string | null]>): ReturnType<typeof miniBrain> {
    const b = miniBrain({ started: [] });
    const db = new Database(b.tier2);
    const ins = db.prepare(
      `INSERT INTO patterns(pattern_key, title, content, confidence, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    rows.forEach(([conf, used], i) => ins.run(`k${i}`, `title ${i}`, `content ${i}`, conf, daysAgo(400), used));
    db.prepare(
      `INSERT INTO pattern_relationships(from_id, to_id, relation) VALUES (1, 2, 'rel'), (2, 3, 'rel'), (3, 4, 'rel')`,
    ).run();
    db.close();
    return b;
  }

  it('moves low-confidence unused patterns (NULL = unused) and their relationships to the pattern archive', () => {
    const b = withPatterns([
      [0.1, null],
      [0.2, daysAgo(100)],
      [0.2, daysAgo(10)],
      [0.9, null],
      [0.5, daysAgo(200)],
      [0.29, String(Math.floor((NOW.getTime() - 95 * DAY) / 1000))],
    ]);
    const r = cli(['--config', b.config, '--prune-patterns', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const archive = path.join(b.dir, 'pattern_archive.db');
    expect(ids(b.tier2, 'patterns')).toEqual([3, 4, 5]);
    expect(ids(archive, 'patterns')).toEqual([1, 2, 6]);
    expect(sqlite3(archive, 'SELECT from_id || ">" || to_id FROM pattern_relationships ORDER BY 1')).toBe('1>2\n2>3');
    expect(sqlite3(b.tier2, 'SELECT from_id || ">" || to_id FROM pattern_relationships')).toBe('3>4');
    expect(JSON.parse(r.stdout).summary).toEqual({ patterns_pruned: 3 });
  });

  it('refuses to prune more than maxPruneShare unless --force (exit 7, nothing changed)', () => {
    const b = withPatterns([
      [0.1, null],
      [0.1, null],
      [0.1, null],
      [0.9, null],
    ]);
    const before = snapshotTree(b.dir);
    const r = cli(['--config', b.config, '--prune-patterns']);
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/3 of 4 patterns \(75%\).*--force/);
    expect(snapshotTree(b.dir, (f) => f.startsWith('.db-maintenance'))).toEqual(
      Object.fromEntries(Object.entries(before).filter(([f]) => !f.startsWith('.db-maintenance'))),
    );
    const forced = cli(['--config', b.config, '--prune-patterns', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(ids(b.tier2, 'patterns')).toEqual([4]);
  });
});

describe('--compress-events', () => {
  const ev = (ms: number, i: number): string => JSON.stringify({ timestamp: new Date(ms).toISOString(), type: 'x', i });

  it('moves old lines into archives named after each event month, keeps new and malformed lines, extends an existing month', () => {
    const b = miniBrain({ started: [] });
    const lines = [
      ev(Date.parse('2026-08-31T23:59:59Z'), 1),
      JSON.stringify({ timestamp: Date.parse('2026-09-01T00:00:01Z'), i: 2 }), // unix ms
      JSON.stringify({ timestamp: Math.floor(Date.parse('2026-09-15T10:00:00Z') / 1000), i: 3 }), // unix s
      '{"timestamp": "2026-09-20 10:00:00", "i": 4}',
      'not json at all',
      '{"no_timestamp": true}',
      ev(NOW.getTime() - 2 * DAY, 5),
      ev(Date.parse('2026-09-02T00:00:00Z'), 6), // out of order: still archived
    ];
    fs.writeFileSync(b.events, `${lines.join('\n')}\n`);
    const r = cli(['--config', b.config, '--compress-events', '--days', '7', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(
      fs
        .readdirSync(b.dir)
        .filter((f) => f.endsWith('.gz'))
        .sort(),
    ).toEqual(['events_archive_202608.jsonl.gz', 'events_archive_202609.jsonl.gz']);
    expect(
      execFileSync('gzip', ['-dc', path.join(b.dir, 'events_archive_202609.jsonl.gz')], { encoding: 'utf8' }),
    ).toBe(`${[lines[1], lines[2], lines[3], lines[7]].join('\n')}\n`);
    expect(fs.readFileSync(b.events, 'utf8')).toBe(`${[lines[4], lines[5], lines[6]].join('\n')}\n`);
    expect(JSON.parse(r.stdout).items[0].counts).toEqual({ moved: 5, kept: 3, malformed: 2 });

    // Later: more September lines go into the same archive, extended (two gzip members), still valid.
    fs.appendFileSync(b.events, `${ev(Date.parse('2026-09-03T00:00:00Z'), 7)}\n`);
    expect(cli(['--config', b.config, '--compress-events']).status).toBe(0);
    const sept = execFileSync('gzip', ['-dc', path.join(b.dir, 'events_archive_202609.jsonl.gz')], {
      encoding: 'utf8',
    });
    expect(sept.trim().split('\n')).toHaveLength(5);
    execFileSync('gzip', ['-t', path.join(b.dir, 'events_archive_202609.jsonl.gz')]);
  });

  it('bad input: CRLF, invalid UTF-8, a 10 MB line, a torn last line: every byte kept, no line dropped', () => {
    const b = miniBrain({ started: [] });
    const old = ev(Date.parse('2026-09-01T00:00:00Z'), 1);
    const big = JSON.stringify({ timestamp: '2026-09-02T00:00:00Z', blob: 'x'.repeat(10 * 1024 * 1024) });
    const parts = [
      Buffer.from(`${old}\r\n`),
      Buffer.concat([
        Buffer.from('{"timestamp":"2026-09-01T00:00:00Z","bad":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}\n'),
      ]),
      Buffer.from(`${big}\n`),
      Buffer.from(`${ev(NOW.getTime(), 2)}\n`),
      Buffer.from('{"timestamp":"2026-09-01T00:00:00Z","torn":'),
    ];
    fs.writeFileSync(b.events, Buffer.concat(parts));
    const r = cli(['--config', b.config, '--compress-events']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 line\(s\) without a valid JSON object or timestamp kept/);
    const all = allEventLines(b.dir).sort();
    const expected = [
      `${old}\r`,
      parts[1]!.subarray(0, parts[1]!.length - 1).toString('latin1'),
      big,
      ev(NOW.getTime(), 2),
      '{"timestamp":"2026-09-01T00:00:00Z","torn":',
    ].sort();
    expect(all).toEqual(expected);
    // The torn line is still the last line of the live file (completed with a newline), the invalid UTF-8 line stayed live.
    const live = fs.readFileSync(b.events, 'latin1');
    expect(live.endsWith('"torn":\n')).toBe(true);
    expect(live).toContain('"bad"');
  });

  it('the new live file keeps the mode and owner of the old one (the application must still append)', (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip(); // only root can give a file away
    const b = miniBrain({ started: [] });
    fs.writeFileSync(b.events, `${ev(Date.parse('2026-07-01T00:00:00Z'), 1)}\n${ev(NOW.getTime(), 2)}\n`);
    fs.chmodSync(b.events, 0o640);
    fs.chownSync(b.events, 65534, 65534);
    const r = cli(['--config', b.config, '--compress-events']);
    expect(r.status, r.stderr).toBe(0);
    const st = fs.statSync(b.events);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o640]);
    expect(fs.readFileSync(b.events, 'utf8')).toBe(`${ev(NOW.getTime(), 2)}\n`);
  });

  it('an empty or missing events file is not an error', () => {
    const b = miniBrain({ started: [] });
    expect(cli(['--config', b.config, '--compress-events']).stderr).toMatch(/skipped: no events file/);
    fs.writeFileSync(b.events, '');
    const r = cli(['--config', b.config, '--compress-events']);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(b.events, 'utf8')).toBe('');
  });

  it('--dry-run names the archives it would write and changes nothing', () => {
    const b = miniBrain({ started: [] });
    fs.writeFileSync(b.events, `${ev(Date.parse('2026-07-01T00:00:00Z'), 1)}\n${ev(NOW.getTime(), 2)}\n`);
    const before = snapshotTree(b.dir);
    const r = cli(['--config', b.config, '--compress-events', '--dry-run', '--json']);
    expect(r.status).toBe(0);
    expect(snapshotTree(b.dir)).toEqual(before);
    expect(JSON.parse(r.stdout).items[0].files).toEqual([path.join(b.dir, 'events_archive_202607.jsonl.gz'), b.events]);
  });
});

describe('--rotate-logs', () => {
  const age = (file: string, days: number): void => {
    const t = new Date(NOW.getTime() - days * DAY);
    fs.utimesSync(file, t, t);
  };

  it('gzips old logs to dated names that never collide, removes them, never follows symlinks or leaves the directory', () => {
    const b = miniBrain({ started: [] });
    const outside = path.join(b.dir, 'outside.log');
    fs.writeFileSync(outside, 'outside\n');
    age(outside, 200);
    fs.symlinkSync(outside, path.join(b.logs, 'link.log'));
    fs.writeFileSync(path.join(b.logs, 'old.log'), 'old line\n'.repeat(1000));
    age(path.join(b.logs, 'old.log'), 120);
    fs.writeFileSync(path.join(b.logs, 'new.log'), 'new\n');
    age(path.join(b.logs, 'new.log'), 3);
    const stamp = new Date(NOW.getTime() - 120 * DAY).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    // An earlier archive already has the name this one would get.
    fs.writeFileSync(path.join(b.logs, `old-${stamp}.log.gz`), execFileSync('gzip', ['-c'], { input: 'earlier\n' }));
    const r = cli(['--config', b.config, '--rotate-logs']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(b.logs).sort()).toEqual(
      ['link.log', 'new.log', `old-${stamp}-1.log.gz`, `old-${stamp}.log.gz`].sort(),
    );
    expect(execFileSync('gzip', ['-dc', path.join(b.logs, `old-${stamp}-1.log.gz`)], { encoding: 'utf8' })).toBe(
      'old line\n'.repeat(1000),
    );
    expect(execFileSync('gzip', ['-dc', path.join(b.logs, `old-${stamp}.log.gz`)], { encoding: 'utf8' })).toBe(
      'earlier\n',
    );
    expect(fs.readFileSync(outside, 'utf8')).toBe('outside\n');
    expect(fs.lstatSync(path.join(b.logs, 'link.log')).isSymbolicLink()).toBe(true);
  });

  it('deletes archives older than deleteArchivesAfterDays and beyond keepArchives per log name', () => {
    const b = miniBrain({
      started: [],
      config: { logs: { dir: 'logs', keepArchives: 2, deleteArchivesAfterDays: 365 } },
    });
    const mk = (name: string, days: number): void => {
      fs.writeFileSync(path.join(b.logs, name), execFileSync('gzip', ['-c'], { input: name }));
      age(path.join(b.logs, name), days);
    };
    mk('app-20250101-000000.log.gz', 400);
    mk('app-20260101-000000.log.gz', 300);
    mk('app-20260201-000000.log.gz', 290);
    mk('app-20260301-000000.log.gz', 280);
    mk('db-20260101-000000.log.gz', 300);
    fs.writeFileSync(path.join(b.logs, 'notes.txt.gz'), 'not ours');
    const dry = cli(['--config', b.config, '--rotate-logs', '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout).items[0].removed.map((f: string) => path.basename(f))).toEqual([
      'app-20250101-000000.log.gz',
      'app-20260101-000000.log.gz',
    ]);
    expect(fs.readdirSync(b.logs)).toHaveLength(6);
    expect(cli(['--config', b.config, '--rotate-logs']).status).toBe(0);
    expect(fs.readdirSync(b.logs).sort()).toEqual([
      'app-20260201-000000.log.gz',
      'app-20260301-000000.log.gz',
      'db-20260101-000000.log.gz',
      'notes.txt.gz',
    ]);
  });

  it('a missing logs directory is reported, not an error', () => {
    const b = miniBrain({ started: [] });
    fs.rmSync(b.logs, { recursive: true });
    const r = cli(['--config', b.config, '--rotate-logs']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: ROTATE_LOGS skipped: logs directory .* does not exist/);
  });
});

describe('--enforce-retention', () => {
  it('runs all four under one lock, one summary, recorded in --history; a failing item does not stop the others', () => {
    const b = miniBrain({ started: Array.from({ length: 22 }, (_, i) => daysAgo(90 - i)) });
    fs.writeFileSync(b.events, `${JSON.stringify({ timestamp: '2026-01-01T00:00:00Z' })}\n`);
    fs.writeFileSync(
      path.join(b.tier2),
      'this is not a database, it is text that is long enough to not be a SQLite header at all......',
    );
    const r = cli(['--config', b.config, '--enforce-retention', '--json']);
    expect(r.status).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toEqual({
      conversations_archived: 2,
      events_compressed: 1,
      logs_rotated: 0,
      patterns_pruned: 0,
    });
    expect(report.items.map((i: { status: string }) => i.status)).toEqual(['ok', 'ok', 'ok', 'failed']);
    const h = cli(['--config', b.config, '--history', '--json']);
    const run = JSON.parse(h.stdout).runs[0];
    expect(run.command).toBe('--enforce-retention');
    expect(run.exitCode).toBe(3);
    expect(run.tasks.map((t: { type: string }) => t.type)).toEqual([
      'ARCHIVE_CONVERSATIONS',
      'COMPRESS_EVENTS',
      'ROTATE_LOGS',
      'PRUNE_PATTERNS',
    ]);
  });

  it('usage errors: --days with several items, a bad --days, --force alone, --db', () => {
    const b = miniBrain({ started: [] });
    for (const args of [
      ['--enforce-retention', '--days', '3'],
      ['--archive', '--days', 'soon'],
      ['--archive', '--force'],
      ['--archive', '--db', 'tier1'],
      ['--restore-conversation', '1', '--archive'],
    ]) {
      const r = cli(['--config', b.config, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
