#!/usr/bin/env node
// The rows of a busy application (issue 12): two campaigns against real processes.
//
//   npm run build && node bench/live-rows.mjs [--ops 200] [--moves 200] [--only ops|moves]
//
// ops:   a committer as fast as it can (test/fixtures/committer.mjs: one message per transaction,
//        synchronous=NORMAL, busy timeout 5 s) writes into the demo brain's tier1 while
//        --analyze, --rebuild-fts, --vacuum and --run take turns, OPS runs in all. Counted: restores
//        and failed tasks (every one spurious: nothing is wrong with the database), committed rows
//        missing afterwards, writes that failed on the busy timeout, and how the counts were
//        compared ("not compared" tables of VACUUM). Every 10th run injects a bad change
//        (DB_MAINTENANCE_INJECT=after:TYPE): it must be caught, and nothing of the application lost.
// moves: an application with its own triggers (an FTS5 index, a message counter, a cleanup
//        trigger on a table outside the move set) inserts, updates and deletes its recent rows
//        while --archive and --restore-conversation take turns, MOVES runs in all, a third of them
//        SIGKILLed at a random moment and re-run. Counted: old rows lost, duplicated (in both
//        files) or changed (content, counter), rows outside the move set changed, application
//        rows lost, FTS5 integrity-check (rank 1) failures on either side.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const { generateDemoBrain } = await import(path.join(root, 'dist', 'demo', 'generate.js'));
const NOW = '2026-11-20T12:00:00.000Z';
const nowS = Math.floor(Date.parse(NOW) / 1000);
const DAY = 86_400;
const env = { ...process.env, DB_MAINTENANCE_NOW: NOW };
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-live-rows-'));
const only = arg('--only', '');

function cli(args, extraEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function startChild(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`child ended early: ${err}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      child.once('close', () => resolve(JSON.parse(out)));
      child.kill('SIGTERM');
    });
  return { ready, stop };
}

async function opsCampaign(n) {
  const dir = path.join(base, 'ops');
  generateDemoBrain({ dir, scale: 1, seed: 5, now: new Date(NOW) });
  const config = path.join(dir, 'maintenance.config.json');
  const tier1 = path.join(dir, 'tier1', 'conversations.db');
  const app = startChild([path.join(root, 'test', 'fixtures', 'committer.mjs'), tier1, 'messages']);
  await app.ready;
  const flags = ['--analyze', '--rebuild-fts', '--vacuum', '--run'];
  const types = { '--analyze': 'ANALYZE', '--rebuild-fts': 'REBUILD_FTS', '--vacuum': 'VACUUM' };
  const tally = {
    runs: 0,
    tasks: 0,
    spurious: [],
    injected: 0,
    caught: 0,
    missedInjections: [],
    vacuums: 0,
    notCompared: 0,
  };
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const flag = flags[i % flags.length];
    const inject = i % 10 === 9 && types[flag];
    const r = cli(
      ['--config', config, flag, '--db', 'tier1', '--json'],
      inject ? { DB_MAINTENANCE_INJECT: `after:${types[flag]}:tier1` } : {},
    );
    tally.runs++;
    let results = [];
    try {
      results = JSON.parse(r.stdout).results;
    } catch {
      tally.spurious.push(`${flag}: exit ${r.status}: ${r.stderr.trim()}`);
      continue;
    }
    for (const res of results) {
      tally.tasks++;
      if (res.type === 'VACUUM' && res.status === 'ok') {
        tally.vacuums++;
        if (/not compared/.test(res.message)) tally.notCompared++;
      }
      if (inject && res.type === types[flag]) {
        tally.injected++;
        if (res.status === 'failed') tally.caught++;
        else tally.missedInjections.push(`${res.type}: ${res.message}`);
        continue;
      }
      if (res.status === 'failed' || res.restored) tally.spurious.push(`${res.type}: ${res.message}`);
    }
  }
  const done = await app.stop();
  const db = new Database(tier1, { readonly: true });
  const has = db.prepare('SELECT 1 FROM messages WHERE id = ?').pluck();
  const missing = done.ids.filter((id) => has.get(id) === undefined).length;
  db.close();
  const fts = new Database(tier1);
  let ftsOk = 'ok';
  try {
    fts.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`).run();
  } catch (err) {
    ftsOk = err.message;
  }
  fts.close();
  const s = (Date.now() - t0) / 1000;
  console.log(
    `ops: ${tally.runs} runs (${tally.tasks} tasks) in ${s.toFixed(0)} s under a committer that committed ${done.ids.length} rows ` +
      `(${Math.round(done.ids.length / s)}/s), ${done.busy} writes failed on its 5 s busy timeout, errors ${done.errors.length}`,
  );
  console.log(
    `ops: spurious restores or failures ${tally.spurious.length}; committed rows missing ${missing}; FTS integrity-check ${ftsOk}; ` +
      `injected bad changes ${tally.injected}, caught ${tally.caught}; VACUUMs verified ${tally.vacuums}, of which with tables not compared ${tally.notCompared}`,
  );
  for (const x of [...tally.spurious, ...tally.missedInjections].slice(0, 10)) console.log(`  ${x}`);
  return tally.spurious.length + missing + (ftsOk === 'ok' ? 0 : 1);
}

