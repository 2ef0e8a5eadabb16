#!/usr/bin/env node
// The SIGKILL campaign for retention: --archive, --compress-events and --rotate-logs killed at
// random moments, then re-run; every row and every line must exist exactly once afterwards,
// checked by independent readers (the sqlite3 command-line tool, gzip -dc).
//
//   npm run build && node bench/retention-crash.mjs [--trials 200]
//
// Trials rotate over the three commands. (test/retention-processes.test.ts runs 20 of each.)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { writeTier1Config } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const Database = createRequire(import.meta.url)('better-sqlite3');
const { TIER1_SCHEMA } = await import(path.join(root, 'dist', 'demo', 'schema.js'));
const i = process.argv.indexOf('--trials');
const trials = i === -1 ? 200 : Number(process.argv[i + 1]);
const NOW = '2026-11-20T12:00:00.000Z';
const DAY = 86_400_000;
const env = { ...process.env, DB_MAINTENANCE_NOW: NOW };
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-retention-crash-'));

function template() {
  const dir = path.join(base, 'template');
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeTier1Config(path.join(dir, 'maintenance.config.json'), { conversations: { database: 'tier1', batchSize: 10 } });
  const db = new Database(path.join(dir, 'tier1.db'));
  db.pragma('journal_mode = WAL');
  db.exec(TIER1_SCHEMA);
  db.prepare(`INSERT INTO sessions(session_id, user_id) VALUES ('s1', 'u1')`).run();
  const conv = db.prepare(`INSERT INTO conversations(session_id, conversation_id, started_at) VALUES ('s1', ?, ?)`);
  // Messages written when their conversation started (later activity would keep it live).
  const msg = db.prepare(`INSERT INTO messages(conversation_id, role, content, created_at) VALUES (?, 'user', ?, ?)`);
  db.transaction(() => {
    for (let c = 0; c < 620; c++) {
      const started = new Date(Date.parse(NOW) - (200 - c / 10) * DAY).toISOString();
      const id = Number(conv.run(`c${c}`, started).lastInsertRowid);
      for (let m = 0; m < 4; m++) msg.run(id, `message ${m} of conversation ${c} topic${m}`, started);
    }
  })();
  db.close();
  const lines = [];
  for (let n = 0; n < 80_000; n++) {
    lines.push(
      JSON.stringify({
        timestamp: new Date(Date.parse('2026-07-01T00:00:00Z') + n * 60_000).toISOString(),
        i: n,
        payload: 'p'.repeat(n % 50),
      }),
    );
    if (n % 10_000 === 5) lines.push(`malformed ${n}`);
  }
  fs.writeFileSync(path.join(dir, 'events.jsonl'), `${lines.join('\n')}\n`);
  for (let f = 0; f < 6; f++) {
    const file = path.join(dir, 'logs', `svc${f}.log`);
    fs.writeFileSync(
      file,
      `${Array.from({ length: 40_000 }, (_, k) => `svc${f} line ${k} ${'x'.repeat(k % 40)}`).join('\n')}\n`,
    );
    const t = new Date(Date.parse(NOW) - (100 + f) * DAY);
    fs.utimesSync(file, t, t);
  }
  return dir;
}

const sq = (file, sql) =>
  fs.existsSync(file) ? execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim() : '';
const ids = (file, table) => sq(file, `SELECT id FROM "${table}" ORDER BY 1`).split('\n').filter(Boolean).map(Number);
const gz = (file) => execFileSync('gzip', ['-dc', file], { encoding: 'latin1', maxBuffer: 1 << 30 });
const lines = (text) => text.split('\n').filter((l, k, a) => k < a.length - 1 || l !== '');

function eventLines(dir) {
  let out = lines(fs.readFileSync(path.join(dir, 'events.jsonl'), 'latin1'));
  for (const f of fs.readdirSync(dir).filter((n) => /^events_archive_\d{6}\.jsonl\.gz$/.test(n)))
    out = out.concat(lines(gz(path.join(dir, f))));
  return out.sort();
}
function logContents(dir) {
  return fs
    .readdirSync(path.join(dir, 'logs'))
    .filter((f) => !f.startsWith('.'))
    .map((f) =>
      f.endsWith('.gz') ? gz(path.join(dir, 'logs', f)) : fs.readFileSync(path.join(dir, 'logs', f), 'latin1'),
    )
    .sort();
}

