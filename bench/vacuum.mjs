#!/usr/bin/env node
// Safe VACUUM against its peers, measured side by side, and peak RSS of every operation.
//
//   npm run build && node bench/vacuum.mjs [--scale 240] [--rounds 3]
//
// On a fresh copy of the >= 1 GB fragmented tier1 of the benchmark brain (bench/assess.mjs
// builds it), each round runs, in turn:
//   unsafe : the naive way: `cp` of the live database file, then VACUUM through better-sqlite3;
//   bare   : VACUUM through better-sqlite3, nothing else;
//   safe   : `db-maintenance --vacuum --db tier1`, the whole CLI: assessment, lock, preflight,
//            backup (VACUUM INTO + fsync + verify), VACUUM + checkpoint, verification.
// Targets: safe <= 1.0 x unsafe and <= 2.0 x bare (medians), peak RSS <= 150 MB per operation.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, measure, median, writeTier1Config } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const sqlite = path.join(root, 'node_modules', 'better-sqlite3');
const scale = arg('--scale', 240);
const rounds = arg('--rounds', 3);
const source = path.join(root, 'bench', '.data', `brain-${scale}`, 'tier1', 'conversations.db');
if (!fs.existsSync(source)) {
  console.error(`no benchmark brain at ${source}: run node bench/assess.mjs --scale ${scale} first`);
  process.exit(2);
}
const work = path.join(root, 'bench', '.data', 'vacuum-work');
const db = path.join(work, 'tier1.db');
const config = path.join(work, 'maintenance.config.json');

function fresh() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  execFileSync('cp', [source, db]);
  execFileSync('sync');
  // Let the disk settle after the copy (and the deletes before it): this VM's write speed
  // swings widely right after a burst, and every contender gets the same pause.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
  writeTier1Config(config);
}

const vacuumScript = `const D = require(${JSON.stringify(sqlite)}); const db = new D(process.argv[1]); db.exec('VACUUM'); db.close();`;
const times = { unsafe: [], bare: [], safe: [] };
let safeRss = 0;
let sizes = null;
for (let r = 0; r < rounds; r++) {
  fresh();
  times.unsafe.push(
    measure('sh', ['-c', `cp "${db}" "${db}.backup" && "${process.execPath}" -e "$0" "${db}"`, vacuumScript]).s,
  );
  fresh();
  times.bare.push(measure(process.execPath, ['-e', vacuumScript, db]).s);
  fresh();
  const before = fs.statSync(db).size;
  const safe = measure(process.execPath, [bin, '--config', config, '--vacuum', '--db', 'tier1', '--json']);
  times.safe.push(safe.s);
  safeRss = Math.max(safeRss, safe.rssMb);
  const res = JSON.parse(safe.stdout).results[0];
  if (res.status !== 'ok') throw new Error(`safe VACUUM did not succeed: ${res.message}`);
  sizes = { before, after: res.sizeAfter };
  console.error(
    `round ${r + 1}: unsafe ${times.unsafe[r].toFixed(2)} s, bare ${times.bare[r].toFixed(2)} s, safe ${times.safe[r].toFixed(2)} s`,
  );
}

// Peak RSS of every operation on the 1 GB database (one run each, on a fresh copy).
const rss = { VACUUM: safeRss };
for (const [name, flags] of [
  ['ANALYZE', ['--analyze']],
  ['REINDEX', ['--reindex']],
  ['REBUILD_FTS', ['--rebuild-fts']],
  ['CHECKPOINT', ['--checkpoint']],
  ['--run (all due tasks)', ['--run']],
  ['--assess --deep', ['--assess', '--deep']],
]) {
  fresh();
  rss[name] = measure(process.execPath, [bin, '--config', config, ...flags, '--db', 'tier1', '--json']).rssMb;
}
fs.rmSync(work, { recursive: true, force: true });

const m = { unsafe: median(times.unsafe), bare: median(times.bare), safe: median(times.safe) };
const result = {
  databaseBytes: sizes.before,
  afterBytes: sizes.after,
  rounds,
  medianSeconds: m,
  safeVsUnsafe: +(m.safe / m.unsafe).toFixed(2),
  safeVsBare: +(m.safe / m.bare).toFixed(2),
  peakRssMb: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round(v)])),
};
console.log(JSON.stringify(result, null, 2));
console.log(`
| measurement | value | target |
|---|---|---|
| safe VACUUM / unsafe cp + VACUUM (${(sizes.before / 2 ** 30).toFixed(2)} GiB -> ${(sizes.after / 2 ** 30).toFixed(2)} GiB) | ${m.safe.toFixed(2)} s / ${m.unsafe.toFixed(2)} s = ${result.safeVsUnsafe}x | <= 1.0x |
| safe VACUUM / bare VACUUM | ${m.safe.toFixed(2)} s / ${m.bare.toFixed(2)} s = ${result.safeVsBare}x | <= 2.0x |
| peak RSS, every operation | ${Object.entries(result.peakRssMb)
  .map(([k, v]) => `${k} ${v} MB`)
  .join(', ')} | <= 150 MB |`);
