#!/usr/bin/env node
// Searches before and after maintenance, on the benchmark brain (docs/benchmarks.md#search-impact).
//
//   npm run build && node bench/search-impact.mjs [--scale 240] [--rounds 4] [--runs 30] [--cold 5]
//
// 1. the benchmark brain (bench/.data/brain-SCALE, made once by --init-demo) is copied five
//    times: BEFORE stays as it is, and so does CONTROL (the same bytes: it measures the noise);
//    AFTER gets `db-maintenance --run` with a config that lets it
//    block (maintenance.maxWriterWaitMs 600000: a maintenance window, so the plan runs whole:
//    the FTS optimize, VACUUM, ANALYZE); BOUNDED gets `--run` with the default writer-wait
//    budget (1 s: merge steps, VACUUM deferred); REFERENCE gets VACUUM, 'optimize' of every
//    FTS5 index, VACUUM by hand (the best a file can be);
// 2. a fixed set of queries on tier1 (FTS term lookups of the most frequent term, the median one
//    and the least frequent (of 5 documents or more),
//    a phrase, a prefix query, top-20 by bm25; one conversation's messages, a recent-range
//    count), timed on BEFORE, AFTER and CONTROL run by run in turn (the order rotates each
//    run), so that the machine's drift falls on all three alike:
//    - warm: one connection per copy and round, one untimed run each, then --runs turns;
//    - cold: --cold turns a round, each copy's files leaving the page cache first
//      (`vmtouch -e`, of those files only) and a new connection opening;
// 3. p50 and p95 of each query on each copy (all rounds pooled), the ratio after/before, and the
//    noise: the ratio control/before, which would be 1.00x on a quiet machine (the same bytes).
// Also: the index's _data bytes and the file's bytes on each copy, and the probes of the --run.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const Database = createRequire(import.meta.url)(path.join(root, 'node_modules', 'better-sqlite3'));
const bin = path.join(root, 'bin', 'db-maintenance.js');
const scale = arg('--scale', 240);
const rounds = arg('--rounds', 4);
const runs = arg('--runs', 30);
const coldRuns = arg('--cold', 5);
const source = path.join(root, 'bench', '.data', `brain-${scale}`);
const work = arg('--work', path.join(root, 'bench', '.data', `search-impact-${scale}`));
const TIER1 = 'tier1/conversations.db';

