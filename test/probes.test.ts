import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantile } from '../src/maintenance/probes.js';
import { cli, demoBrain } from './helpers.js';
import { sqlite3 } from './retention-helpers.js';

function withProbes(configPath: string): void {
  const c = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  c.probes = [
    {
      name: 'pattern search',
      database: 'tier2',
      sql: 'SELECT rowid FROM patterns_fts WHERE patterns_fts MATCH ?',
      params: ['pattern'],
      runs: 25,
    },
    // Passes the config's SELECT/WITH rule; SQLite itself says it is no read-only statement.
    { name: 'sneaky write', database: 'tier1', sql: 'WITH x AS (SELECT 1) DELETE FROM messages RETURNING id' },
  ];
  fs.writeFileSync(configPath, JSON.stringify(c));
}

describe('performance probes', () => {
  it('quantiles by nearest rank', () => {
    const xs = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1
    expect(quantile(xs, 0.5)).toBe(10);
    expect(quantile(xs, 0.95)).toBe(19);
    expect(quantile([7], 0.95)).toBe(7);
  });

  it('--run times each probe before and after (p50 <= p95), in the report, --json and --history; a probe that writes is an error and changes nothing', () => {
    const demo = demoBrain({ ftsDrift: true });
    withProbes(demo.configPath);
    const tier1 = path.join(demo.dir, 'tier1/conversations.db');
    const messages = sqlite3(tier1, 'SELECT count(*) FROM messages');
    const r = cli(['--config', demo.configPath, '--run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const [search, sneaky] = JSON.parse(r.stdout).probes;
    expect(search).toMatchObject({ name: 'pattern search', database: 'tier2', error: null });
    for (const t of [search.before, search.after]) {
      expect(t.rows).toBeGreaterThan(0);
      expect(t.p50Ms).toBeGreaterThan(0);
      expect(t.p50Ms).toBeLessThanOrEqual(t.p95Ms);
    }
    expect(sneaky.before).toBeNull();
    expect(sneaky.error).toMatch(/readonly|read-only|not a query/i);
    expect(sqlite3(tier1, 'SELECT count(*) FROM messages')).toBe(messages);
    const human = cli(['--config', demo.configPath, '--history']);
    expect(human.stdout).toMatch(
      /probe pattern search \(tier2\): p50 [\d.]+ ms, p95 [\d.]+ ms -> p50 [\d.]+ ms, p95 [\d.]+ ms/,
    );
    const h = JSON.parse(cli(['--config', demo.configPath, '--history', '--json']).stdout);
    expect(h.runs[0].probes[0]).toEqual({
      name: 'pattern search',
      database: 'tier2',
      before: { p50Ms: search.before.p50Ms, p95Ms: search.before.p95Ms },
      after: { p50Ms: search.after.p50Ms, p95Ms: search.after.p95Ms },
      error: null,
    });
  });

  it('--scheduled times them around the due lanes; --dry-run does not run them', () => {
    const demo = demoBrain();
    withProbes(demo.configPath);
    const dry = JSON.parse(cli(['--config', demo.configPath, '--scheduled', '--dry-run', '--json']).stdout);
    expect(dry.probes).toEqual([]);
    const r = cli(['--config', demo.configPath, '--scheduled', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).probes[0].after.rows).toBeGreaterThan(0);
    const h = JSON.parse(cli(['--config', demo.configPath, '--history', '--json']).stdout);
    expect(h.runs[0].command).toBe('--scheduled');
    expect(h.runs[0].probes.map((p: { name: string }) => p.name)).toEqual(['pattern search', 'sneaky write']);
  });
});
