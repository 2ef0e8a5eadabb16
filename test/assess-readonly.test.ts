import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, demoBrain, snapshotTree } from './helpers.js';

// The demo config keeps the tool's own state in <brain>/.db-maintenance; that is ours, not the brain's.
const notState = (rel: string): boolean => rel.startsWith('.db-maintenance' + path.sep) || rel === '.db-maintenance';

describe('--assess is strictly read-only', () => {
  it('changes no byte and no mtime of any file in the brain, and leaves no -wal/-shm behind (default and --deep)', () => {
    const demo = demoBrain({ ftsDrift: true });
    const before = snapshotTree(demo.dir, notState);
    expect(Object.keys(before).some((f) => f.endsWith('-wal') || f.endsWith('-shm'))).toBe(false);
    for (const args of [['--assess'], ['--assess', '--deep'], ['--assess', '--json']]) {
      const r = cli(['--config', demo.configPath, ...args]);
      expect(r.status, r.stderr).toBe(0);
      expect(snapshotTree(demo.dir, notState)).toEqual(before);
    }
  });

  it('with the application holding the database open (a live -wal), still changes nothing it does not share', () => {
    const demo = demoBrain();
    const file = path.join(demo.dir, 'tier1', 'conversations.db');
    const app = new Database(file);
    try {
      app.pragma('wal_autocheckpoint = 0');
      app.prepare("INSERT INTO sessions(session_id, user_id) VALUES ('live', 'u')").run();
      const walBefore = fs.readFileSync(`${file}-wal`);
      const dbBefore = fs.statSync(file);
      const dbBytes = fs.readFileSync(file);
      for (const args of [
        ['--assess', '--db', 'tier1'],
        ['--assess', '--db', 'tier1', '--deep'],
      ]) {
        const r = cli(['--config', demo.configPath, ...args, '--json']);
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout) as { databases: Array<{ walBytes: number }> };
        expect(out.databases[0]!.walBytes).toBe(walBefore.length);
      }
      expect(fs.readFileSync(file).equals(dbBytes)).toBe(true);
      expect(fs.statSync(file).mtimeMs).toBe(dbBefore.mtimeMs);
      expect(fs.readFileSync(`${file}-wal`).equals(walBefore)).toBe(true);
      // The application's row is visible to it and was seen by nobody else's checkpoint.
      expect(app.prepare("SELECT count(*) FROM sessions WHERE session_id = 'live'").pluck().get()).toBe(1);
    } finally {
      app.close();
    }
  });
});
