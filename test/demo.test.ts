import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEMO_PATHS } from '../src/demo/generate.js';
import { demoBrain } from './helpers.js';

function contentHash(dir: string): string {
  const h = crypto.createHash('sha256');
  for (const rel of [DEMO_PATHS.tier1, DEMO_PATHS.tier2, DEMO_PATHS.tier3, DEMO_PATHS.state]) {
    const db = new Database(path.join(dir, rel), { readonly: true });
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
      .pluck()
      .all() as string[];
    for (const t of tables) {
      for (const row of db
        .prepare(`SELECT * FROM "${t.replace(/"/g, '""')}" ORDER BY 1`)
        .raw()
        .all())
        h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
    }
    db.close();
  }
  h.update(fs.readFileSync(path.join(dir, DEMO_PATHS.events)));
  return h.digest('hex');
}

describe('demo brain', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = demoBrain({ seed: 11 });
    const b = demoBrain({ seed: 11 });
    const c = demoBrain({ seed: 12 });
    expect(contentHash(a.dir)).toBe(contentHash(b.dir));
    expect(contentHash(a.dir)).not.toBe(contentHash(c.dir));
  });

  it('has the seed schemas in WAL mode, an FTS5 index kept by triggers, malformed event lines, old and new logs', () => {
    const demo = demoBrain();
    const db = new Database(path.join(demo.dir, DEMO_PATHS.tier1), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const names = db
      .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'trigger') ORDER BY name")
      .pluck()
      .all();
    expect(names).toEqual(
      expect.arrayContaining([
        'sessions',
        'conversations',
        'messages',
        'messages_fts',
        'agent_interactions',
        'routing_decisions',
        'learned_patterns',
        'messages_ad',
      ]),
    );
    expect(
      db.prepare("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'database'").pluck().get(),
    ).toBeGreaterThan(0);
    db.close();
    const lines = fs.readFileSync(path.join(demo.dir, DEMO_PATHS.events), 'utf8').trim().split('\n');
    const bad = lines.filter((l) => {
      try {
        return typeof (JSON.parse(l) as { timestamp?: unknown }).timestamp === 'undefined';
      } catch {
        return true;
      }
    });
    expect(bad).toHaveLength(3);
    expect(fs.readdirSync(path.join(demo.dir, DEMO_PATHS.logs)).sort()).toEqual([
      'agent.log',
      'app.log',
      'indexer.log',
      'router.log',
      'sync.log',
    ]);
  });
});