const APP_SCHEMA = `
CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, started_at INTEGER NOT NULL, message_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, content TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX messages_by_conversation ON messages(conversation_id);
CREATE TABLE summaries (conversation_id INTEGER PRIMARY KEY, summary TEXT);
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id');
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
  UPDATE conversations SET message_count = message_count + 1 WHERE id = new.conversation_id;
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  UPDATE conversations SET message_count = message_count - 1 WHERE id = old.conversation_id;
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER conversations_cleanup AFTER DELETE ON conversations BEGIN
  DELETE FROM summaries WHERE conversation_id = old.id;
END;
`;

// The application: recent conversations only (it never touches old ones, as a real one would
// not), inserting, updating and deleting messages through its triggers as fast as it can.
const APP = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[2], { timeout: 5000 });
db.pragma('synchronous = NORMAL');
let stop = false;
process.on('SIGTERM', () => (stop = true));
const state = new Map(); let busy = 0; const errors = []; let n = 0;
const conv = db.prepare('INSERT INTO conversations(title, started_at) VALUES (?, ?)');
const ins = db.prepare('INSERT INTO messages(conversation_id, content, created_at) VALUES (?, ?, ?)');
const upd = db.prepare('UPDATE messages SET content = ? WHERE id = ?');
const del = db.prepare('DELETE FROM messages WHERE id = ?');
const now = ${nowS};
let current = Number(conv.run('app conversation', now).lastInsertRowid);
function burst() {
  for (let i = 0; i < 50 && !stop; i++) {
    try {
      n++;
      if (n % 40 === 0) current = Number(conv.run('app conversation ' + n, now).lastInsertRowid);
      const ids = [...state.keys()];
      if (n % 5 === 3 && ids.length) { const id = ids[n % ids.length]; const c = 'updated lighthouse ' + n; upd.run(c, id); state.set(id, c); }
      else if (n % 7 === 4 && ids.length) { const id = ids[(n * 3) % ids.length]; del.run(id); state.delete(id); }
      else { const c = 'app message harbour ' + n; state.set(Number(ins.run(current, c, now).lastInsertRowid), c); }
      if (n === 1) process.stderr.write('ready\\n');
    } catch (err) {
      if (String(err.code).startsWith('SQLITE_BUSY')) busy++; else if (errors.length < 10) errors.push(err.code + ': ' + err.message);
    }
  }
  if (stop) { db.close(); process.stdout.write(JSON.stringify({ state: [...state], busy, errors }) + '\\n'); return; }
  setTimeout(burst, 1);
}
burst();
`;

function fingerprint(db, ids) {
  const conv = db.prepare('SELECT id, title, started_at, message_count FROM conversations WHERE id = ?');
  const msgs = db.prepare('SELECT id, content, created_at FROM messages WHERE conversation_id = ? ORDER BY id');
  return ids.map((id) => JSON.stringify([conv.get(id) ?? null, msgs.all(id)]));
}

async function movesCampaign(n) {
  const dir = path.join(base, 'moves');
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const live = path.join(dir, 'app.db');
  const archive = path.join(dir, 'conversation_archive.db');
  const db = new Database(live);
  db.pragma('journal_mode = WAL');
  db.exec(APP_SCHEMA);
  const oldIds = [];
  db.transaction(() => {
    for (let c = 0; c < 300; c++) {
      const started = nowS - (40 + c / 10) * DAY;
      const id = Number(
        db.prepare('INSERT INTO conversations(title, started_at) VALUES (?, ?)').run(`old ${c}`, started)
          .lastInsertRowid,
      );
      oldIds.push(id);
      for (let m = 0; m < 5; m++)
        db.prepare('INSERT INTO messages(conversation_id, content, created_at) VALUES (?, ?, ?)').run(
          id,
          `old message ${m} of ${c} lighthouse`,
          started,
        );
      db.prepare('INSERT INTO summaries VALUES (?, ?)').run(id, `summary of ${c}`);
    }
  })();
  const expected = fingerprint(db, oldIds);
  const summaries = db.prepare('SELECT * FROM summaries ORDER BY 1').all();
  db.close();
  const config = path.join(dir, 'maintenance.config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      databases: { app: { path: 'app.db' } },
      conversations: {
        database: 'app',
        timestampColumn: 'started_at',
        archiveAfterDays: 30,
        keepNewest: 0,
        batchSize: 10,
      },
      patterns: { database: 'app' },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
    }),
  );
  const appFile = path.join(base, 'app.cjs');
  fs.writeFileSync(appFile, APP);
  const app = startChild([appFile, live]);
  await app.ready;
  let kills = 0;
  let failedRuns = 0;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    let args = ['--config', config, '--archive'];
    if (i % 3 === 1 && fs.existsSync(archive)) {
      const a = new Database(archive, { readonly: true });
      const ids = a.prepare('SELECT id FROM conversations ORDER BY id').pluck().all();
      a.close();
      if (ids.length) args = ['--config', config, '--restore-conversation', String(ids[(i * 7) % ids.length])];
    }
    if (i % 3 === 2) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore', env });
      const ms = Math.floor(Math.random() * 400);
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await new Promise((r) => child.on('exit', (c, sig) => r(sig ?? c)));
      clearTimeout(timer);
      if (code === 'SIGKILL') kills++;
      args = ['--config', config, '--archive'];
    }
    const r = cli(args);
    if (r.status !== 0) {
      failedRuns++;
      if (failedRuns <= 5) console.log(`  run ${i} ${args.slice(2).join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
    }
  }
  const done = await app.stop();
  const s = (Date.now() - t0) / 1000;
  // the old conversations: each exactly once, in one file, unchanged
  const l = new Database(live, { readonly: true });
  const a = new Database(archive, { readonly: true });
  const inLive = fingerprint(l, oldIds);
  const inArc = fingerprint(a, oldIds);
  let lost = 0;
  let duplicated = 0;
  let changed = 0;
  oldIds.forEach((id, k) => {
    const hereL = inLive[k] !== JSON.stringify([null, []]);
    const hereA = inArc[k] !== JSON.stringify([null, []]);
    if (!hereL && !hereA) lost++;
    else if (hereL && hereA) duplicated++;
    else if ((hereL ? inLive[k] : inArc[k]) !== expected[k]) changed++;
  });
  const summariesNow = l
    .prepare('SELECT * FROM summaries WHERE conversation_id IN (SELECT value FROM json_each(?)) ORDER BY 1')
    .all(JSON.stringify(oldIds));
  const outside = JSON.stringify(summariesNow) === JSON.stringify(summaries) ? 0 : 1;
  const msg = l.prepare('SELECT content FROM messages WHERE id = ?').pluck();
  const appLost = done.state.filter(([id, c]) => msg.get(id) !== c).length;
  const fk = l.prepare('PRAGMA foreign_key_check').all().length + a.prepare('PRAGMA foreign_key_check').all().length;
  l.close();
  a.close();
  const ftsFailures = [live, archive].filter((f) => {
    const d = new Database(f);
    try {
      d.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`).run();
      return false;
    } catch {
      return true;
    } finally {
      d.close();
    }
  }).length;
  console.log(
    `moves: ${n} archive/restore runs in ${s.toFixed(0)} s (${kills} SIGKILLed mid-run, then re-run), non-zero exits ${failedRuns}; ` +
      `the application kept ${done.state.length} rows through its triggers, ${done.busy} writes failed on its busy timeout, errors ${done.errors.length}`,
  );
  console.log(
    `moves: old rows lost ${lost}, duplicated ${duplicated}, changed ${changed}; rows outside the move set changed ${outside}; ` +
      `application rows lost or changed ${appLost}; foreign-key violations ${fk}; FTS integrity-check failures ${ftsFailures}`,
  );
  return lost + duplicated + changed + outside + appLost + fk + ftsFailures;
}

let bad = 0;
if (only !== 'moves') bad += await opsCampaign(arg('--ops', 200));
if (only !== 'ops') bad += await movesCampaign(arg('--moves', 200));
fs.rmSync(base, { recursive: true, force: true });
process.exit(bad ? 1 : 0);
