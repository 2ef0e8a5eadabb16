import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TIER1_SCHEMA } from '../src/demo/schema.js';
import { cli, ROOT, tempDir, writeConfig } from './helpers.js';

/** A fleet: `n` small tenant databases under tenants/ (copies of one made at rest), plus a main database. */
function fleet(n: number): { dir: string; config: string; tenant: (i: number) => string } {
  const dir = tempDir('dbm-fleet-');
  fs.mkdirSync(path.join(dir, 'tenants'));
  const template = path.join(dir, 'template.db');
  const db = new Database(template);
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); CREATE INDEX idx_notes_body ON notes(body);');
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
    patterns: { database: 'main', table: 'learned_patterns', confidenceColumn: 'confidence_score', lastUsedColumn: 'last_seen' },
    events: { path: 'events.jsonl' },
    logs: { dir: 'logs' },
    assess: { workers: 2 },
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
    const a = JSON.parse(r.stdout) as { databases: Array<{ name: string; status: string }>; problems: Array<{ database: string; code: string }> };
    expect(a.databases).toHaveLength(1001);
    expect(a.databases.filter((d) => d.status === 'ok')).toHaveLength(1000);
    expect(a.databases.find((d) => d.status === 'error')!.name).toBe('tenants/t0417.db');
    expect(a.problems).toEqual([expect.objectContaining({ database: 'tenants/t0417.db', code: 'DB_NOT_SQLITE' })]);
    expect(a.databases.map((d) => d.name).slice(0, 3)).toEqual(['main', 'tenants/t0000.db', 'tenants/t0001.db']); // in order
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([expect.stringMatching(/database tenants\/t0417\.db .* is not a SQLite database/)]);
  });

  it('--db selects the whole fleet by its key or one member; maintenance of a member works (backup names are file-safe)', () => {
    const f = fleet(20);
    const group = JSON.parse(cli(['--config', f.config, '--assess', '--db', 'tenants', '--json']).stdout) as { databases: unknown[] };
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
