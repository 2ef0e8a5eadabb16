#!/usr/bin/env node
// Campaign: events.jsonl written by a real application of each kind while --compress-events
// (and --enforce-retention) run, are SIGKILLed at random moments, and run again.
//
//   npm run build && node bench/live-files.mjs [--trials 100] [--seed-mb 100] [--kinds per-line,held,held-split-hook,other-uid]
//
// Kinds (test/fixtures/appender.mjs): per-line (open, append, close), held (one O_APPEND
// descriptor for its life: compressed in place), held-split-hook (held, every line in two
// writes, events.afterSwapCommand sends SIGHUP so it reopens: compressed by the swap),
// other-uid (held, as uid 65534 through setpriv; needs root).
// The clock is pinned 30 days ahead so every line, the appender's too, is old enough to move:
// every run has lines to move. Before each trial 1 MB of fixed-width seed lines is appended
// (not for held-split-hook: seeding is a second writer, which would tear the split lines itself).
// At the end of each kind every line of the live file and of every archive (gzip -dc) is
// counted: lost, duplicated and torn must be 0, and the share of runs that moved lines is shown.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const appenderJs = path.join(root, 'test', 'fixtures', 'appender.mjs');
const trials = arg('--trials', 100);
const seedMb = arg('--seed-mb', 100);
const kinds = arg('--kinds', 'per-line,held,held-split-hook,other-uid').split(',');
const NOW = new Date(Date.now() + 30 * 86_400_000).toISOString();
const env = { ...process.env, DB_MAINTENANCE_NOW: NOW };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Fixed-width (128 bytes) seed lines from `from`, `bytes` of them. */
function seedLines(from, bytes) {
  const n = Math.floor(bytes / 128);
  const out = [];
  for (let i = 0; i < n; i++) {
    const e = { timestamp: new Date(Date.now() - 40 * 86_400_000).toISOString(), who: 'seed', seq: from + i };
    const bare = JSON.stringify({ ...e, pad: '' });
    out.push(JSON.stringify({ ...e, pad: 'x'.repeat(127 - bare.length) }));
  }
  return { text: `${out.join('\n')}\n`, n };
}

