import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, demoBrain, NOW, tempDir } from './helpers.js';
import { exited } from './process-helpers.js';
import { parsePrometheus } from './prometheus-helpers.js';

describe('--metrics-file', () => {
  it('valid Prometheus text: database sizes, task status and timings, what the last run moved', () => {
    const demo = demoBrain();
    const out = path.join(tempDir(), 'dbm.prom');
    const r = cli(['--config', demo.configPath, '--scheduled', '--metrics-file', out]);
    expect(r.status, r.stderr).toBe(0);
    const p = parsePrometheus(fs.readFileSync(out, 'utf8'));
    const get = (name: string, labels: Record<string, string> = {}): number | undefined =>
      p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(get('dbm_database_size_bytes', { database: 'tier1' })).toBe(
      fs.statSync(path.join(demo.dir, 'tier1/conversations.db')).size,
    );
    expect(get('dbm_database_readable', { database: 'tier2' })).toBe(1);
    expect(get('dbm_database_freelist_ratio', { database: 'tier1' })).toBe(0); // the monthly lane vacuumed it
    expect(get('dbm_task_last_status', { database: 'tier1', task: 'VACUUM', status: 'ok' })).toBe(1);
    expect(
      get('dbm_task_last_success_timestamp_seconds', { database: 'events', task: 'COMPRESS_EVENTS' }),
    ).toBeGreaterThan(NOW.getTime() / 1000 - 86_400 * 365);
    expect(get('dbm_last_run_exit_code')).toBe(0);
    expect(get('dbm_last_run_items', { kind: 'conversations_archived' })).toBeGreaterThan(0);
    expect(get('dbm_last_run_items', { kind: 'event_lines_compressed' })).toBeGreaterThan(0);
    expect(get('dbm_metrics_generated_timestamp_seconds')).toBe(NOW.getTime() / 1000);
  });

  it('the probes of the newest run that timed them: p50/p95 before and after, and which one failed', () => {
    const demo = demoBrain();
    const c = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
    c.probes = [
      {
        name: 'pattern search',
        database: 'tier2',
        sql: 'SELECT rowid FROM patterns_fts WHERE patterns_fts MATCH ?',
        params: ['pattern'],
        runs: 5,
      },
      { name: 'broken', database: 'tier1', sql: 'SELECT * FROM no_such_table' },
    ];
    fs.writeFileSync(demo.configPath, JSON.stringify(c));
    const out = path.join(tempDir(), 'dbm.prom');
    const r = cli(['--config', demo.configPath, '--run', '--json', '--metrics-file', out]);
    expect(r.status, r.stderr).toBe(0);
    const [search] = JSON.parse(r.stdout).probes;
    // a later action that times no probes does not hide them
    expect(cli(['--config', demo.configPath, '--assess', '--metrics-file', out]).status).toBe(0);
    const p = parsePrometheus(fs.readFileSync(out, 'utf8'));
    const get = (labels: Record<string, string>, name = 'dbm_probe_latency_seconds'): number | undefined =>
      p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const probe = { probe: 'pattern search', database: 'tier2' };
    expect(get({ ...probe, phase: 'before', quantile: '0.5' })).toBe(search.before.p50Ms / 1000);
    expect(get({ ...probe, phase: 'before', quantile: '0.95' })).toBe(search.before.p95Ms / 1000);
    expect(get({ ...probe, phase: 'after', quantile: '0.5' })).toBe(search.after.p50Ms / 1000);
    expect(get({ ...probe, phase: 'after', quantile: '0.95' })).toBe(search.after.p95Ms / 1000);
    expect(get(probe, 'dbm_probe_error')).toBe(0);
    expect(get({ probe: 'broken', database: 'tier1' }, 'dbm_probe_error')).toBe(1);
    expect(p.samples.filter((s) => s.name === 'dbm_probe_latency_seconds' && s.labels['probe'] === 'broken')).toEqual(
      [],
    );
    expect(get({}, 'dbm_probe_run_timestamp_seconds')).toBe(NOW.getTime() / 1000);
  });

  it('is never half-written: a reader polling the file while it is rewritten always sees a whole, valid file', async () => {
    const demo = demoBrain();
    const dir = tempDir();
    const out = path.join(dir, 'dbm.prom');
    expect(cli(['--config', demo.configPath, '--assess', '--metrics-file', out]).status).toBe(0);
    const inodes = new Set<number>();
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = fs.readFileSync(out, 'utf8');
        parsePrometheus(text);
        inodes.add(fs.statSync(out).ino);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 5; i++) {
      const child = spawn(process.execPath, [BIN, '--config', demo.configPath, '--history', '--metrics-file', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect((await exited(child)).code).toBe(0);
    }
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(inodes.size).toBeGreaterThan(1); // replaced by rename, not rewritten in place
    expect(fs.readdirSync(dir)).toEqual(['dbm.prom']); // no temp file left
  });

  it('an unwritable metrics path: one line on stderr, exit 3, the action itself done', () => {
    const demo = demoBrain();
    const r = cli([
      '--config',
      demo.configPath,
      '--assess',
      '--metrics-file',
      path.join(demo.dir, 'no-such-dir', 'm.prom'),
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot write the metrics file .*ENOENT/);
    expect(r.stdout).toMatch(/db-maintenance assess/);
  });
});
