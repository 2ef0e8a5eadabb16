#!/usr/bin/env node
// Accuracy of the FTS5 dead-weight measure (src/assess/fts-bloat.ts) against the truth: what an
// FTS5 'optimize' of a copy of the index takes out of its _data table.
//
//   npm run build && node bench/fts-bloat.mjs [--docs 50000] [--brain bench/.data/brain-240]
//
// 1. synthetic external-content indexes (the demo's tier1 schema and triggers: every delete goes
//    through the correct FTS5 'delete' trigger), `--docs` documents of 20-160 words drawn from
//    3,000 words (Zipf-like), written 20 to a transaction as an application does; then 0%, 10%,
//    30% and 60% of them deleted, at random or oldest first, or given new text (an UPDATE through
//    the correct trigger), 200 to a transaction;
// 2. with --brain, the FTS5 indexes of that brain's tier1 and tier2 as they are.
// For each: the sampled estimate (the default: assess.ftsBloatSamplePages = 1024 pages) and the
// scan (--deep: every page) against the copy's optimize; the time each took.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { arg, optimizedCopy } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const Database = createRequire(import.meta.url)(path.join(root, 'node_modules', 'better-sqlite3'));
const { listFtsTables } = await import(path.join(root, 'dist/db/fts5.js'));
const { measureFtsBloat } = await import(path.join(root, 'dist/assess/fts-bloat.js'));

const docs = arg('--docs', 50000);
const brain = arg('--brain', '');
const samplePages = arg('--sample-pages', 1024);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-fts-bloat-'));

/** A deterministic generator (the same index every run). */
function lcg(seed) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function makeIndex(file, fraction, pattern) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec(`CREATE TABLE messages(id INTEGER PRIMARY KEY, content TEXT);
    CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id', tokenize='porter unicode61');
    CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
    CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
    CREATE TRIGGER messages_au AFTER UPDATE ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;`);
  const rnd = lcg(12345);
  const syl = ['ka', 'lo', 'mi', 'ra', 'te', 'vo', 'shi', 'nu', 'pe', 'dra', 'qu', 'bel', 'xor', 'fin', 'gal', 'zen'];
  const words = [];
  while (words.length < 3000) {
    let w = '';
    for (let i = 2 + Math.floor(rnd() * 3); i > 0; i--) w += syl[Math.floor(rnd() * syl.length)];
    words.push(w);
  }
  const text = () => {
    const a = [];
    for (let k = 20 + Math.floor(rnd() * 140); k > 0; k--)
      a.push(words[Math.floor(Math.pow(rnd(), 2.5) * words.length)]);
    return a.join(' ');
  };
  const ins = db.prepare('INSERT INTO messages(content) VALUES (?)');
  for (let i = 0; i < docs; i += 20)
    db.transaction(() => {
      for (let j = i; j < Math.min(docs, i + 20); j++) ins.run(text());
    })();
  const ids = db.prepare('SELECT id FROM messages ORDER BY id').pluck().all();
  const victims =
    pattern === 'oldest' ? ids.slice(0, Math.round(ids.length * fraction)) : ids.filter(() => rnd() < fraction);
  const change =
    pattern === 'updated'
      ? db.prepare('UPDATE messages SET content = ? WHERE id = ?')
      : db.prepare('DELETE FROM messages WHERE id = ?');
  for (let i = 0; i < victims.length; i += 200)
    db.transaction(() => {
      for (const id of victims.slice(i, i + 200)) pattern === 'updated' ? change.run(text(), id) : change.run(id);
    })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function measure(label, file) {
  const db = new Database(file, { readonly: true });
  const rows = [];
  for (const t of listFtsTables(db)) {
    const opts = { samplePages, dueRatio: 0.2, dueBytes: 1 << 20 };
    let t0 = performance.now();
    const s = measureFtsBloat(db, t, { ...opts, scan: false });
    const sampledMs = performance.now() - t0;
    t0 = performance.now();
    const f = measureFtsBloat(db, t, { ...opts, scan: true });
    const scannedMs = performance.now() - t0;
    const truth = optimizedCopy(Database, db, t.name);
    const err = (x) =>
      truth.dead === 0 ? (x.reclaimableBytes === 0 ? 0 : Infinity) : x.reclaimableBytes / truth.dead - 1;
    rows.push({
      index: `${label} ${t.name}`,
      dataMB: (truth.before / 1e6).toFixed(1),
      truthPct: ((truth.dead / truth.before) * 100).toFixed(1),
      truthMB: (truth.dead / 1e6).toFixed(2),
      sampledMB: (s.reclaimableBytes / 1e6).toFixed(2),
      sampledErr: `${(err(s) * 100).toFixed(1)}%`,
      sampledMs: Math.round(sampledMs),
      scannedMB: (f.reclaimableBytes / 1e6).toFixed(2),
      scannedErr: `${(err(f) * 100).toFixed(1)}%`,
      scannedMs: Math.round(scannedMs),
    });
  }
  db.close();
  return rows;
}

const all = [];
for (const pattern of ['random', 'oldest', 'updated']) {
  for (const fraction of [0, 0.1, 0.3, 0.6]) {
    if (pattern !== 'random' && fraction === 0) continue;
    const file = path.join(work, `fts-${pattern}-${fraction}.db`);
    makeIndex(file, fraction, pattern);
    all.push(
      ...measure(
        `${docs} docs, ${fraction * 100}% ${pattern === 'updated' ? 'updated' : `deleted (${pattern})`}`,
        file,
      ),
    );
    console.error(JSON.stringify(all.at(-1)));
  }
}
if (brain) {
  for (const rel of ['tier1/conversations.db', 'tier2/knowledge_graph.db'])
    all.push(...measure(`${path.basename(brain)} ${rel.split('/')[0]}`, path.join(brain, rel)));
}
fs.rmSync(work, { recursive: true, force: true });

const cols = Object.keys(all[0]);
console.log(`| ${cols.join(' | ')} |`);
console.log(`|${cols.map(() => '---').join('|')}|`);
for (const r of all) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
