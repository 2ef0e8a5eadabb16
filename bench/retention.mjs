#!/usr/bin/env node
// Retention against its peers, measured side by side in one run, with peak RSS.
//
//   npm run build && node bench/retention.mjs [--events-mb 1100] [--logs-mb 1024] [--messages 1000000] [--rounds 3] [--only events,logs,archive]
//
// events : `db-maintenance --compress-events` on an events.jsonl of >= 1 GB (every line older than
//          the cut-off, 3 months) vs `gzip -6` of the same file (to a file, no fsync: its
//          advantage). Target: throughput >= 2x gzip -6, peak RSS <= 150 MB.
// logs   : `db-maintenance --rotate-logs` on 1 GB of logs in 8 files vs `gzip -6` of each file
//          one after the other (what logrotate does). Target: >= 1.8x gzip -6.
// archive: `db-maintenance --archive` of conversations holding 1 M messages (external-content
//          FTS5 kept on both sides) vs a hand-written row-by-row mover on the same data (per
//          conversation: SELECT and INSERT each row into the archive, DELETE it from the source;
//          the archive's FTS kept by the same triggers). Target: >= 3x faster.
// Medians of the rounds; every contender starts from a fresh copy after `sync`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { arg, measure, median, writeTier1Config } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const eventsMb = arg('--events-mb', 1100);
const logsMb = arg('--logs-mb', 1024);
const messages = arg('--messages', 1_000_000);
const rounds = arg('--rounds', 3);
const only = arg('--only', 'events,logs,archive').split(',');
const data = path.join(root, 'bench', '.data', 'retention');
const work = path.join(root, 'bench', '.data', 'retention-work');
const NOW = '2026-11-20T12:00:00.000Z';
fs.mkdirSync(data, { recursive: true });

const settle = () => {
  execFileSync('sync');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
};

function config(dir, extra = {}) {
  return writeTier1Config(path.join(dir, 'maintenance.config.json'), extra);
}

function fresh() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  return work;
}

function dbm(dir, args) {
  return measure(process.execPath, [bin, '--config', path.join(dir, 'maintenance.config.json'), ...args, '--json'], {
    env: { ...process.env, DB_MAINTENANCE_NOW: NOW },
  });
}

