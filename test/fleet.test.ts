import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { TIER1_SCHEMA } from '../src/demo/schema.js';
import { runMaintenance } from '../src/maintenance/executor.js';
import { cli, ROOT, tempDir, writeConfig } from './helpers.js';

/** A fleet: `n` small tenant databases under tenants/ (copies of one made at rest), plus a main database. */
function fleet(n: number): { dir: string; config: string; tenant: (i: number) => string } {
  const dir = tempDir('dbm-fleet-');
  fs.mkdirSync(path.join(dir, 'tenants'));
  const template = path.join(dir, 'template.db');
  const db = new Database(template);
  db.exec(
    'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); CREATE INDEX idx_notes_body ON notes(body);',
  );
  const ins = db.prepare('INSERT INTO notes(body) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 30; i++) ins.run(`note ${i}`);
  })();
  db.close();
  const tenant = (i: number): string => path.join(dir, 'tenants', `t${String(i).padStart(4, '0')}.db`);
  for (let i = 0; i < n; i++) fs.copyFileSync(template, tenant(i));
  fs.rmSync(template);
  const main = new Database(path.join(dir, 'main.db'));
  main.exec(TIER1_SCHEMA);
  main.close();
  const config = writeConfig(dir, {
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
    assess: { workers: 2 },
    maintenance: { workers: 2 },
  });
  return { dir, config, tenant };
}

