// The bad-input campaign (issue 14): misconfigurations and hostile conditions, each run against a
// fresh copy of a demo brain through the real CLI, as root and as an unprivileged user.
// Used by bench/bad-input.mjs (every case) and test/bad-input-campaign.test.ts (the quick ones).
//
// Each case: `setup(dir, cfg)` mutates the brain copy and/or the config object, returns the CLI
// arguments (the config is --config dir/maintenance.config.json unless `noConfig`); `expect` is
// 'refuse' (exit 2-8, one error line with a hint, nothing changed) or 'ok' (exit 0, nothing of
// the brain's data changed unless `changes` says what may). Classified as: clean, data changed,
// stack trace, hang, undocumented code (exit 1, or not 0-8, or a signal), no hint.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'db-maintenance.js');
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const T1 = 'tier1/conversations.db';
const T2 = 'tier2/knowledge_graph.db';
const T3 = 'tier3/development_context.db';
const dbExec = (dir, file, sql) => {
  const db = new Database(path.join(dir, file));
  db.exec(sql);
  db.close();
};
const write = (dir, rel, text) => fs.writeFileSync(path.join(dir, rel), text);
const mkfifo = (p) => spawnSync('mkfifo', [p]);

/** A config change: the case returns the args and sets cfg fields. */
const cfgCase = (name, change, args = ['--run', '--dry-run'], extra = {}) => ({
  name,
  setup: (dir, cfg) => {
    change(cfg, dir);
    return args;
  },
  ...extra,
});

