#!/usr/bin/env node
// Runs every command on a fresh demo brain (clock pinned) and writes each one's --json output
// (and a few human outputs and error lines) to OUT_DIR, with the values that differ between two
// runs masked (durations, wall-clock times, pids, free disk). Run it before and after a change and
// diff the two directories: `diff -r before after` must be empty for a change that keeps the
// JSON contract (docs/json-output.md).
//   node scripts/json-compat.mjs OUT_DIR
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'db-maintenance.js');
const out = path.resolve(process.argv[2] ?? 'json-compat-out');
const work = '/tmp/dbm-json-compat';
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const env = { ...process.env, DB_MAINTENANCE_NOW: '2026-11-20T12:00:00.000Z' };
delete env.DB_MAINTENANCE_CONFIG;

const VOLATILE_NUMBERS = new Set(['durationMs', 'ms', 'p50Ms', 'p95Ms', 'pid', 'estimatedSeconds']);
const VOLATILE_STRINGS = new Set(['startedAt', 'finishedAt', 'host', 'takenAt', 'lastRun']);
function mask(v, key) {
  if (Array.isArray(v)) return v.map((x) => mask(x, key));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, k)]));
  if (typeof v === 'number' && VOLATILE_NUMBERS.has(key)) return 0;
  if (typeof v === 'string' && VOLATILE_STRINGS.has(key)) return '<time>';
  if (typeof v === 'string') return maskText(v);
  return v;
}
const maskText = (s) =>
  s
    .replace(/\d+(\.\d+)? (GB|MB|KB|B) free/g, '<n> free')
    .replace(/pid \d+/g, 'pid <n>')
    .replace(/took \d+\.\d+ s/g, 'took <t>')
    .replace(/\b\d+\.\d+ (s|min|h)\b/g, '<t>')
    .replace(/p(50|95) \d+(\.\d+)? ms/g, 'p$1 <t>')
    .replace(/ on [^ ]+ \(pid/g, ' on <host> (pid')
    .replaceAll(ROOT, '<root>')
    .replace(new RegExp(`${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g'), '<node>');

let n = 0;
function run(label, args, { json = true } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, env, encoding: 'utf8' });
  let body = r.stdout;
  if (json && r.status !== 2) {
    try {
      body = `${JSON.stringify(mask(JSON.parse(r.stdout)), null, 2)}\n`;
    } catch {
      body = `NOT JSON:\n${r.stdout}`;
    }
  } else body = maskText(body);
  const file = `${String(++n).padStart(2, '0')}-${label}.txt`;
  fs.writeFileSync(
    path.join(out, file),
    `$ db-maintenance ${args.join(' ')}\nexit ${r.status}\n--- stderr\n${maskText(r.stderr)}--- stdout\n${body}`,
  );
}

const cfg = ['--config', path.join(work, 'brain', 'maintenance.config.json')];
run('init-demo', ['--init-demo', path.join(work, 'brain'), '--fts-drift', '--json']);
// A probe, so that the run, scheduled and history documents carry one.
const cfgFile = path.join(work, 'brain', 'maintenance.config.json');
const c = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
c.probes = [
  {
    name: 'search',
    database: 'tier1',
    sql: "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'memory'",
    runs: 3,
  },
];
fs.writeFileSync(cfgFile, JSON.stringify(c, null, 2));
run('assess', [...cfg, '--assess', '--json']);
run('assess-human', [...cfg, '--assess'], { json: false });
run('assess-deep', [...cfg, '--assess', '--deep', '--json']);
run('run-dry', [...cfg, '--run', '--dry-run', '--json']);
run('run-dry-human', [...cfg, '--run', '--dry-run'], { json: false });
run('run', [...cfg, '--run', '--json']);
run('assess-after', [...cfg, '--assess', '--json']);
run('forced', [...cfg, '--vacuum', '--analyze', '--db', 'tier2', '--json']);
run('forced-dry', [...cfg, '--rebuild-fts', '--reindex', '--dry-run', '--json']);
run('checkpoint', [...cfg, '--checkpoint', '--json']);
run('retention-dry', [...cfg, '--enforce-retention', '--dry-run', '--json']);
run('retention', [...cfg, '--enforce-retention', '--json']);
run('retention-human', [...cfg, '--archive', '--prune-patterns'], { json: false });
const archive = fs
  .readdirSync(path.join(work, 'brain'), { recursive: true })
  .map(String)
  .find((f) => f.endsWith('conversation_archive.db'));
const id = archive
  ? execFileSync('sqlite3', [path.join(work, 'brain', archive), 'SELECT min(id) FROM conversations'], {
      encoding: 'utf8',
    }).trim()
  : '1';
run('restore', [...cfg, '--restore-conversation', id, '--json']);
run('compact-dry', [...cfg, '--compact-logs', '--dry-run', '--json']);
run('scheduled-dry', [...cfg, '--scheduled', '--dry-run', '--json']);
run('scheduled', [...cfg, '--scheduled', '--json']);
run('scheduled-again', [...cfg, '--scheduled', '--json']);
run('history', [...cfg, '--history', '--json']);
run('history-db', [...cfg, '--history', '--db', 'tier1', '--json']);
run('history-human', [...cfg, '--history'], { json: false });
run('doctor', [...cfg, '--doctor', '--json']);
run('print-schedule', [...cfg, '--print-schedule', 'cron'], { json: false });
run('metrics', [...cfg, '--assess', '--json', '--metrics-file', path.join(work, 'm.prom')]);
fs.writeFileSync(
  path.join(out, 'metrics.prom'),
  fs
    .readFileSync(path.join(work, 'm.prom'), 'utf8')
    .replace(/^(dbm_\w*(timestamp|duration|latency)\w*(\{[^}]*\})?) .*$/gm, '$1 <v>'),
);
// Bad input: one line, a documented exit code.
run('err-no-action', [...cfg], { json: false });
run('err-two-actions', [...cfg, '--assess', '--run'], { json: false });
run('err-deep', [...cfg, '--history', '--deep'], { json: false });
run('err-days', [...cfg, '--archive', '--days', 'x'], { json: false });
run('err-days-two', [...cfg, '--archive', '--rotate-logs', '--days', '3'], { json: false });
run('err-force', [...cfg, '--archive', '--force'], { json: false });
run('err-schedule-kind', [...cfg, '--print-schedule', 'launchd'], { json: false });
run('err-db', [...cfg, '--assess', '--db', 'nope'], { json: false });
run('err-db-retention', [...cfg, '--archive', '--db', 'tier1'], { json: false });
run('err-scale', ['--init-demo', path.join(work, 'x'), '--scale', '0'], { json: false });
run('err-unknown', ['--frobnicate'], { json: false });
run('err-config', ['--config', path.join(work, 'nope.json'), '--assess'], { json: false });
run('err-metrics-doctor', [...cfg, '--doctor', '--metrics-file', 'x.prom'], { json: false });
// Last, so that the numbers of the outputs above stay as they were.
run('init-config-dry', ['--init-config', path.join(work, 'brain'), '--dry-run', '--json']);
run('err-init-config-exists', ['--init-config', path.join(work, 'brain')], { json: false });
console.log(`${n} outputs in ${out}`);