const vmtouch = spawnSync('vmtouch', ['-h'], { encoding: 'utf8' });
if (vmtouch.error) {
  console.error('error: vmtouch is not installed (apt-get install vmtouch): the cold rounds need it');
  process.exit(2);
}
if (!fs.existsSync(path.join(source, '.db-maintenance-demo'))) {
  console.error(`generating the benchmark brain (scale ${scale}) in ${source} ...`);
  execFileSync(process.execPath, [bin, '--init-demo', source, '--scale', String(scale), '--seed', '1'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

// 1. the copies (the source is a finished demo brain: no -wal beside its files once closed)
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const copies = {};
for (const name of ['before', 'control', 'after', 'bounded', 'reference']) {
  copies[name] = path.join(work, name);
  execFileSync('cp', ['-r', source, copies[name]]);
}
const queries = chooseQueries(path.join(copies.before, TIER1));
function writeConfig(dir, maintenance) {
  const file = path.join(dir, 'maintenance.config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.maintenance = { ...(cfg.maintenance ?? {}), ...maintenance };
  cfg.stateDir = '.state';
  cfg.probes = queries.map((q) => ({ name: q.name, database: 'tier1', sql: q.sql, params: q.params, runs: 30 }));
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  return file;
}
const runOf = (dir, maintenance) => {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [bin, '--config', writeConfig(dir, maintenance), '--run', '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { doc: JSON.parse(out), seconds: (performance.now() - t0) / 1000 };
};
const run = runOf(copies.after, { maxWriterWaitMs: 600000 });
const bounded = runOf(copies.bounded, {});
{
  const db = new Database(path.join(copies.reference, TIER1));
  db.exec('VACUUM');
  for (const t of ftsNames(db)) db.prepare(`INSERT INTO ${qi(t)}(${qi(t)}) VALUES ('optimize')`).run();
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

// 2. the rounds
const SIDES = ['before', 'after', 'control'];
const samples = {};
for (const side of SIDES) {
  samples[side] = {};
  for (const q of queries) samples[side][q.name] = { warm: [], cold: [] };
}
const fileOf = (side) => path.join(copies[side], TIER1);
let turn = 0;
const inTurn = () => {
  const k = turn++ % SIDES.length;
  return [...SIDES.slice(k), ...SIDES.slice(0, k)];
};
for (let r = 0; r < rounds; r++) {
  const conns = Object.fromEntries(SIDES.map((side) => [side, new Database(fileOf(side), { readonly: true })]));
  for (const q of queries) {
    const stmts = Object.fromEntries(SIDES.map((side) => [side, conns[side].prepare(q.sql)]));
    for (const side of SIDES) stmts[side].all(...q.params);
    for (let i = 0; i < runs; i++)
      for (const side of inTurn()) samples[side][q.name].warm.push(timed(() => stmts[side].all(...q.params)));
  }
  for (const side of SIDES) conns[side].close();
  for (const q of queries)
    for (let i = 0; i < coldRuns; i++)
      for (const side of inTurn()) {
        evict(fileOf(side));
        const cold = new Database(fileOf(side), { readonly: true });
        const stmt = cold.prepare(q.sql);
        samples[side][q.name].cold.push(timed(() => stmt.all(...q.params)));
        cold.close();
      }
  console.error(`round ${r + 1}/${rounds} done`);
}

// 3. the figures
const fmt = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const p50 = (side, q, k) => quantile(samples[side][q.name][k], 0.5);
const lines = [];
lines.push(
  '| query | warm p50 before -> after (ms) | ratio | noise (control/before) | warm p95 before -> after | cold p50 before -> after | ratio | noise (control/before) |',
);
lines.push('|---|---|---|---|---|---|---|---|');
for (const q of queries) {
  const b = samples.before[q.name];
  const a = samples.after[q.name];
  lines.push(
    `| ${q.name} | ${fmt(p50('before', q, 'warm'))} -> ${fmt(p50('after', q, 'warm'))} | ${(p50('after', q, 'warm') / p50('before', q, 'warm')).toFixed(2)}x | ${(p50('control', q, 'warm') / p50('before', q, 'warm')).toFixed(2)}x | ${fmt(quantile(b.warm, 0.95))} -> ${fmt(quantile(a.warm, 0.95))} | ${fmt(p50('before', q, 'cold'))} -> ${fmt(p50('after', q, 'cold'))} | ${(p50('after', q, 'cold') / p50('before', q, 'cold')).toFixed(2)}x | ${(p50('control', q, 'cold') / p50('before', q, 'cold')).toFixed(2)}x |`,
  );
}
const sizes = {};
for (const [name, dir] of Object.entries(copies)) {
  const db = new Database(path.join(dir, TIER1), { readonly: true });
  sizes[name] = {
    fileBytes: fs.statSync(path.join(dir, TIER1)).size,
    ftsData: Object.fromEntries(
      ftsNames(db).map((t) => [
        t,
        Number(
          db
            .prepare(`SELECT sum(length(block)) FROM ${qi(`${t}_data`)}`)
            .pluck()
            .get(),
        ),
      ]),
    ),
  };
  db.close();
}
const optimizeResult = run.doc.results.find((x) => x.type === 'OPTIMIZE_FTS' && x.database === 'tier1');
console.log(
  `# search impact, ${new Date().toISOString()}, Node ${process.version}, load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(
  `queries on ${TIER1}; ${rounds} rounds; warm: ${runs} turns a round; cold: ${coldRuns} turns a round (vmtouch -e); a turn times before, after and control in rotating order`,
);
console.log('');
console.log(lines.join('\n'));
console.log('');
console.log('| copy | tier1 file | messages_fts _data |');
console.log('|---|---|---|');
for (const [name, s] of Object.entries(sizes))
  console.log(`| ${name} | ${(s.fileBytes / 1e6).toFixed(1)} MB | ${(s.ftsData.messages_fts / 1e6).toFixed(1)} MB |`);
const ratio = (x, y) => `${((x / y - 1) * 100).toFixed(2)}%`;
console.log('');
console.log(
  `after --run against the reference (VACUUM + optimize + VACUUM): file ${ratio(sizes.after.fileBytes, sizes.reference.fileBytes)}, messages_fts _data ${ratio(sizes.after.ftsData.messages_fts, sizes.reference.ftsData.messages_fts)}; bounded --run: messages_fts _data ${ratio(sizes.bounded.ftsData.messages_fts, sizes.reference.ftsData.messages_fts)}`,
);
console.log(
  `--run (may block) took ${run.seconds.toFixed(1)} s: ${run.doc.results.map((x) => `${x.type} ${x.database} ${x.status}`).join(', ')}`,
);
console.log(`  OPTIMIZE_FTS tier1: ${optimizeResult?.message ?? 'not run'}`);
console.log(
  `--run (default budget) took ${bounded.seconds.toFixed(1)} s: ${bounded.doc.results.map((x) => `${x.type} ${x.database} ${x.status}${x.writeLock ? ` (longest hold ${x.writeLock.longestMs} ms)` : ''}`).join(', ')}`,
);
console.log('probes of the --run (p50 ms before -> after):');
for (const p of run.doc.probes ?? [])
  console.log(
    `  ${p.name}: ${p.before?.p50Ms ?? '-'} -> ${p.after?.p50Ms ?? '-'} (p95 ${p.before?.p95Ms ?? '-'} -> ${p.after?.p95Ms ?? '-'})`,
  );
if (!process.argv.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });

function chooseQueries(file) {
  const db = new Database(file, { readonly: true });
  // The terms by how many documents hold them (fts5vocab in the connection's temp schema: nothing is written to the brain).
  db.exec(`CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, 'messages_fts', 'row')`);
  const common = db.prepare('SELECT term FROM temp.v ORDER BY doc DESC LIMIT 2').pluck().all();
  const rare = db.prepare('SELECT term FROM temp.v WHERE doc >= 5 ORDER BY doc ASC LIMIT 1').pluck().get();
  const terms = Number(db.prepare('SELECT count(*) FROM temp.v').pluck().get());
  const median = db
    .prepare('SELECT term FROM temp.v ORDER BY doc DESC LIMIT 1 OFFSET ?')
    .pluck()
    .get(Math.floor(terms / 2));
  const conversation = db
    .prepare('SELECT conversation_id FROM messages ORDER BY id DESC LIMIT 1 OFFSET 500')
    .pluck()
    .get();
  const recent = db.prepare('SELECT created_at FROM messages ORDER BY id DESC LIMIT 1 OFFSET 20000').pluck().get();
  db.close();
  const match = 'SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?';
  return [
    { name: `term, common ('${common[0]}')`, sql: match, params: [common[0]] },
    { name: `term, median ('${median}')`, sql: match, params: [median] },
    { name: `term, rare ('${rare}')`, sql: match, params: [rare] },
    { name: `phrase ('${common[0]} ${common[1]}')`, sql: match, params: [`"${common[0]} ${common[1]}"`] },
    { name: `prefix ('${common[0].slice(0, 3)}*')`, sql: match, params: [`${common[0].slice(0, 3)}*`] },
    {
      name: `top-20 by bm25 ('${common[1]}')`,
      sql: 'SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rank LIMIT 20',
      params: [common[1]],
    },
    {
      name: 'one conversation',
      sql: 'SELECT id, role, created_at FROM messages WHERE conversation_id = ? ORDER BY created_at',
      params: [conversation],
    },
    { name: 'recent-range count', sql: 'SELECT count(*) FROM messages WHERE created_at >= ?', params: [recent] },
  ];
}

function ftsNames(db) {
  return db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'")
    .pluck()
    .all();
}
function qi(name) {
  return `"${name.replace(/"/g, '""')}"`;
}
function timed(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
function evict(file) {
  const files = [file, `${file}-wal`, `${file}-shm`].filter((f) => fs.existsSync(f));
  execFileSync('vmtouch', ['-q', '-e', ...files]);
}
