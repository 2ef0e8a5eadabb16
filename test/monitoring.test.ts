/**
 * Monitoring that can alert: `--assess --fail-on`, the archive databases assessed and maintained
 * like the live ones, and the metrics of the findings (checked against the `--json` documents of
 * the same brain, and by promtool when it is installed).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { archiveDatabases } from '../src/config/archive-files.js';
import { cli, demoBrain, tempDir } from './helpers.js';
import { parsePrometheus, promtool, promtoolCheckMetrics, type Parsed } from './prometheus-helpers.js';

interface Task {
  id: string;
  type: string;
  database: string;
  priority: number;
}
interface Db {
  name: string;
  path: string;
  role: string;
  archiveOf?: string;
  status: string;
  fts?: Array<{ table: string; status: string; triggers: { status: string; problems: unknown[] } | null }>;
}

const WORD = ['', 'critical', 'high', 'medium', 'low'];

function assessJson(config: string, extra: string[] = []): { tasks: Task[]; databases: Db[]; failOn?: unknown } {
  const r = cli(['--config', config, '--assess', '--json', ...extra]);
  return JSON.parse(r.stdout) as { tasks: Task[]; databases: Db[]; failOn?: unknown };
}

function metrics(file: string): Parsed {
  return parsePrometheus(fs.readFileSync(file, 'utf8'));
}

const samples = (p: Parsed, name: string): Parsed['samples'] => p.samples.filter((s) => s.name === name);

/** A demo brain whose conversations were archived: tier1/conversation_archive.db exists. */
function archivedBrain(): ReturnType<typeof demoBrain> & { archive: string } {
  const demo = demoBrain({ ftsDrift: true });
  const r = cli(['--config', demo.configPath, '--archive']);
  expect(r.status, r.stderr).toBe(0);
  const archive = path.join(demo.dir, 'tier1', 'conversation_archive.db');
  expect(fs.existsSync(archive)).toBe(true);
  return { ...demo, archive };
}

describe('--assess --fail-on', () => {
  it('exit 9 exactly when a task at or above the level is due, one line on stderr; without the flag exit 0', () => {
    const demo = demoBrain({ ftsDrift: true });
    const { tasks } = assessJson(demo.configPath);
    expect(tasks.some((t) => t.priority === 1)).toBe(true); // the drifted index: REBUILD_FTS or REPAIR_FTS_TRIGGERS
    const plain = cli(['--config', demo.configPath, '--assess']);
    expect(plain.status, plain.stderr).toBe(0);
    for (const [i, level] of ['critical', 'high', 'medium'].entries()) {
      const found = tasks.filter((t) => t.priority <= i + 1).map((t) => t.id);
      const r = cli(['--config', demo.configPath, '--assess', '--fail-on', level]);
      expect(r.status, `${level}: ${r.stderr}`).toBe(found.length > 0 ? 9 : 0);
      expect(r.stdout).toContain('TASKS'); // the report is printed all the same
      if (found.length > 0) {
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(
          new RegExp(`^error: the assessment found ${found.length} tasks? of priority ${level}`),
        );
        expect(r.stderr).toContain(found[0]!);
      } else expect(r.stderr).toBe('');
      const j = assessJson(demo.configPath, ['--fail-on', level]);
      expect(j.failOn).toEqual({ level, priority: i + 1, tasks: found });
    }
    expect(assessJson(demo.configPath).failOn).toBeUndefined();
  });

  it('once --run has done the urgent work, --fail-on high exits 0', () => {
    const demo = demoBrain({ ftsDrift: true });
    expect(cli(['--config', demo.configPath, '--assess', '--fail-on', 'high']).status).toBe(9);
    const run = cli(['--config', demo.configPath, '--run']);
    expect(run.status, run.stderr).toBe(0);
    const { tasks } = assessJson(demo.configPath);
    expect(tasks.filter((t) => t.priority <= 2)).toEqual([]);
    const r = cli(['--config', demo.configPath, '--assess', '--fail-on', 'high']);
    expect(r.status, r.stderr).toBe(0);
  });

  it('a problem is the worse news: a missing database exits 3 even with a critical finding', () => {
    const demo = demoBrain({ ftsDrift: true });
    const c = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
    c.databases.gone = { path: 'nowhere/gone.db' };
    fs.writeFileSync(demo.configPath, JSON.stringify(c));
    const r = cli(['--config', demo.configPath, '--assess', '--fail-on', 'critical']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/gone/);
    expect(r.stderr).not.toMatch(/the assessment found/);
  });
});