// ---- events ---------------------------------------------------------------------------------
function makeEvents() {
  const file = path.join(data, `events-${eventsMb}.jsonl`);
  if (fs.existsSync(file)) return file;
  console.log(`generating ${eventsMb} MB of events...`);
  const fd = fs.openSync(`${file}.tmp`, 'w');
  const start = Date.parse('2026-06-01T00:00:00Z');
  const types = ['tool_call', 'message', 'routing', 'memory_write', 'error'];
  let size = 0;
  let i = 0;
  const target = eventsMb * 1e6;
  while (size < target) {
    const lines = [];
    for (let k = 0; k < 10_000; k++, i++) {
      const t = new Date(start + Math.floor((i * 90 * 86_400_000) / (target / 160))).toISOString();
      lines.push(
        JSON.stringify({
          timestamp: t,
          type: types[i % 5],
          session: `s${i % 97}`,
          seq: i,
          data: { tokens: i % 4000, agent: `agent-${i % 13}`, note: `event payload ${(i * 7919) % 100000}` },
        }),
      );
    }
    const chunk = `${lines.join('\n')}\n`;
    fs.writeSync(fd, chunk);
    size += Buffer.byteLength(chunk);
  }
  fs.closeSync(fd);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

function benchEvents() {
  const src = makeEvents();
  const bytes = fs.statSync(src).size;
  const ours = [];
  const peer = [];
  const rss = [];
  let archiveBytes = 0;
  let gzipBytes = 0;
  for (let r = 0; r < rounds; r++) {
    let dir = fresh();
    fs.copyFileSync(src, path.join(dir, 'events.jsonl'));
    settle();
    const g = measure('sh', ['-c', `gzip -6 < events.jsonl > peer.gz`], { cwd: dir });
    peer.push(g.s);
    gzipBytes = fs.statSync(path.join(dir, 'peer.gz')).size;
    dir = fresh();
    fs.copyFileSync(src, path.join(dir, 'events.jsonl'));
    config(dir);
    settle();
    const m = dbm(dir, ['--compress-events']);
    const item = JSON.parse(m.stdout).items[0];
    if (item.status !== 'ok' || item.counts.kept !== 0) throw new Error(`unexpected result: ${JSON.stringify(item)}`);
    ours.push(m.s);
    rss.push(m.rssMb);
    archiveBytes = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.gz') && f !== 'peer.gz')
      .reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
    console.log(
      `  events round ${r + 1}: ours ${m.s.toFixed(2)} s (${m.rssMb.toFixed(0)} MB), gzip -6 ${g.s.toFixed(2)} s`,
    );
  }
  return {
    what: `compress ${(bytes / 1e9).toFixed(2)} GB events.jsonl`,
    ours: median(ours),
    peer: median(peer),
    peerName: 'gzip -6',
    ratio: median(peer) / median(ours),
    target: '>= 2.0x',
    rss: Math.max(...rss),
    note: `output ${(archiveBytes / 1e6).toFixed(0)} MB vs gzip -6 ${(gzipBytes / 1e6).toFixed(0)} MB`,
  };
}

// ---- logs -----------------------------------------------------------------------------------
function makeLogs() {
  const dir = path.join(data, `logs-${logsMb}`);
  if (fs.existsSync(path.join(dir, 'done'))) return dir;
  console.log(`generating ${logsMb} MB of logs...`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const per = (logsMb * 1e6) / 8;
  const levels = ['INFO', 'DEBUG', 'WARN', 'ERROR'];
  for (let f = 0; f < 8; f++) {
    const fd = fs.openSync(path.join(dir, `service${f}.log`), 'w');
    let size = 0;
    let i = 0;
    while (size < per) {
      const lines = [];
      for (let k = 0; k < 10_000; k++, i++) {
        lines.push(
          `2026-07-${String(1 + (i % 28)).padStart(2, '0')} ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.${String(i % 1000).padStart(3, '0')} ${levels[i % 4]} [worker-${i % 7}] request ${i * 31} handled in ${i % 997} ms path=/api/v1/items/${(i * 7919) % 100000}`,
        );
      }
      const chunk = `${lines.join('\n')}\n`;
      fs.writeSync(fd, chunk);
      size += chunk.length;
    }
    fs.closeSync(fd);
  }
  fs.writeFileSync(path.join(dir, 'done'), '');
  return dir;
}

function benchLogs() {
  const src = makeLogs();
  const files = fs.readdirSync(src).filter((f) => f.endsWith('.log'));
  const bytes = files.reduce((a, f) => a + fs.statSync(path.join(src, f)).size, 0);
  const ours = [];
  const peer = [];
  const rss = [];
  for (let r = 0; r < rounds; r++) {
    let dir = fresh();
    fs.cpSync(src, path.join(dir, 'logs'), { recursive: true });
    settle();
    const g = measure('sh', ['-c', files.map((f) => `gzip -6 -k logs/${f}`).join(' && ')], { cwd: dir });
    peer.push(g.s);
    dir = fresh();
    fs.cpSync(src, path.join(dir, 'logs'), { recursive: true });
    const old = new Date(Date.parse(NOW) - 120 * 86_400_000);
    for (const f of files) fs.utimesSync(path.join(dir, 'logs', f), old, old);
    config(dir);
    settle();
    const m = dbm(dir, ['--rotate-logs']);
    const item = JSON.parse(m.stdout).items[0];
    if (item.status !== 'ok' || item.rowsAffected !== files.length)
      throw new Error(`unexpected result: ${JSON.stringify(item)}`);
    ours.push(m.s);
    rss.push(m.rssMb);
    console.log(
      `  logs round ${r + 1}: ours ${m.s.toFixed(2)} s (${m.rssMb.toFixed(0)} MB), gzip -6 ${g.s.toFixed(2)} s`,
    );
  }
  return {
    what: `rotate ${(bytes / 1e9).toFixed(2)} GB of logs in ${files.length} files`,
    ours: median(ours),
    peer: median(peer),
    peerName: 'gzip -6 per file',
    ratio: median(peer) / median(ours),
    target: '>= 1.8x',
    rss: Math.max(...rss),
  };
}

// ---- archive --------------------------------------------------------------------------------

async function makeTier1() {
  const file = path.join(data, `tier1-${messages}.db`);
  if (fs.existsSync(file)) return file;
  console.log(`generating tier1 with ${messages} messages...`);
  const { TIER1_SCHEMA } = await import(path.join(root, 'dist', 'demo', 'schema.js'));
  fs.rmSync(`${file}.tmp`, { force: true });
  const db = new Database(`${file}.tmp`);
  db.pragma('journal_mode = WAL');
  db.exec(TIER1_SCHEMA);
  db.prepare(`INSERT INTO sessions(session_id, user_id) VALUES ('s1', 'u1')`).run();
  const perConv = 50;
  const convs = Math.ceil(messages / perConv) + 20;
  const conv = db.prepare(
    `INSERT INTO conversations(session_id, conversation_id, title, started_at) VALUES ('s1', ?, ?, ?)`,
  );
  const msg = db.prepare(
    `INSERT INTO messages(conversation_id, role, content, token_count, created_at) VALUES (?, ?, ?, ?, ?)`,
  );
  const words =
    'memory agent vector index query routing pattern context session tool result error retry cache token model prompt embed search rank'.split(
      ' ',
    );
  const start = Date.parse('2026-01-01T00:00:00Z');
  db.transaction(() => {
    for (let c = 0; c < convs; c++) {
      // All but the newest 20 are older than 30 days.
      const t = c < convs - 20 ? new Date(start + c * 600_000).toISOString() : NOW;
      const id = Number(conv.run(`c${c}`, `conversation ${c}`, t).lastInsertRowid);
      for (let m = 0; m < perConv; m++) {
        const text = Array.from({ length: 24 }, (_, k) => words[(c * 31 + m * 7 + k * 13) % words.length]).join(' ');
        msg.run(id, m % 2 ? 'assistant' : 'user', text, 24, t);
      }
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/** Seed 000's method, faithfully: one conversation at a time, row by row, one transaction at the end. */
const ROW_BY_ROW = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const [src, arc, cutoff] = process.argv.slice(2);
const s = new Database(src);
const a = new Database(arc);
a.pragma('foreign_keys = OFF'); // as Python's sqlite3 (the seed's): the archive has no sessions table
// _ensure_archive_db: the same schema (tables, indexes, FTS5 and its triggers) in the archive.
for (const { sql } of s.prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts_%' ORDER BY type = 'table' DESC, type = 'trigger'").all()) a.exec(sql);
const old = s.prepare("SELECT id FROM conversations WHERE started_at < ? AND id NOT IN (SELECT id FROM conversations ORDER BY started_at DESC LIMIT 20) ORDER BY started_at").pluck().all(cutoff);
const tables = ['messages', 'agent_interactions', 'routing_decisions'];
const sel = Object.fromEntries(tables.map((t) => [t, s.prepare('SELECT * FROM ' + t + ' WHERE conversation_id = ?')]));
const ins = {};
const selConv = s.prepare('SELECT * FROM conversations WHERE id = ?');
const del = s.prepare('DELETE FROM conversations WHERE id = ?');
s.exec('BEGIN'); a.exec('BEGIN');
for (const id of old) {
  const row = selConv.get(id);
  ins.c ??= a.prepare('INSERT INTO conversations VALUES (' + Object.keys(row).map(() => '?').join(',') + ')');
  ins.c.run(...Object.values(row));
  for (const t of tables) {
    for (const r of sel[t].all(id)) {
      ins[t] ??= a.prepare('INSERT INTO ' + t + ' VALUES (' + Object.keys(r).map(() => '?').join(',') + ')');
      ins[t].run(...Object.values(r));
    }
  }
  del.run(id); // ON DELETE CASCADE removes the child rows; the source's triggers update its FTS index
}
s.exec('COMMIT'); a.exec('COMMIT');
console.log(old.length);
`;

async function benchArchive() {
  const src = await makeTier1();
  const n = new Database(src, { readonly: true }).prepare('SELECT count(*) FROM messages').pluck().get();
  const ours = [];
  const peer = [];
  const rss = [];
  const script = path.join(data, 'row-by-row.cjs');
  fs.writeFileSync(script, ROW_BY_ROW);
  const cutoff = new Date(Date.parse(NOW) - 30 * 86_400_000).toISOString();
  for (let r = 0; r < rounds; r++) {
    let dir = fresh();
    fs.copyFileSync(src, path.join(dir, 'tier1.db'));
    settle();
    const p = measure(process.execPath, [
      script,
      path.join(dir, 'tier1.db'),
      path.join(dir, 'conversation_archive.db'),
      cutoff,
    ]);
    peer.push(p.s);
    dir = fresh();
    fs.copyFileSync(src, path.join(dir, 'tier1.db'));
    config(dir, { conversations: { database: 'tier1', batchSize: 500 } });
    settle();
    const m = dbm(dir, ['--archive']);
    const item = JSON.parse(m.stdout).items[0];
    if (item.status !== 'ok') throw new Error(`unexpected result: ${JSON.stringify(item)}`);
    ours.push(m.s);
    rss.push(m.rssMb);
    console.log(
      `  archive round ${r + 1}: ours ${m.s.toFixed(2)} s (${m.rssMb.toFixed(0)} MB, ${item.counts.messages} messages), row by row ${p.s.toFixed(2)} s`,
    );
  }
  return {
    what: `archive ${n} messages (FTS5 on both sides)`,
    ours: median(ours),
    peer: median(peer),
    peerName: 'a row-by-row mover',
    ratio: median(peer) / median(ours),
    target: '>= 3.0x',
    rss: Math.max(...rss),
  };
}

const results = [];
if (only.includes('events')) results.push(benchEvents());
if (only.includes('logs')) results.push(benchLogs());
if (only.includes('archive')) results.push(await benchArchive());
fs.rmSync(work, { recursive: true, force: true });
console.log('\n| benchmark | db-maintenance | peer | ratio (peer / ours) | target | peak RSS |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.what} | ${r.ours.toFixed(2)} s | ${r.peerName} ${r.peer.toFixed(2)} s | ${r.ratio.toFixed(2)}x | ${r.target} | ${r.rss.toFixed(0)} MB |${r.note ? ` ${r.note}` : ''}`,
  );
}
