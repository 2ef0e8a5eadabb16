#!/usr/bin/env node
// Detection rate of the bounded FTS5 check (indexes above assess.ftsFullCheckMaxBytes), and the
// cost of the full check (FTS5's rank-1 integrity-check) per MB of index.
//
//   npm run build && node bench/fts-detect.mjs [--trials 20] [--samples 200]
//
// 1. For two index sizes (20,000 rows: the token-totals check runs; 200,000 rows: above its row
//    bound, probes only) and drift of 1 row, 0.1%, 1% and 10% of the rows, made four ways:
//    - delete: DELETE through `DELETE FROM fts WHERE rowid = old.rowid`;
//    - update: UPDATE through `UPDATE fts SET ...` with new text of another length;
//    - update, same length: the same, with as many tokens as before (the totals cannot see it);
//    - around: the row rewritten with the triggers bypassed (its neighbour's text);
//    it runs the default check (checkFts of dist/, the CLI's code) on a fresh copy per trial and
//    counts the trials that report drift. Each table starts consistent (checked: 0 false alarms).
// 2. Full check: rank-1 integrity-check time on indexes of about 1, 4, 16 and 64 MB -> ms per MB.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const { listFtsTables, ftsIndexBytes } = await import(path.join(root, 'dist/db/fts5.js'));
const { checkFts } = await import(path.join(root, 'dist/assess/fts-health.js'));

const trials = arg('--trials', 20);
const samples = arg('--samples', 200);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-fts-detect-'));

let seed = 12345;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const word = () => `w${Math.floor(rand() * 20000).toString(36)}`;
const text = (n) => Array.from({ length: n }, word).join(' ');

function build(file, rows) {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE x (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
    CREATE VIRTUAL TABLE x_fts USING fts5(title, body, content='x', content_rowid='id');
    CREATE TRIGGER x_ai AFTER INSERT ON x BEGIN INSERT INTO x_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END;
    CREATE TRIGGER x_ad AFTER DELETE ON x BEGIN DELETE FROM x_fts WHERE rowid = old.rowid; END;
    CREATE TRIGGER x_au AFTER UPDATE ON x BEGIN UPDATE x_fts SET title = new.title, body = new.body WHERE rowid = new.rowid; END;
  `);
  const ins = db.prepare('INSERT INTO x(title, body) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(text(4), text(10 + Math.floor(rand() * 20)));
  })();
  db.close();
}

function drift(file, kind, n, rows) {
  const db = new Database(file);
  const ids = new Set();
  while (ids.size < n) ids.add(1 + Math.floor(rand() * rows));
  db.transaction(() => {
    if (kind === 'around') db.exec('DROP TRIGGER x_au');
    for (const id of ids) {
      if (kind === 'delete') db.prepare('DELETE FROM x WHERE id = ?').run(id);
      else if (kind === 'update')
        db.prepare('UPDATE x SET body = ? WHERE id = ?').run(text(35 + Math.floor(rand() * 5)), id);
      else if (kind === 'same') {
        const len = String(db.prepare('SELECT body FROM x WHERE id = ?').pluck().get(id)).split(' ').length;
        db.prepare('UPDATE x SET body = ? WHERE id = ?').run(text(len), id);
      } else {
        db.prepare('UPDATE x SET body = (SELECT body FROM x n WHERE n.id = ? ) WHERE id = ?').run(1 + (id % rows), id);
      }
    }
  })();
  db.close();
}

function check(file) {
  const db = new Database(file);
  const conn = { db, withWriteTransactionAllowed: (f) => f(db), withTempWrites: (f) => f(db) };
  const t0 = performance.now();
  const [t] = listFtsTables(db);
  const h = checkFts(conn, t, { deep: false, sampleRows: samples, maxSegments: 1e9, fullCheckMaxBytes: 0 });
  const ms = performance.now() - t0;
  db.close();
  return { h, ms };
}

const kinds = {
  delete: 'delete (wrong trigger)',
  update: 'update (wrong trigger)',
  same: 'update, same length',
  around: 'written around the triggers',
};
const out = [];
for (const rows of [20_000, 200_000]) {
  const base = path.join(dir, `base-${rows}.db`);
  build(base, rows);
  const work = path.join(dir, 'work.db');
  fs.copyFileSync(base, work);
  const clean = check(work);
  if (clean.h.status !== 'ok') throw new Error(`false alarm on a consistent index: ${clean.h.detail}`);
  let falseAlarms = 0;
  for (let i = 0; i < trials; i++) if (check(work).h.status !== 'ok') falseAlarms++;
  console.error(
    `${rows} rows: consistent index checked in ${clean.ms.toFixed(0)} ms (${clean.h.detail}); ${falseAlarms} false alarms in ${trials}`,
  );
  for (const [kind, label] of Object.entries(kinds)) {
    const cells = [];
    for (const share of [0, 0.001, 0.01, 0.1]) {
      const n = share === 0 ? 1 : Math.round(rows * share);
      let found = 0;
      let ms = 0;
      for (let i = 0; i < trials; i++) {
        fs.copyFileSync(base, work);
        drift(work, kind, n, rows);
        const r = check(work);
        ms += r.ms;
        if (r.h.status === 'drift') found++;
      }
      cells.push(`${found}/${trials}`);
      console.error(
        `  ${label}, ${share === 0 ? '1 row' : `${share * 100}%`}: ${found}/${trials} (${(ms / trials).toFixed(0)} ms a check)`,
      );
    }
    out.push(`| ${rows.toLocaleString('en-US')} | ${label} | ${cells.join(' | ')} |`);
  }
}

console.log(
  `\nbounded check, ${samples} samples (assess.ftsSampleRows), ${trials} trials a cell: trials that report drift\n`,
);
console.log('| rows | drift made by | 1 row | 0.1% | 1% | 10% |');
console.log('|---|---|---|---|---|---|');
for (const l of out) console.log(l);

console.log('\nfull check (rank-1 integrity-check):\n');
console.log('| index | rows | time | ms per MB |');
console.log('|---|---|---|---|');
for (const rows of [5_000, 20_000, 80_000, 320_000]) {
  const file = path.join(dir, `full-${rows}.db`);
  build(file, rows);
  const db = new Database(file);
  const mb = ftsIndexBytes(db, 'x_fts') / 1e6;
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    db.prepare(`INSERT INTO x_fts(x_fts, rank) VALUES ('integrity-check', 1)`).run();
    times.push(performance.now() - t0);
  }
  db.close();
  const ms = times.sort((a, b) => a - b)[1];
  console.log(
    `| ${mb.toFixed(1)} MB | ${rows.toLocaleString('en-US')} | ${ms.toFixed(0)} ms | ${(ms / mb).toFixed(1)} |`,
  );
}
fs.rmSync(dir, { recursive: true, force: true });