describe('fleets: a glob of databases', () => {
  it('1,000 databases are all assessed (on 2 worker threads); one corrupt among them is reported without stopping the rest', () => {
    const f = fleet(1000);
    fs.writeFileSync(f.tenant(417), Buffer.alloc(8192, 0x41)); // not SQLite at all
    const r = cli(['--config', f.config, '--assess', '--json', '--verbose'], { maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/"workers":2,"databases":1001,"msg":"assessing on worker threads"/);
    const a = JSON.parse(r.stdout) as {
      databases: Array<{ name: string; status: string }>;
      problems: Array<{ database: string; code: string }>;
    };
    expect(a.databases).toHaveLength(1001);
    expect(a.databases.filter((d) => d.status === 'ok')).toHaveLength(1000);
    expect(a.databases.find((d) => d.status === 'error')!.name).toBe('tenants/t0417.db');
    expect(a.problems).toEqual([expect.objectContaining({ database: 'tenants/t0417.db', code: 'DB_NOT_SQLITE' })]);
    expect(a.databases.map((d) => d.name).slice(0, 3)).toEqual(['main', 'tenants/t0000.db', 'tenants/t0001.db']); // in order
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      expect.stringMatching(/database tenants\/t0417\.db .* is not a SQLite database/),
    ]);
  });

  it('--db selects the whole fleet by its key or one member; maintenance of a member works (backup names are file-safe)', () => {
    const f = fleet(20);
    const group = JSON.parse(cli(['--config', f.config, '--assess', '--db', 'tenants', '--json']).stdout) as {
      databases: unknown[];
    };
    expect(group.databases).toHaveLength(20);
    const one = cli(['--config', f.config, '--vacuum', '--db', 'tenants/t0003.db', '--json']);
    expect(one.status, one.stderr).toBe(0);
    const result = JSON.parse(one.stdout).results[0];
    expect(result).toMatchObject({ database: 'tenants/t0003.db', status: 'ok' });
    expect(path.basename(result.backup)).toMatch(/^tenants_t0003\.db-\d{8}T\d{6}Z\.db$/);
    expect(fs.existsSync(result.backup)).toBe(true);
    const unknown = cli(['--config', f.config, '--assess', '--db', 'tenants/nope.db']);
    expect(unknown.status).toBe(2);
  });

  it('maintenance of 40 databases runs on 2 worker threads; a failing one is restored, a corrupt one reported, the others all done', () => {
    const f = fleet(40);
    fs.writeFileSync(f.tenant(11), Buffer.alloc(8192, 0x41)); // not SQLite at all
    const r = cli(['--config', f.config, '--vacuum', '--db', 'tenants', '--json', '--verbose'], {
      env: { DB_MAINTENANCE_INJECT: 'after:VACUUM:tenants/t0007.db' },
    });
    expect(r.status).toBe(3); // the corrupt database (3) outranks the failed task (6)
    expect(r.stderr).toMatch(/"workers":2,"databases":39,"msg":"maintaining on worker threads"/);
    expect(r.stderr).toMatch(/"mostAtOnce":2,"msg":"maintained on worker threads"/);
    const report = JSON.parse(r.stdout) as {
      results: Array<{ database: string; status: string; restored: boolean; backup: string | null }>;
      problems: Array<{ database: string }>;
    };
    expect(report.problems.map((p) => p.database)).toEqual(['tenants/t0011.db']);
    expect(report.results.map((x) => x.database)).toEqual(
      Array.from({ length: 40 }, (_, i) => `tenants/t${String(i).padStart(4, '0')}.db`).filter(
        (n) => n !== 'tenants/t0011.db',
      ),
    ); // in order
    expect(report.results.filter((x) => x.status === 'ok')).toHaveLength(38);
    expect(report.results.find((x) => x.database === 'tenants/t0007.db')).toMatchObject({
      status: 'failed',
      restored: true,
    });
    for (let i = 0; i < 40; i++) {
      if (i === 11) continue;
      const db = new Database(f.tenant(i), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true }), `t${i}`).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM notes').pluck().get(), `t${i}`).toBe(30); // the restore undid the injected delete
      db.close();
    }
    expect(report.results.filter((x) => x.backup && fs.existsSync(x.backup))).toHaveLength(39);
  });

  it('a maintenance worker thread that dies fails its database only; a new thread takes the rest', () => {
    const f = fleet(20);
    const r = cli(['--config', f.config, '--vacuum', '--db', 'tenants', '--json'], {
      env: { DB_MAINTENANCE_INJECT: 'worker-exit:tenants/t0005.db' },
    });
    expect(r.status).toBe(6);
    const results = JSON.parse(r.stdout).results as Array<{ database: string; status: string; message: string }>;
    expect(results.filter((x) => x.status === 'ok')).toHaveLength(19);
    expect(results.find((x) => x.database === 'tenants/t0005.db')).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(
        /worker thread maintaining tenants\/t0005\.db died \(the worker thread exited with code 70\)/,
      ),
    });
    const db = new Database(f.tenant(5), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('parallel maintenance starts a database only when its free space fits beside the ones running', async () => {
    // In-process, from the source (its worker threads load the built worker): the free-space probe is injected.
    const f = fleet(20);
    const size = fs.statSync(f.tenant(0)).size;
    const cfg = JSON.parse(fs.readFileSync(f.config, 'utf8'));
    fs.writeFileSync(f.config, JSON.stringify({ ...cfg, logging: { file: 'dbm.log' } })); // the workers' log lines go there
    const rc = loadConfig(f.config);
    const mostAtOnce = async (free: number): Promise<number> => {
      const lines: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
      const run = await runMaintenance({
        brain: rc,
        dbName: 'tenants',
        dryRun: false,
        requested: ['VACUUM'],
        deep: false,
        now: new Date(),
        logger,
        env: process.env,
        probe: () => ({ free, device: 'one-disk' }),
      });
      expect(run.results.map((x) => x.status)).toEqual(Array(20).fill('ok'));
      return JSON.parse(lines.find((l) => l.includes('maintained on worker threads'))!).mostAtOnce;
    };
    const margin = 16 * 1024 * 1024;
    // One VACUUM needs its backup (1x), 2x beside the database and 1x in the temp directory: 4x.
    expect(await mostAtOnce(margin + 4 * size + size)).toBe(1);
    expect(await mostAtOnce(margin + 100 * size)).toBe(2);
  });

  it('a pattern that matches nothing is an empty fleet, not an error', () => {
    const f = fleet(0);
    const r = cli(['--config', f.config, '--assess', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).databases.map((d: { name: string }) => d.name)).toEqual(['main']);
  });

  it('the Kubernetes CronJob example runs --scheduled hourly with the config from a mounted path', () => {
    const yaml = fs.readFileSync(path.join(ROOT, 'deploy', 'kubernetes-cronjob.yaml'), 'utf8');
    expect(yaml).toMatch(/^kind: CronJob$/m);
    expect(yaml).toMatch(/^\s+schedule: "17 \* \* \* \*"$/m);
    expect(yaml).toMatch(/^\s+concurrencyPolicy: Forbid$/m);
    expect(yaml).toContain('--scheduled');
    expect(yaml).toContain('--metrics-file');
  });
});