export const CASES = [
  // ---- the config file itself
  {
    name: 'config missing',
    quick: true,
    noConfig: true,
    setup: (dir) => ['--config', path.join(dir, 'nope.json'), '--assess'],
  },
  { name: 'config is a directory', noConfig: true, setup: (dir) => ['--config', dir, '--assess'] },
  {
    name: 'config invalid JSON (trailing comma)',
    quick: true,
    rawConfig: '{ "databases": {}, }',
    setup: () => ['--assess'],
  },
  { name: 'config invalid JSON (truncated)', rawConfig: '{ "databases": { "tier1": ', setup: () => ['--assess'] },
  { name: 'config empty file', rawConfig: '', setup: () => ['--assess'] },
  { name: 'config a JSON array', rawConfig: '[1, 2]', setup: () => ['--assess'] },
  { name: 'config JSON null', rawConfig: 'null', setup: () => ['--assess'] },
  { name: 'config binary garbage', rawConfig: '\u0000\u0001\u00ff garbage', setup: () => ['--assess'] },
  cfgCase('unknown top-level key (typo)', (c) => (c.databasez = c.databases), ['--assess'], { quick: true }),
  cfgCase('unknown nested key', (c) => (c.conversations.archiveAfterDay = 3), ['--assess']),
  cfgCase('path is a number', (c) => (c.databases.tier1.path = 42), ['--assess']),
  cfgCase('archiveAfterDays negative', (c) => (c.conversations.archiveAfterDays = -1), ['--archive', '--dry-run']),
  cfgCase('archiveAfterDays 1e308', (c) => (c.conversations.archiveAfterDays = 1e308), ['--archive'], { quick: true }),
  cfgCase('archiveAfterDays a string', (c) => (c.conversations.archiveAfterDays = '30'), ['--archive']),
  cfgCase('fragmentationRatio 5', (c) => (c.thresholds = { fragmentationRatio: 5 }), ['--run']),
  cfgCase('keepBackups 0', (c) => (c.maintenance = { keepBackups: 0 }), ['--vacuum']),
  cfgCase('database name with a space', (c) => (c.databases['my db'] = { path: 'tier3/x.db' }), ['--assess'], {
    quick: true,
  }),
  cfgCase('database name empty', (c) => (c.databases[''] = { path: 'tier3/x.db' }), ['--assess']),
  cfgCase('no databases', (c) => (c.databases = {}), ['--assess']),
  cfgCase('conversations.database unknown', (c) => (c.conversations.database = 'tier9'), ['--archive']),
  cfgCase('patterns.database unknown', (c) => (c.patterns.database = 'nope'), ['--prune-patterns']),
  cfgCase('schedule.timeZone invalid', (c) => (c.schedule = { timeZone: 'Mars/Olympus' }), ['--scheduled']),
  cfgCase('schedule startHour 25', (c) => (c.schedule = { daily: { startHour: 25 } }), ['--scheduled']),
  cfgCase('maintenance.cacheSizeMiB 100000', (c) => (c.maintenance = { cacheSizeMiB: 100000 }), ['--vacuum']),
  cfgCase('workers 0', (c) => (c.assess = { workers: 0 }), ['--assess']),
  { name: 'config with a // comment', rawConfig: '{\n  // brain\n  "databases": {}\n}', setup: () => ['--assess'] },
  { name: 'config /dev/null', noConfig: true, setup: () => ['--config', '/dev/null', '--assess'] },
  cfgCase('busyTimeoutMs 1e12', (c) => (c.assess = { busyTimeoutMs: 1e12 }), ['--assess'], { quick: true }),
  cfgCase('maintenance.busyTimeoutMs 1e12', (c) => (c.maintenance = { busyTimeoutMs: 1e12 }), [
    '--analyze',
    '--db',
    'tier3',
  ]),
  cfgCase('cacheSizeMiB a string', (c) => (c.maintenance = { cacheSizeMiB: '16' }), ['--vacuum']),
  cfgCase('minConfidence 2', (c) => (c.patterns.minConfidence = 2), ['--prune-patterns']),
  cfgCase('keepNewest -1', (c) => (c.conversations.keepNewest = -1), ['--archive']),
  cfgCase('rotateAfterDays 0', (c) => (c.logs.rotateAfterDays = 0), ['--rotate-logs']),
  cfgCase('events.timestampField empty', (c) => (c.events.timestampField = ''), ['--compress-events']),
  cfgCase('database path empty', (c) => (c.databases.tier3.path = ''), ['--assess']),
  cfgCase('database path with a NUL byte', (c) => (c.databases.tier3.path = 'tier3/x\u0000.db'), ['--assess'], {
    quick: true,
  }),
  cfgCase('stateDir with a NUL byte', (c) => (c.stateDir = 'st\u0000ate'), ['--analyze']),
  cfgCase('events.path /dev/zero', (c) => (c.events.path = '/dev/zero'), ['--compress-events'], { quick: true }),
  cfgCase('events.path /dev/urandom (--assess)', (c) => (c.events.path = '/dev/urandom'), ['--assess']),
  cfgCase('backupDir /dev/null', (c) => (c.maintenance = { backupDir: '/dev/null' }), ['--vacuum', '--db', 'tier3']),
  cfgCase('stateDir /proc/self', (c) => (c.stateDir = '/proc/self/dbm'), ['--analyze', '--db', 'tier3']),
  { name: '--days 1e400', setup: () => ['--archive', '--days', '1e400'] },
  { name: '--restore-conversation empty', setup: () => ['--restore-conversation', ''] },
  // ---- paths that overlap: a typo made as root must never cost data
  cfgCase('conversations.archivePath = a live database', (c) => (c.conversations.archivePath = T2), ['--archive'], {
    quick: true,
  }),
  cfgCase('conversations.archivePath = its own database', (c) => (c.conversations.archivePath = T1), ['--archive']),
  cfgCase(
    'patterns.archivePath = the state database',
    (c) => (c.patterns.archivePath = '.db-maintenance/state.db'),
    ['--prune-patterns'],
    { quick: true },
  ),
  cfgCase('patterns.archivePath = a live database', (c) => (c.patterns.archivePath = T1), [
    '--prune-patterns',
    '--dry-run',
  ]),
  cfgCase(
    'both archives one file',
    (c) => {
      c.conversations.archivePath = 'archive.db';
      c.patterns.archivePath = 'archive.db';
    },
    ['--enforce-retention'],
  ),
  cfgCase('archivePath /dev/null', (c) => (c.conversations.archivePath = '/dev/null'), ['--archive'], { quick: true }),
  cfgCase('archivePath a directory', (c) => (c.conversations.archivePath = 'tier3'), ['--archive']),
  {
    name: 'archivePath through a symlink to a live database',
    setup: (dir, cfg) => {
      fs.symlinkSync(path.join(dir, 'tier2'), path.join(dir, 'link'));
      cfg.conversations.archivePath = 'link/knowledge_graph.db';
      return ['--archive'];
    },
  },
  cfgCase('archivePath = events.jsonl', (c) => (c.conversations.archivePath = 'events.jsonl'), ['--archive']),
  cfgCase(
    'logs over tier3 with extension .db',
    (c) => (c.logs = { dir: 'tier3', extension: '.db', rotateAfterDays: 0 }),
    ['--rotate-logs'],
    { quick: true },
  ),
  cfgCase('logs extension context.db takes a database', (c) => (c.logs = { dir: 'tier3', extension: 'context.db' }), [
    '--rotate-logs',
  ]),
  cfgCase('logs extension -wal', (c) => (c.logs = { dir: 'tier1', extension: '.db-wal' }), ['--rotate-logs']),
  cfgCase('logs extension .gz', (c) => (c.logs = { dir: 'logs', extension: '.gz' }), ['--rotate-logs'], {
    quick: true,
  }),
  cfgCase('logs extension .log.gz', (c) => (c.logs = { dir: 'logs', extension: '.log.gz' }), ['--rotate-logs']),
  cfgCase('logs extension empty', (c) => (c.logs = { dir: 'logs', extension: '' }), ['--rotate-logs']),
  cfgCase('events.path = a database', (c) => (c.events.path = T1), ['--compress-events'], { quick: true }),
  cfgCase('events.path = the config', (c) => (c.events.path = 'maintenance.config.json'), ['--compress-events']),
  cfgCase('logging.file = a database', (c) => (c.logging = { file: T2 }), ['--assess'], { quick: true }),
  cfgCase('logging.file = events.jsonl', (c) => (c.logging = { file: 'events.jsonl' }), ['--assess']),
  cfgCase('logging.file under /proc', (c) => (c.logging = { file: '/proc/self/nope/dbm.log' }), ['--assess'], {
    quick: true,
  }),
  cfgCase('logging.file a directory', (c) => (c.logging = { file: 'logs' }), ['--assess']),
  cfgCase('logging.file /dev/full', (c) => (c.logging = { file: '/dev/full' }), ['--assess']),
  {
    name: 'logging.file under a file',
    setup: (dir, cfg) => {
      write(dir, 'afile', 'x');
      cfg.logging = { file: 'afile/dbm.log' };
      return ['--assess'];
    },
  },
  {
    name: 'stateDir is a file',
    quick: true,
    setup: (dir, cfg) => {
      write(dir, 'statefile', 'x');
      cfg.stateDir = 'statefile';
      return ['--analyze'];
    },
  },
  {
    name: 'stateDir under a file',
    setup: (dir, cfg) => {
      write(dir, 'statefile', 'x');
      cfg.stateDir = 'statefile/sub';
      return ['--history'];
    },
  },
  cfgCase('stateDir holds a brain database', (c) => (c.stateDir = 'tier1'), ['--run']),
  {
    name: 'backupDir is a file',
    setup: (dir, cfg) => {
      write(dir, 'bfile', 'x');
      cfg.maintenance = { backupDir: 'bfile' };
      return ['--vacuum', '--db', 'tier3'];
    },
  },
  {
    name: 'events.archiveDir is a file',
    quick: true,
    setup: (dir, cfg) => {
      write(dir, 'afile', 'x');
      cfg.events.archiveDir = 'afile';
      return ['--compress-events'];
    },
  },
  {
    name: 'logs.dir is a file',
    setup: (dir, cfg) => {
      write(dir, 'lfile', 'x');
      cfg.logs.dir = 'lfile';
      return ['--rotate-logs'];
    },
  },
  // ---- schema mismatches
  cfgCase('keyColumn not unique', (c) => (c.conversations.keyColumn = 'started_at'), ['--archive', '--days', '1'], {
    quick: true,
  }),
  cfgCase('keyColumn missing', (c) => (c.conversations.keyColumn = 'nope'), ['--archive']),
  cfgCase('timestampColumn missing', (c) => (c.conversations.timestampColumn = 'nope'), ['--archive']),
  cfgCase('conversations table missing', (c) => (c.conversations.table = 'nope'), ['--archive']),
  cfgCase('patterns table missing', (c) => (c.patterns.table = 'nope'), ['--prune-patterns']),
  cfgCase('confidenceColumn missing', (c) => (c.patterns.confidenceColumn = 'nope'), ['--prune-patterns']),
  cfgCase('patterns keyColumn not unique', (c) => (c.patterns.keyColumn = 'confidence'), ['--prune-patterns']),
  cfgCase(
    'probe PRAGMA journal_mode=DELETE',
    (c) => (c.probes = [{ name: 'p', database: 'tier1', sql: 'PRAGMA journal_mode=DELETE' }]),
    ['--run'],
    { quick: true },
  ),
  cfgCase(
    'probe INSERT',
    (c) => (c.probes = [{ name: 'p', database: 'tier1', sql: "INSERT INTO conversations(started_at) VALUES ('x')" }]),
    ['--run'],
  ),
  cfgCase(
    'probe that is not SQL',
    (c) => (c.probes = [{ name: 'p', database: 'tier1', sql: 'SELECT FROM WHERE' }]),
    ['--run'],
    { expect: 'ok', changes: 'run' },
  ),
  cfgCase('probe on an unknown database', (c) => (c.probes = [{ name: 'p', database: 'nope', sql: 'SELECT 1' }]), [
    '--run',
  ]),
  cfgCase(
    'compaction table missing',
    (c) =>
      (c.compaction = [
        {
          name: 'j',
          database: 'tier1',
          table: 'nope',
          idColumn: 'id',
          watermarks: [{ table: 'conversations', column: 'id' }],
        },
      ]),
    ['--compact-logs'],
    { quick: true },
  ),
  cfgCase(
    'compaction column missing',
    (c) =>
      (c.compaction = [
        {
          name: 'j',
          database: 'tier1',
          table: 'messages',
          idColumn: 'nope',
          watermarks: [{ table: 'conversations', column: 'id' }],
        },
      ]),
    ['--compact-logs'],
  ),
  // Fails closed by design (a consumer's table may not exist yet): nothing deleted, said why, exit 0.
  cfgCase(
    'compaction watermark table missing',
    (c) =>
      (c.compaction = [
        {
          name: 'j',
          database: 'tier1',
          table: 'messages',
          idColumn: 'id',
          watermarks: [{ table: 'nope', column: 'id' }],
        },
      ]),
    ['--compact-logs'],
    { expect: 'ok' },
  ),
  cfgCase(
    'compaction database unknown',
    (c) =>
      (c.compaction = [
        {
          name: 'j',
          database: 'nope',
          table: 'messages',
          idColumn: 'id',
          watermarks: [{ table: 'conversations', column: 'id' }],
        },
      ]),
    ['--compact-logs'],
  ),
  // ---- timestamps that are no time: never old
  {
    name: "timestamps of digits and dots ('.', '1.2.3', '30.11.2026')",
    quick: true,
    expect: 'ok',
    setup: (dir) => {
      dbExec(
        dir,
        T1,
        "UPDATE conversations SET started_at = CASE id % 3 WHEN 0 THEN '.' WHEN 1 THEN '1.2.3' ELSE '30.11.2026' END",
      );
      return ['--archive', '--days', '1'];
    },
  },
  {
    name: 'julian-day REAL timestamps of today',
    expect: 'ok',
    setup: (dir) => {
      dbExec(dir, T1, "UPDATE conversations SET started_at = julianday('2026-11-20')");
      return ['--archive', '--days', '30'];
    },
  },
  {
    name: 'pattern last_used small integers',
    expect: 'ok',
    setup: (dir) => {
      dbExec(dir, T2, 'UPDATE patterns SET last_used = 5');
      return ['--prune-patterns'];
    },
  },
  // ---- databases that cannot be used
  { name: 'database missing', quick: true, setup: (dir) => (fs.rmSync(path.join(dir, T3)), ['--assess']) },
  {
    name: 'database missing (--vacuum)',
    setup: (dir) => (fs.rmSync(path.join(dir, T3)), ['--vacuum', '--db', 'tier3']),
  },
  {
    name: 'database is a directory',
    setup: (dir) => (fs.rmSync(path.join(dir, T3)), fs.mkdirSync(path.join(dir, T3)), ['--assess']),
  },
  { name: 'database is empty (0 bytes)', setup: (dir) => (write(dir, T3, ''), ['--vacuum', '--db', 'tier3']) },
  // The other databases are maintained: only tier3 is refused (exit 3).
  {
    name: 'database random bytes',
    quick: true,
    setup: (dir) => (fs.writeFileSync(path.join(dir, T3), crypto.randomBytes(8192)), ['--run']),
    changes: 'run',
    keep: [T3],
  },
  {
    name: 'database a text file',
    setup: (dir) => (write(dir, T3, 'hello world\n'.repeat(100)), ['--analyze', '--db', 'tier3']),
  },
  {
    name: 'database truncated to half',
    quick: true,
    setup: (dir) => {
      const f = path.join(dir, T2);
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2 / 4096) * 4096);
      return ['--vacuum', '--db', 'tier2'];
    },
  },
  {
    name: 'corrupt pages behind a valid header (--doctor)',
    quick: true,
    setup: (dir) => {
      corruptPages(path.join(dir, T2));
      return ['--doctor'];
    },
  },
  {
    name: 'corrupt pages behind a valid header (--vacuum)',
    setup: (dir) => {
      corruptPages(path.join(dir, T2));
      return ['--vacuum', '--db', 'tier2'];
    },
  },
  {
    name: 'database a symlink to /dev/null',
    setup: (dir) => (fs.rmSync(path.join(dir, T3)), fs.symlinkSync('/dev/null', path.join(dir, T3)), ['--assess']),
  },
  {
    name: 'database a FIFO',
    setup: (dir) => (fs.rmSync(path.join(dir, T3)), mkfifo(path.join(dir, T3)), ['--assess']),
  },
  {
    name: 'database a FIFO (--vacuum)',
    setup: (dir) => (fs.rmSync(path.join(dir, T3)), mkfifo(path.join(dir, T3)), ['--vacuum', '--db', 'tier3']),
  },
  {
    name: 'WAL file of garbage',
    setup: (dir) => (fs.writeFileSync(path.join(dir, `${T3}-wal`), crypto.randomBytes(4096)), ['--assess']),
    expect: 'ok',
    changes: 'wal',
  },
  {
    name: 'read-only database file (--vacuum)',
    quick: true,
    setup: (dir) => {
      fs.chmodSync(path.join(dir, T3), 0o444);
      return ['--vacuum', '--db', 'tier3'];
    },
    rootExpect: 'ok',
    changes: 'run',
  },
  {
    name: 'read-only directory (--analyze)',
    setup: (dir) => {
      fs.chmodSync(path.join(dir, 'tier3'), 0o555);
      return ['--analyze', '--db', 'tier3'];
    },
    rootExpect: 'ok',
    changes: 'run',
  },
  {
    name: 'unreadable database (000)',
    setup: (dir) => {
      fs.chmodSync(path.join(dir, T3), 0o000);
      return ['--assess', '--db', 'tier3'];
    },
    rootExpect: 'ok',
  },
  {
    name: 'a 0444 WAL database (--assess)',
    quick: true,
    setup: (dir) => {
      fs.chmodSync(path.join(dir, T3), 0o444);
      return ['--assess', '--db', 'tier3'];
    },
    rootExpect: 'ok',
  },
  {
    name: 'rollback-journal database with a hot journal (--assess)',
    quick: true,
    setup: (dir) => {
      hotJournal(path.join(dir, T3));
      return ['--assess', '--db', 'tier3'];
    },
  },
  // ---- the state database
  {
    name: 'state.db random bytes (--scheduled)',
    quick: true,
    setup: (dir) => (stateFile(dir, crypto.randomBytes(8192)), ['--scheduled', '--json']),
  },
  {
    name: 'state.db random bytes (--history)',
    setup: (dir) => (stateFile(dir, crypto.randomBytes(8192)), ['--history']),
  },
  {
    name: 'state.db random bytes (--doctor)',
    quick: true,
    setup: (dir) => (stateFile(dir, crypto.randomBytes(8192)), ['--doctor']),
  },
  {
    name: 'state.db random bytes (metrics)',
    setup: (dir) => (
      stateFile(dir, crypto.randomBytes(8192)),
      ['--history', '--metrics-file', path.join(dir, 'm.prom')]
    ),
  },
  {
    name: 'state.db a directory (--run)',
    quick: true,
    setup: (dir) => (fs.mkdirSync(path.join(dir, '.db-maintenance', 'state.db'), { recursive: true }), ['--run']),
  },
  {
    name: 'state.db empty file (--history)',
    setup: (dir) => (stateFile(dir, Buffer.alloc(0)), ['--history']),
    expect: 'ok',
    changes: 'state',
  },
  {
    name: 'state.db from a future version (--run)',
    quick: true,
    setup: (dir) => {
      fs.mkdirSync(path.join(dir, '.db-maintenance'), { recursive: true });
      const db = new Database(path.join(dir, '.db-maintenance', 'state.db'));
      db.pragma('user_version = 99');
      db.close();
      return ['--run'];
    },
  },
  {
    name: 'state.db corrupt pages (--history)',
    setup: (dir) => {
      spawnSync(process.execPath, [BIN, '--config', path.join(dir, 'maintenance.config.json'), '--analyze'], {
        encoding: 'utf8',
      });
      corruptPages(path.join(dir, '.db-maintenance', 'state.db'));
      return ['--history'];
    },
  },
  // ---- the command line
  { name: 'unknown flag', quick: true, setup: () => ['--assess', '--vaccum'] },
  { name: 'two actions', setup: () => ['--assess', '--run'] },
  { name: '--days -5', setup: () => ['--archive', '--days', '-5'] },
  { name: '--days abc', setup: () => ['--archive', '--days', 'abc'] },
  { name: '--days without a retention action', setup: () => ['--run', '--days', '3'] },
  { name: '--db unknown', quick: true, setup: () => ['--assess', '--db', 'tier9'] },
  { name: '--db empty', setup: () => ['--assess', '--db', ''] },
  { name: '--restore-conversation with no archive yet', setup: () => ['--restore-conversation', '1'] },
  { name: '--restore-conversation of a huge id', setup: () => ['--restore-conversation', '99999999999999999999'] },
  { name: '--print-schedule bogus', setup: () => ['--print-schedule', 'bogus'] },
  {
    name: '--init-demo --scale 0',
    noConfig: true,
    setup: (dir) => ['--init-demo', path.join(dir, 'new'), '--scale', '0'],
  },
  {
    name: '--init-demo under a file',
    quick: true,
    noConfig: true,
    setup: (dir) => (write(dir, 'afile', 'x'), ['--init-demo', path.join(dir, 'afile', 'demo')]),
  },
  {
    name: '--init-demo into a non-demo directory',
    noConfig: true,
    setup: (dir) => ['--init-demo', path.join(dir, 'tier1')],
  },
  { name: '--metrics-file /dev/null', quick: true, setup: () => ['--assess', '--metrics-file', '/dev/null'] },
  { name: '--metrics-file /dev/full', setup: () => ['--assess', '--metrics-file', '/dev/full'] },
  {
    name: '--metrics-file a database',
    quick: true,
    setup: (dir) => ['--assess', '--metrics-file', path.join(dir, T1)],
  },
  { name: '--metrics-file a directory', setup: (dir) => ['--assess', '--metrics-file', path.join(dir, 'logs')] },
  {
    name: '--metrics-file in a missing directory',
    setup: (dir) => ['--assess', '--metrics-file', path.join(dir, 'nope', 'm.prom')],
  },
  {
    name: '--metrics-file a symlink',
    setup: (dir) => (
      fs.symlinkSync(path.join(dir, 'events.jsonl'), path.join(dir, 'm.prom')),
      ['--assess', '--metrics-file', path.join(dir, 'm.prom')]
    ),
  },
  {
    name: '--metrics-file a log of the application',
    setup: (dir) => ['--assess', '--metrics-file', path.join(dir, 'logs', 'app.log')],
  },
  cfgCase('backupDir beside the databases', (c) => (c.maintenance = { backupDir: 'tier1' }), [
    '--vacuum',
    '--db',
    'tier1',
  ]),
  {
    name: '--metrics-file the events file',
    setup: (dir) => ['--assess', '--metrics-file', path.join(dir, 'events.jsonl')],
  },
  { name: '--metrics-file with --doctor', setup: (dir) => ['--doctor', '--metrics-file', path.join(dir, 'm.prom')] },
  { name: '--dry-run alone', setup: () => ['--dry-run'] },
  { name: '--force without prune', setup: () => ['--vacuum', '--force'] },
  { name: '--deep with --history', setup: () => ['--history', '--deep'] },
  { name: 'stdout /dev/full (--history)', quick: true, stdout: '/dev/full', setup: () => ['--history'] },
  { name: 'stdout /dev/full (--assess --json)', stdout: '/dev/full', setup: () => ['--assess', '--json'] },
  {
    name: 'stdout closed by its reader (--assess --json)',
    quick: true,
    stdout: 'epipe',
    setup: () => ['--assess', '--json'],
  },
  { name: 'stdout closed by its reader (--help)', stdout: 'epipe', noConfig: true, setup: () => ['--help'] },
  // ---- the files: events and logs
  {
    name: 'events.jsonl a directory',
    quick: true,
    setup: (dir) => (
      fs.rmSync(path.join(dir, 'events.jsonl')),
      fs.mkdirSync(path.join(dir, 'events.jsonl')),
      ['--compress-events']
    ),
  },
  {
    name: 'events.jsonl a directory (--doctor)',
    setup: (dir) => (
      fs.rmSync(path.join(dir, 'events.jsonl')),
      fs.mkdirSync(path.join(dir, 'events.jsonl')),
      ['--doctor']
    ),
  },
  {
    name: 'events.jsonl a FIFO',
    quick: true,
    setup: (dir) => (
      fs.rmSync(path.join(dir, 'events.jsonl')),
      mkfifo(path.join(dir, 'events.jsonl')),
      ['--compress-events']
    ),
  },
  {
    name: 'events.jsonl a FIFO (--doctor)',
    setup: (dir) => (fs.rmSync(path.join(dir, 'events.jsonl')), mkfifo(path.join(dir, 'events.jsonl')), ['--doctor']),
  },
  {
    name: 'events.jsonl a symlink',
    setup: (dir) => {
      fs.renameSync(path.join(dir, 'events.jsonl'), path.join(dir, 'real.jsonl'));
      fs.symlinkSync(path.join(dir, 'real.jsonl'), path.join(dir, 'events.jsonl'));
      return ['--compress-events'];
    },
  },
  {
    name: 'events.jsonl a symlink (--doctor)',
    setup: (dir) => {
      fs.renameSync(path.join(dir, 'events.jsonl'), path.join(dir, 'real.jsonl'));
      fs.symlinkSync(path.join(dir, 'real.jsonl'), path.join(dir, 'events.jsonl'));
      return ['--doctor'];
    },
  },
  {
    name: 'events.jsonl binary garbage',
    setup: (dir) => (
      fs.writeFileSync(path.join(dir, 'events.jsonl'), crypto.randomBytes(20000)),
      ['--compress-events']
    ),
    expect: 'ok',
  },
  {
    name: 'events.jsonl one 10 MB line',
    setup: (dir) => (
      write(dir, 'events.jsonl', `{"timestamp":"2020-01-01T00:00:00Z","x":"${'a'.repeat(10_000_000)}"}\n`),
      ['--compress-events']
    ),
    expect: 'ok',
    changes: 'events',
  },
  {
    name: 'logs.dir a file (--doctor)',
    setup: (dir) => (fs.rmSync(path.join(dir, 'logs'), { recursive: true }), write(dir, 'logs', 'x'), ['--doctor']),
  },
  {
    name: 'one unreadable log among old ones',
    setup: (dir) => {
      fs.chmodSync(path.join(dir, 'logs', 'indexer.log'), 0o000);
      return ['--rotate-logs', '--days', '1'];
    },
    expect: 'partial',
    changes: 'logs',
  },
  {
    name: 'a log symlinked to a database',
    quick: true,
    setup: (dir) => {
      fs.symlinkSync(path.join(dir, T1), path.join(dir, 'logs', 'tier1.log'));
      fs.lutimesSync(path.join(dir, 'logs', 'tier1.log'), new Date('2020-01-01'), new Date('2020-01-01'));
      return ['--rotate-logs', '--days', '1'];
    },
    expect: 'ok',
    changes: 'logs',
  },
  {
    name: 'a database named .log in logs.dir',
    quick: true,
    setup: (dir) => {
      fs.copyFileSync(path.join(dir, T3), path.join(dir, 'logs', 'cache.log'));
      fs.utimesSync(path.join(dir, 'logs', 'cache.log'), new Date('2020-01-01'), new Date('2020-01-01'));
      return ['--rotate-logs', '--days', '1'];
    },
    expect: 'ok',
    changes: 'logs',
    keep: ['logs/cache.log'],
  },
  {
    name: 'a FIFO in logs.dir',
    setup: (dir) => (mkfifo(path.join(dir, 'logs', 'pipe.log')), ['--rotate-logs', '--days', '1']),
    expect: 'ok',
    changes: 'logs',
  },
  { name: 'env DB_MAINTENANCE_NOW garbage', env: { DB_MAINTENANCE_NOW: 'yesterday' }, setup: () => ['--assess'] },
  {
    name: 'env DB_MAINTENANCE_CONFIG missing file',
    noConfig: true,
    env: { DB_MAINTENANCE_CONFIG: '/nonexistent/c.json' },
    setup: () => ['--assess'],
  },
];