describe('archive databases', () => {
  it('are assessed like the live ones once they exist (role archive), and assessing never creates one', () => {
    const demo = demoBrain();
    const archive = path.join(demo.dir, 'tier1', 'conversation_archive.db');
    const before = assessJson(demo.configPath);
    expect(fs.existsSync(archive)).toBe(false);
    expect(before.databases.map((d) => d.role)).toEqual(before.databases.map(() => 'live'));
    // An empty file is no archive yet (SQLite and --archive take it for a new database): not listed, exit 0.
    fs.writeFileSync(archive, '');
    const empty = cli(['--config', demo.configPath, '--assess', '--json']);
    expect(empty.status, empty.stderr).toBe(0);
    expect((JSON.parse(empty.stdout) as { databases: Db[] }).databases.map((d) => d.name)).not.toContain(
      'tier1.archive',
    );
    expect(cli(['--config', demo.configPath, '--archive']).status).toBe(0);
    const after = assessJson(demo.configPath);
    const a = after.databases.find((d) => d.name === 'tier1.archive');
    expect(a).toMatchObject({ role: 'archive', archiveOf: 'conversations', status: 'ok', path: archive });
    // Its FTS index is checked like any other.
    expect(a!.fts!.map((f) => f.table)).toContain('messages_fts');
    // Nothing counts it as the live conversations database.
    const again = cli(['--config', demo.configPath, '--assess', '--json']);
    expect(JSON.parse(again.stdout).retention.conversations.database).toBe('tier1');
    // --db selects it alone.
    const one = assessJson(demo.configPath, ['--db', 'tier1.archive']);
    expect(one.databases.map((d) => d.name)).toEqual(['tier1.archive']);
    // The human report says what it is.
    expect(cli(['--config', demo.configPath, '--assess']).stdout).toContain(
      `tier1.archive: the archive database of conversations (${archive})`,
    );
  });

  it('an archivePath of the config is found where it says; both rules on one database get names of their own', () => {
    const demo = demoBrain();
    const c = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
    c.conversations.archivePath = 'archives/old-conversations.db';
    fs.mkdirSync(path.join(demo.dir, 'archives'));
    fs.writeFileSync(demo.configPath, JSON.stringify(c));
    expect(cli(['--config', demo.configPath, '--archive']).status).toBe(0);
    const db = assessJson(demo.configPath).databases.find((d) => d.role === 'archive');
    expect(db).toMatchObject({ name: 'tier1.archive', path: path.join(demo.dir, 'archives', 'old-conversations.db') });

    const rules = [
      { rule: 'conversations' as const, live: 'main', file: demo.configPath },
      { rule: 'patterns' as const, live: 'main', file: demo.configPath },
    ];
    expect(archiveDatabases([{ name: 'main' }], rules).map((d) => d.name)).toEqual([
      'main.conversations-archive',
      'main.patterns-archive',
    ]);
    const solo = [{ rule: 'conversations' as const, live: 'main', file: demo.configPath }];
    expect(archiveDatabases([{ name: 'main.archive' }], solo).map((d) => d.name)).toEqual(['main.archive-2']);
    expect(archiveDatabases([], [{ ...solo[0]!, file: path.join(demo.dir, 'none.db') }])).toEqual([]);
  });

  it('--run maintains an archive behind backup and verification; archiving into it and restoring from it still work', () => {
    const demo = archivedBrain();
    // Fragment the archive: a table's rows deleted leave free pages behind.
    const db = new Database(demo.archive);
    db.exec(
      'CREATE TABLE filler(x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 400) INSERT INTO filler SELECT randomblob(8000) FROM n; DROP TABLE filler;',
    );
    const conversations = Number(db.prepare('SELECT count(*) FROM conversations').pluck().get());
    const someId = String(db.prepare('SELECT id FROM conversations ORDER BY id LIMIT 1').pluck().get());
    db.close();
    const plan = JSON.parse(cli(['--config', demo.configPath, '--run', '--dry-run', '--json']).stdout);
    expect(plan.plan.map((s: { taskId: string }) => s.taskId)).toContain('tier1.archive:VACUUM');
    const sizeBefore = fs.statSync(demo.archive).size;
    const run = cli(['--config', demo.configPath, '--run', '--db', 'tier1.archive', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const res = JSON.parse(run.stdout).results.find((r: { taskId: string }) => r.taskId === 'tier1.archive:VACUUM');
    expect(res).toMatchObject({ status: 'ok', database: 'tier1.archive' });
    expect(res.message).toMatch(/verified/);
    expect(res.backup).toMatch(/tier1\.archive/);
    expect(fs.existsSync(res.backup)).toBe(true);
    expect(fs.statSync(demo.archive).size).toBeLessThan(sizeBefore);
    const after = new Database(demo.archive, { readonly: true });
    expect(Number(after.prepare('SELECT count(*) FROM conversations').pluck().get())).toBe(conversations);
    after.close();
    // Retention into and out of the maintained archive.
    const restore = cli(['--config', demo.configPath, '--restore-conversation', someId]);
    expect(restore.status, restore.stderr).toBe(0);
    const archiveAgain = cli(['--config', demo.configPath, '--archive', '--days', '1']);
    expect(archiveAgain.status, archiveAgain.stderr).toBe(0);
    const check = new Database(demo.archive, { readonly: true });
    expect(Number(check.prepare('SELECT count(*) FROM conversations WHERE id = ?').pluck().get(someId))).toBe(1);
    expect(String(check.pragma('integrity_check', { simple: true }))).toBe('ok');
    check.close();
  });
});

describe('metrics of the findings', () => {
  it('tasks due and their priorities, FTS drift and trigger hazards per index: what --assess --json reports', () => {
    const demo = archivedBrain();
    // Drift again, the way the demo's wrong DELETE trigger makes it: deleted messages keep their terms.
    const live = new Database(path.join(demo.dir, 'tier1', 'conversations.db'));
    live.exec('DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT 50)');
    live.close();
    const out = path.join(tempDir(), 'dbm.prom');
    const r = cli(['--config', demo.configPath, '--assess', '--metrics-file', out]);
    expect(r.status, r.stderr).toBe(0);
    const p = metrics(out);
    const a = assessJson(demo.configPath);
    expect(a.tasks.length).toBeGreaterThan(0);
    const due = samples(p, 'dbm_tasks_due').map(
      (s) => `${s.labels['database']}|${s.labels['task']}|${s.labels['priority']}=${s.value}`,
    );
    expect(due.sort()).toEqual(a.tasks.map((t) => `${t.database}|${t.type}|${WORD[t.priority]}=1`).sort());
    for (const pr of [1, 2, 3, 4]) {
      const s = samples(p, 'dbm_tasks_due_by_priority').find((x) => x.labels['priority'] === WORD[pr]);
      expect(s?.value, WORD[pr]).toBe(a.tasks.filter((t) => t.priority === pr).length);
    }
    const fts = a.databases.flatMap((d) => (d.fts ?? []).map((f) => ({ d: d.name, f })));
    expect(fts.some((x) => x.f.status === 'drift')).toBe(true);
    expect(fts.some((x) => x.d === 'tier1.archive')).toBe(true);
    for (const { d, f } of fts) {
      const get = (name: string): number | undefined =>
        samples(p, name).find((s) => s.labels['database'] === d && s.labels['index'] === f.table)?.value;
      expect(get('dbm_fts_drift'), `${d} ${f.table}`).toBe(f.status === 'drift' || f.status === 'corrupt' ? 1 : 0);
      expect(get('dbm_fts_trigger_hazards')).toBe(f.triggers?.status === 'wrong' ? f.triggers.problems.length : 0);
    }
    expect(samples(p, 'dbm_fts_trigger_hazards').some((s) => s.value > 0)).toBe(true);
    // The archive is a database of the metrics too, with its role.
    expect(samples(p, 'dbm_database_info').find((s) => s.labels['database'] === 'tier1.archive')?.labels).toEqual({
      database: 'tier1.archive',
      role: 'archive',
      archive_of: 'conversations',
    });
    expect(samples(p, 'dbm_database_size_bytes').find((s) => s.labels['database'] === 'tier1.archive')?.value).toBe(
      fs.statSync(demo.archive).size,
    );
    expect(samples(p, 'dbm_assessment_problems')[0]?.value).toBe(0);
  });

  it('after --run: what is still due (a fresh assessment), the deferred tasks of the budget, the budget, the newest backup', () => {
    const demo = demoBrain({ ftsDrift: true });
    const c = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
    c.maintenance = { ...(c.maintenance ?? {}), maxWriterWaitMs: 50 };
    fs.writeFileSync(demo.configPath, JSON.stringify(c));
    const out = path.join(tempDir(), 'dbm.prom');
    const dry = JSON.parse(cli(['--config', demo.configPath, '--run', '--dry-run', '--json']).stdout);
    const deferred = dry.plan.filter((s: { writerWait: string }) => s.writerWait === 'deferred');
    expect(deferred.length).toBeGreaterThan(0); // a 50 ms budget defers what has no bounded form
    const run = cli(['--config', demo.configPath, '--run', '--metrics-file', out]);
    expect([0, 6]).toContain(run.status);
    const p = metrics(out);
    const still = assessJson(demo.configPath);
    expect(
      samples(p, 'dbm_tasks_due')
        .map((s) => `${s.labels['database']}|${s.labels['task']}`)
        .sort(),
    ).toEqual(still.tasks.map((t) => `${t.database}|${t.type}`).sort());
    const deferredNow = JSON.parse(
      cli(['--config', demo.configPath, '--run', '--dry-run', '--json']).stdout,
    ).plan.filter((s: { writerWait: string }) => s.writerWait === 'deferred');
    expect(
      samples(p, 'dbm_tasks_deferred')
        .map((s) => `${s.labels['database']}:${s.labels['task']}`)
        .sort(),
    ).toEqual(deferredNow.map((s: { taskId: string }) => s.taskId).sort());
    expect(samples(p, 'dbm_writer_wait_budget_seconds')[0]?.value).toBe(0.05);
    const backups = samples(p, 'dbm_backup_newest_timestamp_seconds');
    expect(backups.length).toBeGreaterThan(0);
    for (const b of backups) {
      const dir = path.join(demo.dir, '.db-maintenance', 'backups', b.labels['database']!);
      const newest = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.db'))
        .sort()
        .at(-1)!;
      expect(b.value).toBeCloseTo(fs.statSync(path.join(dir, newest)).mtimeMs / 1000, 3);
    }
  });

  it('label values are escaped: an FTS index with a quote, a backslash and a newline in its name', () => {
    const demo = demoBrain();
    const db = new Database(path.join(demo.dir, 'tier3', 'development_context.db'));
    db.exec(`CREATE VIRTUAL TABLE "we""ird\\\nfts" USING fts5(body)`);
    db.close();
    const out = path.join(tempDir(), 'dbm.prom');
    expect(cli(['--config', demo.configPath, '--assess', '--metrics-file', out]).status).toBe(0);
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toContain('index="we\\"ird\\\\\\nfts"');
    const p = parsePrometheus(text);
    expect(samples(p, 'dbm_fts_drift').find((s) => s.labels['index'] === 'we"ird\\\nfts')?.value).toBe(0);
    if (promtool()) expect(promtoolCheckMetrics(text)).toEqual({ status: 0, output: '' });
  });

  it.skipIf(!promtool())(
    `promtool check metrics accepts the files of --assess, --run and --scheduled${promtool() ? '' : ' (skipped: promtool is not installed; apt-get install prometheus)'}`,
    () => {
      const demo = archivedBrain();
      const out = path.join(tempDir(), 'dbm.prom');
      for (const action of [['--assess'], ['--run'], ['--scheduled']]) {
        const r = cli(['--config', demo.configPath, ...action, '--metrics-file', out]);
        expect(r.status, r.stderr).toBe(0);
        expect(promtoolCheckMetrics(fs.readFileSync(out, 'utf8')), action[0]).toEqual({ status: 0, output: '' });
      }
    },
  );
});
