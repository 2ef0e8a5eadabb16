/**
 * The rows of a busy application: real processes commit while the tool maintains and moves rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateDemoBrain } from '../src/demo/generate.js';
import { createBackup, keepDiscarded, keepSequences, restoreBackup } from '../src/maintenance/backup.js';
import { NOW, cli, tempDir, writeConfig } from './helpers.js';
import { startCommitter } from './process-helpers.js';
import { RunLock } from '../src/maintenance/lock.js';

// Real processes and dozens of runs: the time depends on the machine's load.
const LOAD_TIMEOUT_MS = 240_000;

interface Result {
  type: string;
  status: string;
  restored: boolean;
  message: string;
}

function brain(): { dir: string; config: string; tier1: string } {
  const dir = path.join(tempDir('dbm-rows-'), 'brain');
  generateDemoBrain({ dir, scale: 1, seed: 5, now: NOW });
  return { dir, config: path.join(dir, 'maintenance.config.json'), tier1: path.join(dir, 'tier1', 'conversations.db') };
}

function missingIds(file: string, ids: readonly number[]): number[] {
  const db = new Database(file, { readonly: true });
  try {
    const has = db.prepare('SELECT 1 FROM messages WHERE id = ?').pluck();
    return ids.filter((id) => has.get(id) === undefined);
  } finally {
    db.close();
  }
}

function ftsIntegrity(file: string): string {
  const db = new Database(file);
  try {
    db.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`).run();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  } finally {
    db.close();
  }
}

describe('an application committing as fast as it can', () => {
  it(
    'verification holds under load: no restore, every committed row present, the index consistent',
    async () => {
      const b = brain();
      const app = startCommitter(b.tier1);
      await app.ready;
      const results: Result[] = [];
      for (let i = 0; i < 6; i++) {
        for (const flag of ['--analyze', '--rebuild-fts', '--vacuum', '--run']) {
          const r = cli(['--config', b.config, flag, '--db', 'tier1', '--json']);
          const these = (JSON.parse(r.stdout) as { results: Result[] }).results;
          // exit 6 only for a checkpoint the committer kept from finishing (reported as partial, never as success)
          const onlyBusyCheckpoint = these.every((x) => x.status !== 'partial' || x.type === 'CHECKPOINT');
          expect(
            r.status === 0 || r.status === 4 || (r.status === 6 && onlyBusyCheckpoint),
            `${flag}: ${r.stderr}`,
          ).toBe(true);
          results.push(...these);
        }
      }
      const done = await app.stop();
      expect(done.errors).toEqual([]);
      expect(done.ids.length).toBeGreaterThan(100);
      const restored = results.filter((r) => r.restored || r.status === 'failed');
      expect(restored.map((r) => `${r.type}: ${r.message}`)).toEqual([]);
      expect(missingIds(b.tier1, done.ids)).toEqual([]);
      expect(ftsIntegrity(b.tier1)).toBe('ok');
      // the transactional operations say how their counts were compared
      expect(results.find((r) => r.type === 'ANALYZE')!.message).toMatch(
        /row counts of \d+ tables compared in the operation's own transaction/,
      );
    },
    LOAD_TIMEOUT_MS,
  );

  it(
    'an injected bad change while the application writes is still caught, rolled back, and nothing of the application lost',
    async () => {
      const b = brain();
      const app = startCommitter(b.tier1);
      await app.ready;
      const outs: Result[] = [];
      for (const [flag, type] of [
        ['--analyze', 'ANALYZE'],
        ['--rebuild-fts', 'REBUILD_FTS'],
      ] as const) {
        const r = cli(['--config', b.config, flag, '--db', 'tier1', '--json'], {
          env: { DB_MAINTENANCE_INJECT: `after:${type}:tier1` },
        });
        expect(r.status, r.stderr).toBe(6);
        outs.push(...(JSON.parse(r.stdout) as { results: Result[] }).results);
      }
      const done = await app.stop();
      for (const o of outs) {
        expect(o).toMatchObject({ status: 'failed', restored: false });
        expect(o.message).toMatch(/had \d+ rows, now \d+; rolled back before it was committed/);
      }
      expect(missingIds(b.tier1, done.ids)).toEqual([]);
    },
    LOAD_TIMEOUT_MS,
  );
});

describe('a conversation the application writes to during --archive', () => {
  it(
    'is not archived however old it started; nothing the application wrote is orphaned or lost',
    async () => {
      const b = brain();
      const probe = new Database(b.tier1, { readonly: true });
      const conv = probe.prepare('SELECT min(id) FROM conversations').pluck().get() as number;
      const started = probe.prepare('SELECT started_at FROM conversations WHERE id = ?').pluck().get(conv) as string;
      probe.close();
      expect(Date.parse(`${started.replace(' ', 'T')}Z`)).toBeLessThan(NOW.getTime() - 40 * 86_400_000);
      const app = startCommitter(b.tier1);
      await app.ready;
      const r = cli(['--config', b.config, '--archive', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const archive = path.join(path.dirname(b.tier1), 'conversation_archive.db');
      // restores while the application commits (a deferred transaction would fail with BUSY_SNAPSHOT)
      const probeArc = new Database(archive, { readonly: true });
      const archived = probeArc.prepare('SELECT id FROM conversations ORDER BY id LIMIT 6').pluck().all() as number[];
      probeArc.close();
      for (const id of archived) {
        const back = cli(['--config', b.config, '--restore-conversation', String(id)]);
        expect(back.status, back.stderr).toBe(0);
      }
      expect(cli(['--config', b.config, '--archive']).status).toBe(0);
      const done = await app.stop();
      const moved = (JSON.parse(r.stdout) as { items: Array<{ rowsAffected: number }> }).items[0]!.rowsAffected;
      expect(moved).toBeGreaterThan(0);
      expect(missingIds(b.tier1, done.ids)).toEqual([]);
      const live = new Database(b.tier1, { readonly: true });
      const arc = new Database(archive, { readonly: true });
      try {
        expect(live.prepare('SELECT count(*) FROM conversations WHERE id = ?').pluck().get(conv)).toBe(1);
        expect(arc.prepare('SELECT count(*) FROM conversations WHERE id = ?').pluck().get(conv)).toBe(0);
        expect(live.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
        expect(arc.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
      } finally {
        live.close();
        arc.close();
      }
    },
    LOAD_TIMEOUT_MS,
  );
});

describe('a restore keeps what it rolls back', () => {
  it('the discarded state holds the rows committed since the backup, and no AUTOINCREMENT id is handed out twice', async () => {
    const dir = tempDir('dbm-discard-');
    const file = path.join(dir, 'app.db');
    const app = new Database(file);
    app.pragma('journal_mode = WAL');
    app.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)');
    const ins = app.prepare('INSERT INTO notes(body) VALUES (?)');
    for (let i = 0; i < 50; i++) ins.run(`before ${i}`);
    const target = { name: 'app', path: file, configKey: 'databases.app' };
    const ours = new Database(file, { timeout: 5000 });
    const backup = await createBackup(ours, target, path.join(dir, 'backups'), NOW);
    // the application commits after the backup: ids 51..80, then deletes its newest rows (80, 79)
    const committed = Array.from({ length: 30 }, (_, i) => Number(ins.run(`after ${i}`).lastInsertRowid));
    app.prepare('DELETE FROM notes WHERE id > 78').run();
    const discarded = await keepDiscarded(ours, target, backup);
    await restoreBackup(backup, target, 5000);
    expect(keepSequences(ours, discarded.sequences)).toBe(1);
    expect(discarded.othersCommitted).toBe(true);
    expect([...discarded.delta!]).toEqual([['notes', 28]]);
    const kept = new Database(discarded.path, { readonly: true });
    const keptIds = kept.prepare('SELECT id FROM notes WHERE id > 50 ORDER BY id').pluck().all();
    kept.close();
    expect(keptIds).toEqual(committed.filter((id) => id <= 78));
    expect(path.basename(discarded.path)).toMatch(/^app-\d{8}T\d{6}Z-discarded\.db$/);
    // back to the backup's 50 rows, but the next id is past every id the application handed out
    expect(app.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(50);
    expect(Number(ins.run('next').lastInsertRowid)).toBe(81);
    ours.close();
    app.close();
    // never more readable than the database
    expect(fs.statSync(discarded.path).mode & 0o777 & ~fs.statSync(file).mode).toBe(0);
  });
});

describe('one database file, two configs', () => {
  it('a second config (another state directory, the file through a symlink) cannot maintain it while the first does', () => {
    const b = brain();
    const other = tempDir('dbm-other-');
    const link = path.join(other, 'same.db');
    fs.symlinkSync(b.tier1, link);
    const config2 = writeConfig(other, {
      databases: { mine: { path: 'same.db' }, kg: { path: path.join(b.dir, 'tier2', 'knowledge_graph.db') } },
      conversations: { database: 'mine' },
      patterns: { database: 'kg' },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
    });
    fs.mkdirSync(path.join(other, 'logs'));
    const lockFile = path.join(path.dirname(b.tier1), `.${path.basename(b.tier1)}.dbm-lock`);
    // the first run, as it holds the lock while it maintains the file
    const held = RunLock.acquireDatabase(b.tier1, '--vacuum', NOW);
    try {
      const before = fs.statSync(b.tier1).mtimeMs;
      const r = cli(['--config', config2, '--vacuum', '--db', 'mine', '--json']);
      expect(r.status, r.stderr).toBe(7);
      const res = (JSON.parse(r.stdout) as { results: Result[] }).results[0]!;
      expect(res.status).toBe('refused');
      expect(res.message).toMatch(
        /another db-maintenance run is maintaining .*conversations\.db .*pid \d+.*nothing was changed/,
      );
      expect(fs.statSync(b.tier1).mtimeMs).toBe(before);
      const arc = cli(['--config', config2, '--archive']);
      expect(arc.status).toBe(5);
      expect(arc.stderr).toMatch(/^error: .*another db-maintenance run is maintaining/m);
    } finally {
      held.release();
    }
    // the lock file is made like the database: no more readable than it
    expect(fs.statSync(lockFile).mode & 0o777 & ~fs.statSync(b.tier1).mode).toBe(0);
    expect(cli(['--config', config2, '--vacuum', '--db', 'mine']).status).toBe(0);
  });
});