function corruptPages(file) {
  const fd = fs.openSync(file, 'r+');
  const size = fs.fstatSync(fd).size;
  const page = 4096;
  for (let p = 2; p * page < size; p += 3) fs.writeSync(fd, crypto.randomBytes(page), 0, page, p * page);
  fs.closeSync(fd);
}

function hotJournal(file) {
  const db = new Database(file);
  db.pragma('journal_mode = DELETE');
  db.close();
  // A writer killed mid-transaction: run one in a child and SIGKILL it while its journal is hot.
  const code = `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))});const db=new D(${JSON.stringify(file)});db.pragma('cache_size=1');db.exec('BEGIN');const t=db.prepare("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite%' LIMIT 1").pluck().get();db.exec('CREATE TABLE IF NOT EXISTS _x(a)');for(let i=0;i<2000;i++)db.prepare('INSERT INTO _x VALUES (randomblob(1000))').run();process.kill(process.pid,'SIGKILL');`;
  spawnSync(process.execPath, ['-e', code]);
}

function stateFile(dir, bytes) {
  fs.mkdirSync(path.join(dir, '.db-maintenance'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.db-maintenance', 'state.db'), bytes);
}

/** Every file of the brain (the tool's own state directory and lock files aside): size, mode, mtime, sha256. */
export function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const full = path.join(d, name);
      const rel = path.relative(dir, full);
      if (rel === '.db-maintenance' || name.endsWith('.dbm-lock')) continue;
      const st = fs.lstatSync(full);
      if (st.isDirectory()) {
        out[rel] = `dir:${st.mode.toString(8)}`;
        walk(full);
      } else if (st.isFile()) {
        let hash = 'unreadable';
        try {
          hash = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
        } catch {
          // mode 000 as the other user
        }
        out[rel] = `${st.size}:${st.mode.toString(8)}:${st.mtimeMs}:${hash}`;
      } else out[rel] = `${st.isSymbolicLink() ? `link:${fs.readlinkSync(full)}` : 'special'}:${st.mode.toString(8)}`;
    }
  };
  walk(dir);
  return out;
}