function startAppender(file, kind, asUid) {
  const k = kind === 'held-split-hook' ? 'held-split' : kind === 'other-uid' ? 'held' : kind;
  const argv = [appenderJs, file, k, 'app'];
  const child =
    asUid === undefined
      ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('setpriv', [`--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', process.execPath, ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const closed = new Promise((r) => child.on('close', r));
  const ready = new Promise((r) => child.stderr.on('data', (d) => String(d).includes('ready') && r()));
  return {
    child,
    ready,
    async stop() {
      child.kill('SIGTERM');
      await closed;
      return JSON.parse(out.trim()).written;
    },
  };
}

function run(config, args, killAfterMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, '--config', config, ...args, '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      let moved = 0;
      try {
        moved = JSON.parse(out)
          .items.filter((i) => i.type === 'COMPRESS_EVENTS')
          .reduce((a, i) => a + i.rowsAffected, 0);
      } catch {
        // killed: no document
      }
      resolve({ code, signal, moved });
    });
  });
}

function count(dir, expected) {
  const files = [
    path.join(dir, 'events.jsonl'),
    ...fs
      .readdirSync(dir)
      .filter((n) => /^events_archive_\d{6}\.jsonl\.gz$/.test(n))
      .map((n) => path.join(dir, n)),
  ];
  const seen = { seed: new Uint8Array(expected.seed), app: new Uint8Array(expected.app) };
  let torn = 0;
  let dup = 0;
  for (const f of files) {
    const text = f.endsWith('.gz')
      ? execFileSync('gzip', ['-dc', f], { maxBuffer: 2 ** 31, encoding: 'utf8' })
      : fs.readFileSync(f, 'utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        torn++;
        continue;
      }
      const s = seen[e.who];
      if (!s || e.seq >= s.length) {
        torn++;
        continue;
      }
      if (s[e.seq]) dup++;
      s[e.seq] = 1;
    }
  }
  const lost = seen.seed.reduce((a, x) => a + (x ? 0 : 1), 0) + seen.app.reduce((a, x) => a + (x ? 0 : 1), 0);
  return { lost, dup, torn };
}

const rows = [];
for (const kind of kinds) {
  if (kind === 'other-uid' && process.getuid?.() !== 0) {
    console.log('other-uid: skipped (needs root for setpriv)');
    continue;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dbm-live-${kind}-`));
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'events.jsonl');
  let seeded = 0;
  const first = seedLines(0, seedMb * 1024 * 1024);
  fs.writeFileSync(file, first.text);
  seeded += first.n;
  const asUid = kind === 'other-uid' ? 65534 : undefined;
  if (asUid !== undefined) fs.chownSync(file, asUid, asUid);
  const app = startAppender(file, kind, asUid);
  await app.ready;
  const config = path.join(dir, 'maintenance.config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      databases: { x: { path: 'x.db' } },
      conversations: { database: 'x' },
      patterns: { database: 'x' },
      events: {
        path: 'events.jsonl',
        ...(kind === 'held-split-hook' ? { afterSwapCommand: `kill -HUP ${app.child.pid}` } : {}),
      },
      logs: { dir: 'logs' },
    }),
  );
  // x.db: an empty database, so that --enforce-retention's other items have something to look at.
  spawnSync(process.execPath, [
    '-e',
    `new (require(${JSON.stringify(path.join(root, 'node_modules', 'better-sqlite3'))}))(${JSON.stringify(path.join(dir, 'x.db'))}).exec('CREATE TABLE conversations(id INTEGER PRIMARY KEY, started_at TEXT); CREATE TABLE patterns(id INTEGER PRIMARY KEY, confidence REAL, last_used TEXT)')`,
  ]);
  // The first run moves the big seed; the second, timed, is what a trial's run takes, so the kills land across it.
  let moves = (await run(config, ['--compress-events'], null)).moved > 0 ? 1 : 0;
  if (kind !== 'held-split-hook') {
    fs.appendFileSync(file, seedLines(seeded, 1024 * 1024).text);
    seeded += Math.floor((1024 * 1024) / 128);
  }
  const t0 = Date.now();
  moves += (await run(config, ['--compress-events'], null)).moved > 0 ? 1 : 0;
  const span = Math.max(100, Date.now() - t0);
  let runs = 2;
  let killedMid = 0;
  for (let t = 0; t < trials; t++) {
    // Seeding is one more writer: into a file whose application writes a line in two writes it
    // would itself tear that line, so the split kind gets none (the pinned clock makes its own lines old).
    if (kind !== 'held-split-hook') {
      const more = seedLines(seeded, 1024 * 1024);
      fs.appendFileSync(file, more.text);
      seeded += more.n;
    }
    const args = t % 2 === 0 ? ['--compress-events'] : ['--enforce-retention'];
    const kill = t % 2 === 1 || Math.random() < 0.5 ? Math.floor(Math.random() * span * 1.2) : null;
    const r = await run(config, args, kill);
    runs++;
    if (r.signal === 'SIGKILL') killedMid++;
    if (r.moved > 0) moves++;
    const again = await run(config, ['--compress-events'], null);
    runs++;
    if (again.moved > 0) moves++;
    if (again.code !== 0 && again.code !== 6) console.log(`${kind} trial ${t}: re-run exit ${again.code}`);
  }
  await sleep(100);
  const written = await app.stop();
  // A last run after the appender stopped, so nothing stays in a swapped-out file.
  await run(config, ['--compress-events'], null);
  const c = count(dir, { seed: seeded, app: written });
  rows.push({
    kind,
    trials,
    runs,
    killedMid,
    spanMs: span,
    movedShare: moves / runs,
    seedLines: seeded,
    appLines: written,
    ...c,
  });
  console.log(JSON.stringify(rows.at(-1)));
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(
  '\n| kind | trials | runs | killed mid-run | runs that moved lines | lines (seed + app) | lost | duplicated | torn |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.kind} | ${r.trials} | ${r.runs} | ${r.killedMid} | ${(100 * r.movedShare).toFixed(0)}% | ${r.seedLines} + ${r.appLines} | ${r.lost} | ${r.dup} | ${r.torn} |`,
  );
}
