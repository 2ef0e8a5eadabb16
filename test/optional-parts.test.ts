/**
 * A brain that is not the demo: parts of it (conversations, patterns, events, logs) may be
 * absent. Without their section (or with `false`) they are not managed, not assessed, never
 * warned about; an action that needs one says which section is missing; an error about a part
 * fails only the actions that use it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, demoBrain, tempDir, writeConfig } from './helpers.js';

/** One SQLite database with a table and a few deleted rows' worth of free pages, nothing else. */
function singleDatabaseBrain(): { dir: string; db: string } {
  const dir = tempDir();
  const db = path.join(dir, 'app.db');
  const conn = new Database(db);
  conn.exec(`CREATE TABLE "notes" (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`);
  const insert = conn.prepare(`INSERT INTO "notes" (body) VALUES (?)`);
  conn.transaction(() => {
    for (let i = 0; i < 12000; i++) insert.run(`note ${i} `.repeat(40));
  })();
  conn.exec(`DELETE FROM "notes" WHERE id % 2 = 0`);
  conn.close();
  return { dir, db };
}

describe('optional parts of a brain', () => {
  it.each([
    ['omitted', {}],
    ['set to false', { conversations: false, patterns: false, events: false, logs: false }],
  ])('parts %s: --assess, --run, --doctor and --enforce-retention warn about nothing and run', (_, parts) => {
    const { dir } = singleDatabaseBrain();
    const config = writeConfig(dir, { databases: { app: { path: 'app.db' } }, ...parts });
    const assess = cli(['--config', config, '--assess', '--json']);
    expect(assess.status, assess.stderr).toBe(0);
    expect(assess.stderr).toBe('');
    const a = JSON.parse(assess.stdout) as Record<string, unknown>;
    expect([a.events, a.logs, a.retention]).toEqual([null, null, null]);
    // Nothing about events, logs or a demo path in the human report either.
    const human = cli(['--config', config, '--assess']);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stderr).toBe('');
    expect(human.stdout).not.toMatch(/demo-brain|events\.jsonl|EVENTS|LOGS/);

    const run = cli(['--config', config, '--run', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const r = JSON.parse(run.stdout) as { results: { type: string }[]; retentionDue: unknown[] };
    expect(r.results.map((x) => x.type)).toContain('VACUUM');
    expect(r.retentionDue).toEqual([]);

    const doctor = cli(['--config', config, '--doctor', '--json']);
    const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; detail: string }[] })
      .checks;
    for (const name of ['events', 'logs']) {
      const c = checks.find((x) => x.check === name)!;
      expect(c.status, c.detail).toBe('ok');
      expect(c.detail).toMatch(/not managed/);
    }

    const scheduled = cli(['--config', config, '--scheduled', '--json']);
    expect(scheduled.status, scheduled.stderr).toBe(0);
    expect(scheduled.stderr).toBe('');

    const retention = cli(['--config', config, '--enforce-retention', '--json']);
    expect(retention.status, retention.stderr).toBe(0);
    expect(retention.stderr).toBe('');
    expect((JSON.parse(retention.stdout) as { items: unknown[] }).items).toEqual([]);
    expect(
      fs
        .readdirSync(dir)
        .filter((f) => !f.endsWith('.dbm-lock'))
        .sort(),
    ).toEqual(['.db-maintenance', 'app.db', 'maintenance.config.json']);
  });

  it('an action that needs a part the config does not manage names the missing section (exit 2) and changes nothing', () => {
    const { dir, db } = singleDatabaseBrain();
    const config = writeConfig(dir, { databases: { app: { path: 'app.db' } }, events: false });
    const before = fs.readFileSync(db);
    for (const [flag, section] of [
      ['--archive', 'conversations'],
      ['--restore-conversation', 'conversations'],
      ['--compress-events', 'events'],
      ['--rotate-logs', 'logs'],
      ['--prune-patterns', 'patterns'],
    ] as const) {
      const args = flag === '--restore-conversation' ? [flag, '1'] : [flag];
      const r = cli(['--config', config, ...args]);
      expect(r.status, `${flag}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^error: .* no "${section}" section .*--init-config`));
    }
    expect(fs.readFileSync(db).equals(before)).toBe(true);
  });

  it('a configured patterns table that is missing fails the actions that use it, not --vacuum of the database', () => {
    const { dir, db } = singleDatabaseBrain();
    const config = writeConfig(dir, { databases: { app: { path: 'app.db' } }, patterns: { database: 'app' } });
    const sizeBefore = fs.statSync(db).size;
    const vacuum = cli(['--config', config, '--vacuum', '--db', 'app', '--json']);
    expect(vacuum.status, vacuum.stderr).toBe(0);
    expect((JSON.parse(vacuum.stdout) as { results: { status: string }[] }).results[0]!.status).toBe('ok');
    expect(fs.statSync(db).size).toBeLessThan(sizeBefore);
    expect(vacuum.stderr).toMatch(/patterns/); // said once, as a warning
    expect(cli(['--config', config, '--run']).status).toBe(0);
    // The actions that use the part still report it.
    const assess = cli(['--config', config, '--assess']);
    expect(assess.status).toBe(2);
    expect(assess.stderr).toMatch(/patterns/);
    expect(cli(['--config', config, '--prune-patterns']).status).not.toBe(0);
  });

  it('--run names due retention once, runs and records only maintenance', () => {
    const demo = demoBrain();
    const run = cli(['--config', demo.configPath, '--run']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.match(/Retention is separate/g)).toHaveLength(1);
    expect(run.stdout).toMatch(/compress events, rotate logs, archive conversations, prune patterns due/);
    expect(run.stdout).not.toMatch(/skipped/);
    const json = cli(['--config', demo.configPath, '--run', '--dry-run', '--json']);
    const r = JSON.parse(json.stdout) as { plan: { type: string }[]; retentionDue: { type: string }[] };
    expect(r.plan.map((s) => s.type)).not.toContain('ARCHIVE_CONVERSATIONS');
    expect(r.retentionDue.map((d) => d.type).sort()).toEqual(
      ['ARCHIVE_CONVERSATIONS', 'COMPRESS_EVENTS', 'PRUNE_PATTERNS', 'ROTATE_LOGS'].sort(),
    );
    const history = cli(['--config', demo.configPath, '--history', '--json']);
    const runs = (JSON.parse(history.stdout) as { runs: { command: string; tasks: { type: string }[] }[] }).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]!.tasks.length).toBeGreaterThan(0);
    for (const t of runs[0]!.tasks)
      expect(['VACUUM', 'ANALYZE', 'REINDEX', 'REBUILD_FTS', 'OPTIMIZE_FTS', 'CHECKPOINT']).toContain(t.type);
  });
});
