#!/usr/bin/env node
// A fleet on one host: --assess over 1,000 small tenant databases with 1 and with 2 worker
// threads, measured side by side (interleaved rounds, medians), with peak RSS.
//
//   npm run build && node bench/fleet.mjs [--tenants 1000] [--rounds 3] [--maintain]
//
// --maintain measures `--vacuum --db tenants` instead (every tenant backed up, VACUUMed,
// verified; maintenance.workers 1 vs 2), the parallel maintenance of the fleet; no target.
//
// Each tenant is a small brain database (the demo brain's tier1 schema: conversations, messages with
// an external-content FTS5 index, agent_interactions, routing_decisions; 40 conversations,
// ~400 messages, about 400 KB), made once and copied (at rest) into bench/.data/fleet-N/tenants/.
// Target: 2 workers <= 0.65x the time of 1 worker; peak RSS <= 200 MB.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { arg, median } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'db-maintenance.js');
const Database = createRequire(import.meta.url)('better-sqlite3');
const tenants = arg('--tenants', 1000);
const rounds = arg('--rounds', 3);
const maintain = process.argv.includes('--maintain');
const action = maintain ? ['--vacuum', '--db', 'tenants'] : ['--assess'];
const dir = path.join(root, 'bench', '.data', `fleet-${tenants}`);
const NOW = '2026-11-20T12:00:00.000Z';

if (!fs.existsSync(path.join(dir, 'done'))) {
  console.log(`making ${tenants} tenant databases...`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'tenants'), { recursive: true });
  const { TIER1_SCHEMA } = await import(path.join(root, 'dist', 'demo', 'schema.js'));
  const template = path.join(dir, 'template.db');
  const db = new Database(template);
  db.exec(TIER1_SCHEMA);
  db.prepare(`INSERT INTO sessions(session_id, user_id) VALUES ('s1', 'u1')`).run();
  const words =
    'memory agent vector index query routing pattern context session tool result error retry cache token model prompt embed search rank'.split(
      ' ',
    );
  db.transaction(() => {
    for (let c = 0; c < 40; c++) {
      const started = new Date(Date.parse(NOW) - c * 86_400_000).toISOString();
      const id = Number(
        db
          .prepare(`INSERT INTO conversations(session_id, conversation_id, started_at) VALUES ('s1', ?, ?)`)
          .run(`c${c}`, started).lastInsertRowid,
      );
      for (let m = 0; m < 10; m++) {
        db.prepare(`INSERT INTO messages(conversation_id, role, content, created_at) VALUES (?, 'user', ?, ?)`).run(
          id,
          Array.from({ length: 30 }, (_, k) => words[(c * 7 + m * 3 + k * 11) % words.length]).join(' '),
          started,
        );
      }
    }
  })();
  db.close();
  for (let i = 0; i < tenants; i++)
    fs.copyFileSync(template, path.join(dir, 'tenants', `tenant-${String(i).padStart(5, '0')}.db`));
  fs.rmSync(template);
  const main = new Database(path.join(dir, 'main.db'));
  main.exec(TIER1_SCHEMA);
  main.close();
  fs.writeFileSync(path.join(dir, 'done'), '');
}

function config(workers) {
  const file = path.join(dir, `maintenance-${workers}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      databases: { main: { path: 'main.db' }, tenants: { path: 'tenants/*.db' } },
      conversations: { database: 'main' },
      patterns: {
        database: 'main',
        table: 'learned_patterns',
        confidenceColumn: 'confidence_score',
        lastUsedColumn: 'last_seen',
      },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
      assess: { workers },
      maintenance: { workers, keepBackups: 1 },
      stateDir: `.state-${workers}`,
    }),
  );
  return file;
}

function measure(workers) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%M', process.execPath, bin, '--config', config(workers), ...action, '--json'],
    {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      env: { ...process.env, DB_MAINTENANCE_NOW: NOW },
    },
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const report = JSON.parse(r.stdout);
  if (maintain) {
    const ok = report.results.filter((x) => x.status === 'ok').length;
    if (ok !== tenants) throw new Error(`${ok} of ${tenants} databases maintained: ${r.stderr.slice(0, 500)}`);
  } else if (report.databases.length !== tenants + 1)
    throw new Error(`assessed ${report.databases.length} databases, expected ${tenants + 1}`);
  return { s, rss: Number(r.stderr.trim().split('\n').pop()) / 1024, problems: report.problems.length };
}

measure(1); // warm the page cache
const one = [];
const two = [];
const rss = [];
for (let r = 0; r < rounds; r++) {
  const a = measure(1);
  const b = measure(2);
  one.push(a.s);
  two.push(b.s);
  rss.push(a.rss, b.rss);
  console.log(
    `  round ${r + 1}: 1 worker ${a.s.toFixed(2)} s (${a.rss.toFixed(0)} MB), 2 workers ${b.s.toFixed(2)} s (${b.rss.toFixed(0)} MB), problems ${a.problems}/${b.problems}`,
  );
}
const what = maintain
  ? `--vacuum (backup, VACUUM, verify) of ${tenants} tenant databases`
  : `--assess over ${tenants} tenant databases`;
console.log(
  `\n| ${what} | 1 worker | 2 workers | 2 / 1${maintain ? '' : ' (target <= 0.65x)'} | peak RSS${maintain ? '' : ' (target <= 200 MB)'} |`,
);
console.log('|---|---|---|---|---|');
console.log(
  `| medians of ${rounds} | ${median(one).toFixed(2)} s | ${median(two).toFixed(2)} s | ${(median(two) / median(one)).toFixed(2)}x | ${Math.max(...rss).toFixed(0)} MB |`,
);
