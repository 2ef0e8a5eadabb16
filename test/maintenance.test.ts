import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { runExitCode, runMaintenance } from '../src/maintenance/executor.js';
import { NOW, cli, demoBrain, readJson, snapshotTree, writeConfig } from './helpers.js';
import { dumpAll, dumpUserRows, integrityCheck, strayTempFiles } from './maintenance-helpers.js';

interface RunJson {
  plan: Array<{
    taskId: string;
    type: string;
    database: string;
    sql: string[];
    reason: string;
    estimatedSeconds: number;
    estimateSource: string;
    notRunBecause: string | null;
  }>;
  results: Array<{
    taskId: string;
    type: string;
    database: string;
    status: string;
    restored: boolean;
    message: string;
    sizeBefore: number;
    sizeAfter: number;
    backup: string | null;
  }>;
  retentionDue: Array<{ type: string; database: string; reason: string }>;
}

const tier1 = (dir: string): string => path.join(dir, 'tier1', 'conversations.db');

describe('--run --dry-run', () => {
  it('shows each task with its reason, SQL, reclaimable space and estimate, and writes nothing at all', () => {
    const demo = demoBrain({ ftsDrift: true });
    // a real run first, so the state database exists and can only be read by the dry run
    expect(cli(['--config', demo.configPath, '--analyze', '--db', 'tier3']).status).toBe(0);
    const before = snapshotTree(demo.dir);
    const r = cli(['--config', demo.configPath, '--run', '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshotTree(demo.dir)).toEqual(before); // brain and stateDir alike
    const out = JSON.parse(r.stdout) as RunJson;
    expect(out.results).toEqual([]);
    const fts = out.plan.find((s) => s.type === 'REBUILD_FTS')!;
    expect(fts.sql).toEqual([`INSERT INTO "messages_fts"("messages_fts") VALUES ('rebuild')`]);
    expect(fts.reason).toMatch(/messages_fts/);
    const vacuum = out.plan.find((s) => s.type === 'VACUUM')!;
    expect(vacuum).toMatchObject({ database: 'tier1', sql: ['VACUUM', 'PRAGMA wal_checkpoint(TRUNCATE)'] });
    // Retention is not --run's: named once, not planned.
    expect(out.plan.find((s) => s.type === 'ARCHIVE_CONVERSATIONS')).toBeUndefined();
    expect(out.retentionDue.map((d) => d.type)).toContain('ARCHIVE_CONVERSATIONS');
    for (const flagSet of [
      ['--vacuum', '--dry-run'],
      ['--rebuild-fts', '--analyze', '--dry-run', '--db', 'tier1'],
    ]) {
      expect(cli(['--config', demo.configPath, ...flagSet]).status).toBe(0);
      expect(snapshotTree(demo.dir)).toEqual(before);
    }
  });

  it('plans exactly what --run then does (the same planning code)', () => {
    const demo = demoBrain({ ftsDrift: true });
    const dry = JSON.parse(cli(['--config', demo.configPath, '--run', '--dry-run', '--json']).stdout) as RunJson;
    const real = cli(['--config', demo.configPath, '--run', '--json']);
    expect(real.status, real.stderr).toBe(0);
    const done = JSON.parse(real.stdout) as RunJson;
    expect(done.results.map((x) => x.taskId)).toEqual(dry.plan.map((s) => s.taskId));
    expect(done.plan).toEqual(dry.plan);
  });
});

describe('--run', () => {
  it('repairs FTS drift: afterwards every MATCH returns exactly the rows a scan of the content finds', () => {
    const demo = demoBrain({ ftsDrift: true });
    const userRows = dumpUserRows(tier1(demo.dir));
    const before = JSON.parse(cli(['--config', demo.configPath, '--assess', '--json']).stdout) as {
      tasks: Array<{ type: string }>;
    };
    expect(before.tasks[0]!.type).toBe('REBUILD_FTS');
    const r = cli(['--config', demo.configPath, '--run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RunJson;
    expect(
      out.results.filter((x) => x.database === 'tier1' && x.status !== 'skipped').map((x) => [x.type, x.status]),
    ).toEqual([
      ['REBUILD_FTS', 'ok'],
      ['VACUUM', 'ok'],
      ['ANALYZE', 'ok'],
    ]);
    const vac = out.results.find((x) => x.type === 'VACUUM')!;
    expect(vac.sizeAfter).toBeLessThan(vac.sizeBefore);

    const db = new Database(tier1(demo.dir));
    // The reference: a fresh index over the same content with the same tokenizer, i.e. a scan.
    db.exec(
      "CREATE VIRTUAL TABLE temp.scan USING fts5(content, tokenize='porter unicode61'); INSERT INTO temp.scan(rowid, content) SELECT id, content FROM messages;",
    );
    const sample = db.prepare('SELECT content FROM messages ORDER BY id LIMIT 40').pluck().all() as string[];
    const words = [...new Set(sample.flatMap((c) => c.split(/\s+/)))];
    const viaIndex = db.prepare('SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid');
    const viaScan = db.prepare('SELECT rowid FROM temp.scan WHERE scan MATCH ? ORDER BY rowid');
    expect(words.length).toBeGreaterThan(50);
    for (const w of words.slice(0, 200)) {
      const phrase = `"${w.replace(/"/g, '""')}"`;
      expect(viaIndex.pluck().all(phrase), w).toEqual(viaScan.pluck().all(phrase));
    }
    db.close();
    expect(integrityCheck(tier1(demo.dir))).toBe('ok');
    expect(dumpUserRows(tier1(demo.dir))).toEqual(userRows);
    const after = JSON.parse(cli(['--config', demo.configPath, '--assess', '--deep', '--json']).stdout) as {
      databases: Array<{ fts?: Array<{ status: string }> }>;
    };
    expect(after.databases[0]!.fts?.[0]?.status).toBe('ok');
  });

  it('an operation that fails verification in its own transaction is rolled back: nothing restored, exit 6', () => {
    const demo = demoBrain({ ftsDrift: true });
    const file = tier1(demo.dir);
    const before = dumpAll(file);
    const inode = fs.statSync(file).ino;
    const r = cli(['--config', demo.configPath, '--analyze', '--db', 'tier1', '--json'], {
      env: { DB_MAINTENANCE_INJECT: 'after:ANALYZE:tier1' },
    });
    expect(r.status).toBe(6);
    const out = JSON.parse(r.stdout) as RunJson;
    const analyze = out.results.find((x) => x.type === 'ANALYZE')!;
    expect(analyze).toMatchObject({ status: 'failed', restored: false });
    expect(analyze.message).toMatch(
      /verification failed after ANALYZE: table ".*" had \d+ rows, now \d+; rolled back before it was committed, the database is unchanged/,
    );
    expect(r.stderr).toMatch(/^error: ANALYZE on tier1 failed: verification failed/m);
    // identical to before the run, FTS drift and all: the rollback undid every change of the task
    expect(dumpAll(file)).toEqual(before);
    expect(integrityCheck(file)).toBe('ok');
    expect(fs.statSync(file).ino).toBe(inode);
  });

  it('VACUUM alone: a failed verification restores the backup taken before it', () => {
    const demo = demoBrain();
    const file = tier1(demo.dir);
    const before = dumpAll(file);
    const r = cli(['--config', demo.configPath, '--vacuum', '--db', 'tier1', '--json'], {
      env: { DB_MAINTENANCE_INJECT: 'after:VACUUM:tier1' },
    });
    expect(r.status).toBe(6);
    const res = (JSON.parse(r.stdout) as RunJson).results[0]!;
    expect(res).toMatchObject({ type: 'VACUUM', status: 'failed', restored: true });
    expect(dumpAll(file)).toEqual(before);
    expect(dumpAll(res.backup!)).toEqual(before);
    expect(integrityCheck(file)).toBe('ok');
    // the state rolled back is kept beside the backups, never more readable than the database
    const m =
      /the state rolled back is kept as (\S+-discarded\.db) \(no other connection committed since the backup; (\w+) -3 rows against the backup\)/.exec(
        res.message,
      );
    expect(m, res.message).not.toBeNull();
    const discarded = m![1]!;
    expect(path.dirname(discarded)).toBe(path.dirname(res.backup!));
    expect(fs.statSync(discarded).mode & 0o777 & ~(fs.statSync(file).mode & 0o777)).toBe(0);
    const kept = dumpAll(discarded);
    expect(kept[m![2]!]!.length).toBe(before[m![2]!]!.length - 3);
    // a later run keeps it: keepBackups prunes backups only
    expect(cli(['--config', demo.configPath, '--vacuum', '--db', 'tier1']).status).toBe(0);
    expect(fs.existsSync(discarded)).toBe(true);
  });

  it('VACUUM succeeds with its backup verified and kept under its final name', () => {
    const demo = demoBrain();
    const file = tier1(demo.dir);
    const before = dumpAll(file);
    const r = cli(['--config', demo.configPath, '--vacuum', '--db', 'tier1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = (JSON.parse(r.stdout) as RunJson).results[0]!;
    expect(res.status).toBe('ok');
    expect(res.message).toMatch(/^vacuumed; verified/);
    expect(res.sizeAfter).toBeLessThan(res.sizeBefore);
    expect(res.backup).toMatch(/tier1-\d{8}T\d{6}Z\.db$/);
    expect(dumpAll(res.backup!)).toEqual(before);
    expect(dumpAll(file)).toEqual(before);
    expect(strayTempFiles(demo.dir)).toEqual([]);
  });

  it('a failed statement changes nothing and needs no restore', async () => {
    const demo = demoBrain();
    const file = tier1(demo.dir);
    const db = new Database(file);
    // An external-content index whose content table is gone cannot be rebuilt.
    db.exec(
      "CREATE TABLE gone (id INTEGER PRIMARY KEY, body TEXT); CREATE VIRTUAL TABLE gone_fts USING fts5(body, content='gone', content_rowid='id'); DROP TABLE gone;",
    );
    db.close();
    const before = dumpAll(file);
    const report = await runMaintenance({
      brain: loadConfig(demo.configPath),
      dbName: 'tier1',
      dryRun: false,
      requested: ['REBUILD_FTS'],
      deep: false,
      now: NOW,
      logger: silentLogger(),
      env: {},
    });
    const res = report.results[0]!;
    expect(res.status).toBe('failed');
    expect(res.message).toMatch(
      /REBUILD_FTS failed: .*; rolled back before it was committed, the database is unchanged/,
    );
    expect(res.restored).toBe(false);
    expect(runExitCode(report)).toBe(6);
    expect(dumpAll(file)).toEqual(before);
  });

  it('refuses cleanly when the free-space preflight says the backup or VACUUM cannot fit (injected probe)', async () => {
    const demo = demoBrain();
    const before = snapshotTree(demo.dir, (rel) => rel.startsWith('.db-maintenance'));
    const report = await runMaintenance({
      brain: loadConfig(demo.configPath),
      dbName: 'tier1',
      dryRun: false,
      requested: ['VACUUM'],
      deep: false,
      now: NOW,
      logger: silentLogger(),
      env: {},
      probe: () => ({ free: 5 * 1024 * 1024, device: 'one' }),
    });
    expect(report.results[0]).toMatchObject({ status: 'refused', backup: null });
    expect(report.results[0]!.message).toMatch(/not enough free space .*backup .*VACUUM journal .*nothing was changed/);
    expect(runExitCode(report)).toBe(7);
    expect(snapshotTree(demo.dir, (rel) => rel.startsWith('.db-maintenance'))).toEqual(before);
    expect(fs.existsSync(path.join(demo.dir, '.db-maintenance', 'backups', 'tier1'))).toBe(false);
  });

  it('reports a busy checkpoint as partial, never as success', () => {
    const demo = demoBrain();
    writeConfig(demo.dir, { ...readJson(demo.configPath), maintenance: { busyTimeoutMs: 300 } });
    const file = tier1(demo.dir);
    const writer = new Database(file);
    const reader = new Database(file);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec("INSERT INTO sessions(session_id, user_id) VALUES ('s-1', 'u')");
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM sessions').get(); // a read transaction pins the WAL
      writer.exec("INSERT INTO sessions(session_id, user_id) VALUES ('s-2', 'u')");
      const r = cli(['--config', demo.configPath, '--checkpoint', '--db', 'tier1', '--json']);
      expect(r.status).toBe(6);
      const res = (JSON.parse(r.stdout) as RunJson).results[0]!;
      expect(res.status).toBe('partial');
      expect(res.message).toMatch(/busy/);
      reader.exec('COMMIT');
      const again = cli(['--config', demo.configPath, '--checkpoint', '--db', 'tier1', '--json']);
      expect(again.status, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as RunJson).results[0]!.status).toBe('ok');
    } finally {
      reader.close();
      writer.close();
    }
  });

  it('keeps the last N backups, removing an older one only after a newer one verified; --history lists runs', () => {
    const demo = demoBrain();
    const cfg = readJson(demo.configPath);
    writeConfig(demo.dir, { ...cfg, maintenance: { keepBackups: 2 } });
    const env = (i: number): NodeJS.ProcessEnv => ({ DB_MAINTENANCE_NOW: `2026-11-2${i}T12:00:00.000Z` });
    for (let i = 1; i <= 4; i++)
      expect(cli(['--config', demo.configPath, '--analyze', '--db', 'tier3'], { env: env(i) }).status).toBe(0);
    const dir = path.join(demo.dir, '.db-maintenance', 'backups', 'tier3');
    expect(fs.readdirSync(dir).sort()).toEqual(['tier3-20261123T120000Z.db', 'tier3-20261124T120000Z.db']);
    // a backup is a self-contained, consistent database
    expect(integrityCheck(path.join(dir, 'tier3-20261124T120000Z.db'))).toBe('ok');
    const h = cli(['--config', demo.configPath, '--history', '--json']);
    expect(h.status).toBe(0);
    const runs = (
      JSON.parse(h.stdout) as { runs: Array<{ command: string; tasks: Array<{ type: string; status: string }> }> }
    ).runs;
    expect(runs).toHaveLength(4);
    expect(runs[0]).toMatchObject({ command: '--analyze', tasks: [{ type: 'ANALYZE', status: 'ok' }] });
    expect(cli(['--config', demo.configPath, '--history']).stdout).toMatch(/run 4: --analyze/);
  });

  it('estimates learn from recorded runs, and the next assessment knows the last run', () => {
    const demo = demoBrain();
    const first = JSON.parse(
      cli(['--config', demo.configPath, '--vacuum', '--db', 'tier1', '--dry-run', '--json']).stdout,
    ) as RunJson;
    expect(first.plan[0]).toMatchObject({ estimateSource: 'heuristic' });
    const r = cli(['--config', demo.configPath, '--vacuum', '--analyze', '--db', 'tier1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no terminal: no progress display, and success logs nothing at the default level
    const ran = (JSON.parse(r.stdout) as RunJson).results[0]!;
    const next = JSON.parse(
      cli(['--config', demo.configPath, '--vacuum', '--db', 'tier1', '--dry-run', '--json']).stdout,
    ) as RunJson;
    expect(next.plan[0]).toMatchObject({ estimateSource: 'history' });
    const rate = (ran.sizeBefore / Math.max(1, (ran as unknown as { durationMs: number }).durationMs)) * 1000;
    expect(next.plan[0]!.estimatedSeconds).toBeCloseTo(Math.max(0.1, Math.round((ran.sizeAfter / rate) * 10) / 10), 0);
    const a = JSON.parse(cli(['--config', demo.configPath, '--history', '--json']).stdout) as {
      runs: Array<{ tasks: Array<{ type: string; startedAt: string }> }>;
    };
    expect(a.runs[0]!.tasks.map((t) => t.type)).toEqual(['VACUUM', 'ANALYZE']);
  });
});

describe('SpaceLedger (parallel maintenance)', () => {
  it('reserves only what fits beside the reservations already made, per file system, until released', async () => {
    const { SpaceLedger } = await import('../src/maintenance/preflight.js');
    const MiB = 1024 * 1024;
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env['TMPDIR'] ?? '/tmp'), 'dbm-ledger-'));
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const ledger = new SpaceLedger(
      (d) => (d === a ? { free: 100 * MiB, device: 'A' } : { free: 1000 * MiB, device: 'B' }),
      16 * MiB,
    );
    const first = ledger.tryReserve([
      { dir: a, bytes: 30 * MiB, what: 'backup' },
      { dir: a, bytes: 20 * MiB, what: 'VACUUM journal' },
    ]);
    expect(first).not.toBeNull();
    expect(ledger.reservedOn('A')).toBe(50 * MiB);
    expect(ledger.tryReserve([{ dir: a, bytes: 40 * MiB, what: 'backup' }])).toBeNull(); // 50 + 40 + 16 margin > 100
    expect(ledger.reservedOn('A')).toBe(50 * MiB); // a refusal reserves nothing
    expect(ledger.tryReserve([{ dir: b, bytes: 600 * MiB, what: 'backup' }])).not.toBeNull(); // another file system
    expect(ledger.tryReserve([{ dir: a, bytes: 30 * MiB, what: 'backup' }])).not.toBeNull(); // 50 + 30 + 16 <= 100
    ledger.release(first!);
    expect(ledger.reservedOn('A')).toBe(30 * MiB);
    expect(ledger.tryReserve([{ dir: a, bytes: 40 * MiB, what: 'backup' }])).not.toBeNull();
    fs.rmSync(dir, { recursive: true });
  });
});