const tpl = template();
const expected = {
  convs: ids(path.join(tpl, 'tier1.db'), 'conversations').join(','),
  msgs: ids(path.join(tpl, 'tier1.db'), 'messages').join(','),
  events: eventLines(tpl),
  logs: logContents(tpl),
};
const commands = ['--archive', '--compress-events', '--rotate-logs'];
const span = {};
for (const c of commands) {
  const dir = path.join(base, 'probe');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(tpl, dir, { recursive: true, preserveTimestamps: true });
  const t0 = Date.now();
  spawnSync(process.execPath, [bin, '--config', path.join(dir, 'maintenance.config.json'), c], { env });
  span[c] = Math.max(200, Date.now() - t0);
}
console.log(`spans: ${JSON.stringify(span)} ms`);

const started = Date.now();
let failures = 0;
const mid = Object.fromEntries(commands.map((c) => [c, 0]));
const runs = Object.fromEntries(commands.map((c) => [c, 0]));
for (let t = 0; t < trials; t++) {
  const c = commands[t % 3];
  const dir = path.join(base, 'trial');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(tpl, dir, { recursive: true, preserveTimestamps: true });
  const cfg = path.join(dir, 'maintenance.config.json');
  const delay = 30 + Math.floor(Math.random() * span[c] * 0.9);
  const child = spawn(process.execPath, [bin, '--config', cfg, c], { env, stdio: 'ignore' });
  const done = new Promise((r) => child.on('close', (code, signal) => r(signal)));
  await new Promise((r) => setTimeout(r, delay));
  child.kill('SIGKILL');
  runs[c]++;
  if ((await done) === 'SIGKILL') mid[c]++;
  const rerun = spawnSync(process.execPath, [bin, '--config', cfg, c], { env, encoding: 'utf8' });
  const problems = [];
  if (rerun.status !== 0) problems.push(`re-run exited ${rerun.status}: ${rerun.stderr.trim()}`);
  if (c === '--archive') {
    const [live, arc] = [path.join(dir, 'tier1.db'), path.join(dir, 'conversation_archive.db')];
    const convs = [...ids(live, 'conversations'), ...ids(arc, 'conversations')].sort((a, b) => a - b).join(',');
    const msgs = [...ids(live, 'messages'), ...ids(arc, 'messages')].sort((a, b) => a - b).join(',');
    if (convs !== expected.convs) problems.push('conversations not exactly once');
    if (msgs !== expected.msgs) problems.push('messages not exactly once');
    for (const f of [live, arc])
      if (sq(f, 'PRAGMA integrity_check') !== 'ok') problems.push(`integrity_check of ${path.basename(f)}`);
  } else if (c === '--compress-events') {
    const got = eventLines(dir);
    if (got.length !== expected.events.length || got.some((l, k) => l !== expected.events[k]))
      problems.push(`event lines: ${got.length} found, ${expected.events.length} expected, or different`);
    if (fs.readdirSync(dir).some((f) => f.includes('.tmp-') || f.includes('.dbm-'))) problems.push('temp files left');
  } else {
    const got = logContents(dir);
    if (got.length !== expected.logs.length || got.some((l, k) => l !== expected.logs[k]))
      problems.push('log contents not exactly once');
  }
  if (problems.length) {
    failures++;
    console.log(`trial ${t} ${c} (kill at ${delay} ms): ${problems.join('; ')}`);
  }
}
fs.rmSync(base, { recursive: true, force: true });
console.log(
  `${trials} trials (${commands.map((c) => `${c} ${runs[c]}, ${mid[c]} killed mid-run`).join('; ')}): ${failures} failures, ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
process.exit(failures ? 1 : 0);
