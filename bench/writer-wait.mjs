#!/usr/bin/env node
// How long the application's writers wait while db-maintenance works (issue 15, part 1).
//
//   npm run build && node bench/writer-wait.mjs [--scale 240] [--ops vacuum,analyze,...]
//
// On a fresh copy of the >= 1 GB benchmark brain (bench/.data/brain-<scale>, made by
// bench/assess.mjs) for each operation: an application writer process inserts one message per
// transaction every 10 ms into tier1 (through its FTS triggers), with a 5000 ms busy timeout
// (Python's sqlite3 default); db-maintenance runs the operation with --verbose, whose
// "phase done" log lines (backup, snapshot, operation, verification) date each phase. Every
// write is attributed to the phase it started in; per phase: writes, the longest and p99 wait,
// failed writes ("database is locked" after the busy timeout).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const scale = arg('--scale', 240);
const ops = arg('--ops', 'bare-vacuum,vacuum,analyze,reindex,rebuild-fts,checkpoint,scheduled,incremental').split(',');
const source = path.join(root, 'bench', '.data', `brain-${scale}`);
const work = path.join(root, 'bench', '.data', 'writer-wait');
const driver = createRequire(import.meta.url).resolve('better-sqlite3');
if (!fs.existsSync(source)) throw new Error(`${source} is missing: run node bench/assess.mjs --scale ${scale} first`);

const WRITER = `
const Database = require(${JSON.stringify(driver)});
const fs = require('node:fs');
const db = new Database(process.argv[1], { timeout: 5000 });
const conv = db.prepare('SELECT max(id) FROM conversations').pluck().get();
const ins = db.prepare("INSERT INTO messages(conversation_id, role, content) VALUES (?, 'user', ?)");
const out = [];
let stop = false;
process.on('SIGTERM', () => (stop = true));
let i = 0;
function tick() {
  if (stop) {
    fs.writeFileSync(process.argv[2], JSON.stringify(out));
    db.close();
    process.exit(0);
  }
  const t0 = Date.now();
  let ok = true;
  try {
    ins.run(conv, 'writer message ' + i++ + ' about the application keeps writing');
  } catch (e) {
    ok = false;
  }
  out.push([t0, Date.now() - t0, ok ? 1 : 0]);
  setTimeout(tick, 10);
}
process.stdout.write('ready\\n');
tick();
`;

const quantile = (xs, q) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

function flagsOf(op) {
  if (op === 'scheduled') return ['--scheduled'];
  // incremental, and dead-weight: the benchmark brain as made, whose messages_fts is 47% dead
  // weight (the optimize runs as 'merge' steps into one segment within the budget).
  if (op === 'incremental' || op === 'dead-weight') return ['--run', '--db', 'tier1'];
  return [`--${op}`, '--db', 'tier1'];
}

// The peer: VACUUM and its TRUNCATE checkpoint through better-sqlite3, nothing else.
const BARE = `
const Database = require(${JSON.stringify(driver)});
const db = new Database(process.argv[1], { timeout: 5000 });
const t0 = Date.now();
db.exec('VACUUM');
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
process.stdout.write(JSON.stringify({ results: [{ type: 'VACUUM', status: 'ok', durationMs: Date.now() - t0 }] }));
`;

/**
 * incremental: tier1 switched to auto_vacuum=INCREMENTAL (a VACUUM), then 45% of its messages
 * deleted by id range through its FTS triggers, as the application would, and the index
 * optimized: about a third of the pages free.
 */
function prepareIncremental(tier1, config) {
  const cfg = JSON.parse(fs.readFileSync(config, 'utf8'));
  cfg.maintenance = { ...(cfg.maintenance ?? {}), autoVacuum: 'incremental' };
  fs.writeFileSync(config, JSON.stringify(cfg));
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const db = new Database(tier1);
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  const max = Number(db.prepare('SELECT max(id) FROM messages').pluck().get());
  db.prepare('DELETE FROM messages WHERE id <= ?').run(Math.floor(max * 0.45));
  // The delete markers merged away, so that the index's pages are free too.
  db.prepare("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')").run();
  db.pragma('wal_checkpoint(TRUNCATE)');
  const facts = {
    pages: Number(db.pragma('page_count', { simple: true })),
    free: Number(db.pragma('freelist_count', { simple: true })),
    pageSize: Number(db.pragma('page_size', { simple: true })),
  };
  db.close();
  console.error(
    `incremental: ${facts.free} of ${facts.pages} pages free (${((facts.free / facts.pages) * 100).toFixed(1)}%)`,
  );
  return facts;
}