/** One template brain per campaign: a demo brain, copied (cp -a) for each case. */
export function makeTemplate(base) {
  const t = path.join(base, 'template');
  const r = spawnSync(process.execPath, [BIN, '--init-demo', t, '--seed', '7'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`--init-demo failed: ${r.stderr}`);
  return t;
}

/** What may change in a case that is allowed to: file prefixes the action legitimately writes. */
const ALLOWED = {
  run: [/^tier\d\/|^state\//],
  wal: [/-wal$|-shm$/],
  state: [],
  events: [/^events/],
  logs: [/^logs\//],
};

function runCli(args, opts) {
  return new Promise((resolve) => {
    const child = spawn(
      opts.wrap ? opts.wrap[0] : process.execPath,
      [...(opts.wrap ? [...opts.wrap.slice(1), process.execPath] : []), BIN, ...args],
      {
        cwd: opts.cwd,
        env: { ...process.env, DB_MAINTENANCE_NOW: '2026-11-20T12:00:00.000Z', ...opts.env },
        stdio: ['ignore', opts.stdout === '/dev/full' ? fs.openSync('/dev/full', 'w') : 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    if (child.stdout) {
      if (opts.stdout === 'epipe') child.stdout.destroy();
      else child.stdout.on('data', (d) => (stdout += d));
    }
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung: signal === 'SIGKILL' });
    });
  });
}

/** Runs one case; returns its classification and details. */
export async function runCase(c, { template, base, user = 'root', timeoutMs = 60_000 }) {
  const dir = fs.mkdtempSync(path.join(base, 'case-'));
  fs.rmSync(dir, { recursive: true });
  spawnSync('cp', ['-a', template, dir]);
  const cfgPath = path.join(dir, 'maintenance.config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
  let args = c.setup(dir, cfg);
  if (c.rawConfig !== undefined) fs.writeFileSync(cfgPath, c.rawConfig);
  else fs.writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  if (!c.noConfig) args = ['--config', cfgPath, ...args];
  const wrap =
    user === 'root'
      ? undefined
      : ['setpriv', `--reuid=${user}`, `--regid=${user === 'nobody' ? 'nogroup' : user}`, '--clear-groups'];
  if (wrap) {
    // The other user can read the brain and run the tool, and write nothing of root's.
    spawnSync('chmod', ['o+rx', base, dir]);
  }
  const before = snapshot(dir);
  const r = await runCli(args, { cwd: dir, env: c.env, stdout: c.stdout, timeoutMs, wrap });
  const after = snapshot(dir);
  const expect = (user === 'root' && c.rootExpect) || c.expect || 'refuse';
  const allowed = c.changes ? ALLOWED[c.changes] : [];
  const changed = Object.keys({ ...before, ...after }).filter(
    (k) => before[k] !== after[k] && !allowed.some((re) => re.test(k)),
  );
  const kept = (c.keep ?? []).filter((k) => !after[k] || after[k] !== before[k]);
  // The devices some cases name: replacing one by a file (as root) is data changed outside the brain.
  for (const [dev, minor] of [
    ['/dev/null', 3],
    ['/dev/full', 7],
  ]) {
    if (fs.statSync(dev).isCharacterDevice()) continue;
    kept.push(dev);
    fs.rmSync(dev, { force: true });
    spawnSync('mknod', ['-m', '666', dev, 'c', '1', String(minor)]);
  }
  const problems = [];
  if (r.hung) problems.push('hang');
  if (/\n\s+at \S+ \(|^\s+at /m.test(r.stderr)) problems.push('stack trace');
  if (changed.length || kept.length) problems.push('data changed');
  if (!r.hung && (r.signal || r.code === 1 || r.code === null || r.code < 0 || r.code > 8))
    problems.push('undocumented code');
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  if (r.code >= 2 && r.code <= 8 && errorLines.length > 0 && !errorLines.every((l) => /\(.+\)\s*$/.test(l)))
    problems.push('no hint');
  if (r.code >= 2 && r.code <= 8 && errorLines.length === 0 && !r.stdout && expect === 'refuse')
    problems.push('no hint');
  if (!r.hung && expect === 'refuse' && r.code === 0) problems.push('accepted');
  // 'partial': some of it could be done (exit 0 or 6), nothing else is asked.
  if (!r.hung && expect === 'ok' && r.code !== 0 && user === 'root') problems.push(`exit ${r.code}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    name: c.name,
    user,
    code: r.signal ?? r.code,
    problems,
    changed: [...changed, ...kept].slice(0, 5),
    stderr: r.stderr.trim().split('\n').slice(0, 3).join(' | ').slice(0, 400),
  };
}

export function baseDir() {
  const b = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-bad-input-'));
  fs.chmodSync(b, 0o755);
  return b;
}
