/**
 * deploy/grafana-dashboard.json and deploy/prometheus-rules.yml against what the tool really
 * writes: the metric names (and the label names their selectors match on) are collected from
 * the `--metrics-file` output of `--assess`, `--run` and `--scheduled` on a demo brain.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, demoBrain, ROOT, tempDir } from './helpers.js';
import { parsePrometheus, promtool } from './prometheus-helpers.js';

const DASHBOARD = path.join(ROOT, 'deploy', 'grafana-dashboard.json');
const RULES = path.join(ROOT, 'deploy', 'prometheus-rules.yml');

/** Metric name -> the label names its samples carry, over every file written. */
const written = new Map<string, Set<string>>();

beforeAll(() => {
  // A brain with something in every family: drift, wrong triggers, an archive, probes, a budget that defers.
  const demo = demoBrain({ ftsDrift: true });
  const c = JSON.parse(fs.readFileSync(demo.configPath, 'utf8'));
  c.maintenance = { ...(c.maintenance ?? {}), maxWriterWaitMs: 50 };
  c.probes = [{ name: 'pattern search', database: 'tier2', sql: 'SELECT count(*) FROM patterns', runs: 3 }];
  fs.writeFileSync(demo.configPath, JSON.stringify(c));
  expect(cli(['--config', demo.configPath, '--archive']).status).toBe(0);
  const live = new Database(path.join(demo.dir, 'tier1', 'conversations.db'));
  live.exec('DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT 50)');
  live.close();
  const out = path.join(tempDir(), 'dbm.prom');
  for (const action of [['--assess'], ['--run'], ['--scheduled']]) {
    const r = cli(['--config', demo.configPath, ...action, '--metrics-file', out]);
    expect([0, 6], `${action[0]}: ${r.stderr}`).toContain(r.status);
    for (const s of parsePrometheus(fs.readFileSync(out, 'utf8')).samples) {
      const labels = written.get(s.name) ?? new Set<string>();
      for (const l of Object.keys(s.labels)) labels.add(l);
      written.set(s.name, labels);
    }
  }
}, 120_000);

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names of a PromQL expression, and the label names each one's selector matches on. */
function metricsOf(expr: string): Array<{ name: string; labels: string[] }> {
  const out: Array<{ name: string; labels: string[] }> = [];
  // Strings first (a label value may hold anything), then grouping clauses (their label lists).
  const src = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const token = /\d+(?:\.\d+)?(?:e[+-]?\d+)?[smhdwy]*|[a-zA-Z_:][a-zA-Z0-9_:]*|\{[^}]*\}|\[[^\]]*\]|\S/g;
  const tokens = src.match(token) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!/^[a-zA-Z_:]/.test(t) || KEYWORDS.has(t.toLowerCase())) continue;
    if (tokens[i + 1] === '(') continue; // a function
    const matcher = tokens[i + 1]?.startsWith('{') ? tokens[i + 1]! : '';
    const labels = [...matcher.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]!);
    out.push({ name: t, labels });
  }
  return out;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ refId: string; expr: string; datasource?: { type: string; uid: string } }>;
  panels?: Panel[];
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { uid: string } }> };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const graphs = panels.filter((p) => p.type !== 'row');

describe('deploy/grafana-dashboard.json', () => {
  it('has the shape of a dashboard: unique panel ids on a 24-column grid, targets, a templated Prometheus datasource', () => {
    expect(typeof dashboard.title).toBe('string');
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThan(30);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(ds).toMatchObject({ name: 'datasource', query: 'prometheus' });
    expect(graphs.length).toBeGreaterThan(10);
    for (const p of graphs) {
      expect(p.title, String(p.id)).toBeTruthy();
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refs = p.targets!.map((t) => t.refId);
      expect(new Set(refs).size, p.title).toBe(refs.length);
      for (const t of p.targets!) {
        expect(t.datasource?.uid ?? '${datasource}', p.title).toBe('${datasource}');
        expect(t.expr.trim(), p.title).not.toBe('');
      }
    }
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query'))
      expect(v.datasource?.uid).toBe('${datasource}');
  });

  it('every expression names only metrics the tool writes, matching only labels they carry; every metric written is on it', () => {
    expect(written.size).toBeGreaterThan(20);
    const used = new Set<string>();
    const exprs = [
      ...graphs.flatMap((p) => p.targets!.map((t) => ({ where: p.title, expr: t.expr }))),
      ...dashboard.templating.list
        .filter((v) => v.type === 'query')
        .map((v) => ({ where: `$${v.name}`, expr: String((v.query as { query?: string }).query ?? v.query) })),
    ];
    for (const { where, expr } of exprs) {
      const names = metricsOf(expr.replace(/^label_values\(([^,]+),.*\)$/, '$1'));
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const m of names) {
        expect(written.has(m.name), `${where}: ${m.name} is not written by the tool`).toBe(true);
        used.add(m.name);
        for (const l of m.labels)
          expect(
            l === 'instance' || l === 'job' || written.get(m.name)!.has(l),
            `${where}: ${m.name} has no label ${l}`,
          ).toBe(true);
      }
    }
    expect([...written.keys()].filter((n) => !used.has(n))).toEqual([]);
  });

  it('the expression parser finds metric names and only them', () => {
    expect(
      metricsOf(
        'time() - max by (instance) (dbm_a{x=~"$i",y!="a b"}) > on (instance) group_left () dbm_b[5m] offset 1h',
      ),
    ).toEqual([
      { name: 'dbm_a', labels: ['x', 'y'] },
      { name: 'dbm_b', labels: [] },
    ]);
    expect(metricsOf('sum(rate(nope_total[5m])) and 3e2')).toEqual([{ name: 'nope_total', labels: [] }]);
  });
});

describe('deploy/prometheus-rules.yml', () => {
  const text = fs.readFileSync(RULES, 'utf8');
  const exprs = [...text.matchAll(/^\s+expr:\s*(.+)$/gm)].map((m) => m[1]!.trim());

  it('every alert expression names only metrics the tool writes, with labels they carry', () => {
    expect(exprs.length).toBeGreaterThan(5);
    for (const expr of exprs) {
      const names = metricsOf(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const m of names) {
        expect(written.has(m.name), `${m.name} is not written by the tool`).toBe(true);
        for (const l of m.labels) expect(written.get(m.name)!.has(l), `${m.name} has no label ${l}`).toBe(true);
      }
    }
  });

  it.skipIf(!promtool())(
    `promtool check rules accepts it${promtool() ? '' : ' (skipped: promtool is not installed; apt-get install prometheus)'}`,
    () => {
      const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
    },
  );
});