const rows = [];
for (const op of ops) {
  fs.rmSync(work, { recursive: true, force: true });
  spawnSync('cp', ['-a', source, work]);
  fs.rmSync(path.join(work, '.db-maintenance'), { recursive: true, force: true });
  const tier1 = path.join(work, 'tier1', 'conversations.db');
  const config = path.join(work, 'maintenance.config.json');
  const incremental = op === 'incremental' ? prepareIncremental(tier1, config) : null;
  const writes = path.join(work, 'writes.json');
  const writer = spawn(process.execPath, ['-e', WRITER, tier1, writes], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  await new Promise((r) => setTimeout(r, 1000)); // a second of writes before: the baseline
  const started = Date.now();
  const args =
    op === 'bare-vacuum' ? ['-e', BARE, tier1] : [bin, '--config', config, ...flagsOf(op), '--verbose', '--json'];
  const tool = spawnSync('/usr/bin/time', ['-f', 'RSS %M', process.execPath, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const ended = Date.now();
  const rssMb = Number(/RSS (\d+)\s*$/.exec(tool.stderr)?.[1] ?? 0) / 1024;
  // The tool's own account: each result's longest and total hold of the write lock.
  let holds = '';
  let bareMs = null;
  try {
    const out = JSON.parse(tool.stdout);
    const results =
      out.results ??
      out.lanes?.flatMap((l) => [...(l.retention?.items ?? []), ...(l.maintenance?.results ?? [])]) ??
      [];
    holds = results
      .filter((r) => r.writeLock?.holds > 0 || r.deferred)
      .map((r) =>
        r.deferred
          ? `${r.type} ${r.database} deferred (est. ${r.deferred.estimatedHoldMs} ms)`
          : `${r.type} ${r.database}${r.bounded ? ' (bounded)' : ''} ${r.writeLock.longestMs}/${r.writeLock.totalMs} ms in ${r.writeLock.holds}`,
      )
      .join('; ');
    if (op === 'bare-vacuum') bareMs = results[0].durationMs;
  } catch {
    holds = '(no JSON)';
  }
  if (incremental) {
    const Database = createRequire(import.meta.url)('better-sqlite3');
    const db = new Database(tier1, { readonly: true });
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.close();
    const expected = incremental.pages - incremental.free;
    holds += `; pages ${incremental.pages} (${incremental.free} free) -> ${pages}, a VACUUM's freelist reclaim would leave ${expected} (${(((pages - expected) / expected) * 100).toFixed(2)}% more)`;
  }
  await new Promise((r) => setTimeout(r, 1000));
  writer.kill('SIGTERM');
  await new Promise((resolve) => writer.once('exit', resolve));
  const samples = JSON.parse(fs.readFileSync(writes, 'utf8'));
  if (process.argv.includes('--keep')) {
    // For a closer look: the tool's log and every write (start ms, wait ms, ok) beside each other.
    fs.writeFileSync(path.join(root, 'bench', '.data', `writer-wait-${op}.log`), tool.stderr);
    fs.writeFileSync(path.join(root, 'bench', '.data', `writer-wait-${op}.writes.json`), JSON.stringify(samples));
  }
  // Phases from the log: each "phase done" line ends a phase that began where the last one ended.
  const phases = [];
  let from = started;
  for (const line of tool.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    let j;
    try {
      j = JSON.parse(line);
    } catch {
      continue;
    }
    if (j.msg !== 'phase done') continue;
    const at = Date.parse(j.time);
    phases.push({ name: `${j.task ?? ''} ${j.phase}`.trim(), from: at - j.ms, to: at });
    from = at;
  }
  phases.push({ name: 'rest of the run', from, to: ended });
  if (phases.length > 1) phases.unshift({ name: 'start (assessment, plan)', from: started, to: phases[0].from });
  const before = samples.filter((s) => s[0] < started);
  const during = samples.filter((s) => s[0] >= started && s[0] <= ended);
  const report = (name, xs) => ({
    op,
    phase: name,
    writes: xs.length,
    longest: Math.max(0, ...xs.map((s) => s[1])),
    p99: quantile(
      xs.map((s) => s[1]),
      0.99,
    ),
    failed: xs.filter((s) => s[2] === 0).length,
  });
  rows.push(report('(writer alone, 1 s before)', before));
  for (const p of phases) {
    const xs = during.filter((s) => s[0] >= p.from && s[0] < p.to);
    if (xs.length) rows.push(report(p.name, xs));
  }
  rows.push({
    ...report('whole run', during),
    exit: tool.status,
    seconds: ((ended - started) / 1000).toFixed(1),
    rssMb: rssMb.toFixed(1),
    holds,
    bareMs,
  });
  console.error(
    `${op}: exit ${tool.status}, ${((ended - started) / 1000).toFixed(1)} s, ${during.length} writes, RSS ${rssMb.toFixed(1)} MB; ${holds}`,
  );
}
fs.rmSync(work, { recursive: true, force: true });

console.log('| operation | phase | writes | longest wait (ms) | p99 (ms) | failed |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const extra = r.exit === undefined ? '' : ` (exit ${r.exit}, ${r.seconds} s, peak RSS ${r.rssMb} MB)`;
  console.log(`| ${r.op} | ${r.phase}${extra} | ${r.writes} | ${r.longest} | ${r.p99} | ${r.failed} |`);
}
console.log('');
console.log('Write-lock holds as the tool reports them (longest/total ms in N holds):');
for (const r of rows.filter((x) => x.holds !== undefined)) console.log(`- ${r.op}: ${r.holds || '-'}`);
const bare = rows.find((r) => r.op === 'bare-vacuum' && r.bareMs !== null && r.exit !== undefined);
const safe = rows.find((r) => r.op === 'vacuum' && r.exit !== undefined);
if (bare && safe) {
  const bareS = bare.bareMs / 1000;
  const hold = Number(/VACUUM tier1 (\d+)\//.exec(safe.holds)?.[1] ?? 0);
  console.log('');
  console.log(
    `Explicit --vacuum: longest writer wait ${safe.longest} ms, ${(safe.longest / bare.bareMs).toFixed(2)}x the bare VACUUM's ${bareS.toFixed(1)} s (target <= 1.1x); its VACUUM held the lock ${hold} ms (${(hold / bare.bareMs).toFixed(2)}x); end to end ${safe.seconds} s, ${(Number(safe.seconds) / bareS).toFixed(2)}x (target <= 2.0x)`,
  );
}
