/**
 * The demo brain generator (`--init-demo DIR [--scale N] [--seed N] [--fts-drift]`).
 *
 * Builds tier1/tier2/tier3/state databases in WAL mode, an events.jsonl spanning ~120 days
 * (with a few malformed lines) and logs/ with old and recent *.log files, plus a
 * maintenance.config.json pointing at them. It leaves real maintenance needs behind:
 * tier1 is fragmented (three quarters of its older conversations deleted) with statistics that drifted
 * since its ANALYZE, tier2 was never analyzed, and with `ftsDrift` tier1's external-content
 * FTS index drifted from its content through a wrong delete trigger. tier3 and state are healthy.
 *
 * The same seed and `now` give the same content.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DbmError } from '../errors.js';
import { DAY_MS } from '../util/time.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { Random } from './random.js';
import {
  buildState,
  buildTier1,
  buildTier2,
  buildTier3,
  SPAN_DAYS,
  vocabulary,
  type DemoOptions,
} from './databases.js';

export interface DemoSummary {
  readonly dir: string;
  readonly configPath: string;
  readonly files: Readonly<Record<string, number>>;
  readonly conversations: number;
  readonly messages: number;
  readonly patterns: number;
  readonly events: number;
}

export const DEMO_MARKER = '.db-maintenance-demo';

export const DEMO_PATHS = {
  tier1: 'tier1/conversations.db',
  tier2: 'tier2/knowledge_graph.db',
  tier3: 'tier3/development_context.db',
  state: 'state/app_state.db',
  events: 'events.jsonl',
  logs: 'logs',
} as const;

export function generateDemoBrain(opts: DemoOptions): DemoSummary {
  prepareTarget(opts.dir);
  const rnd = new Random(opts.seed);
  const words = vocabulary(new Random(opts.seed ^ 0x5bd1e995));
  const nowMs = opts.now.getTime();
  const text = (min: number, max: number): string => {
    const n = rnd.int(min, max);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(rnd.pick(words));
    return out.join(' ');
  };

  for (const rel of Object.values(DEMO_PATHS)) {
    fs.mkdirSync(path.join(opts.dir, rel === 'logs' ? rel : path.dirname(rel)), { recursive: true });
  }
  let t1: ReturnType<typeof buildTier1>;
  let patterns: number;
  let events: number;
  try {
    t1 = buildTier1(path.join(opts.dir, DEMO_PATHS.tier1), opts, rnd, text, nowMs);
    patterns = buildTier2(path.join(opts.dir, DEMO_PATHS.tier2), opts, rnd, text, nowMs);
    buildTier3(path.join(opts.dir, DEMO_PATHS.tier3), opts, rnd, text, nowMs);
    buildState(path.join(opts.dir, DEMO_PATHS.state), rnd, nowMs);
    events = writeEvents(path.join(opts.dir, DEMO_PATHS.events), opts, rnd, nowMs);
    writeLogs(path.join(opts.dir, DEMO_PATHS.logs), rnd, text, nowMs);
  } finally {
    opts.progress?.end();
  }

  const configPath = path.join(opts.dir, 'maintenance.config.json');
  writeFileAtomic(configPath, `${JSON.stringify(demoConfig(''), null, 2)}\n`);
  fs.writeFileSync(
    path.join(opts.dir, DEMO_MARKER),
    `seed=${opts.seed} scale=${opts.scale} now=${opts.now.toISOString()}\n`,
  );

  const files: Record<string, number> = {};
  for (const [k, rel] of Object.entries(DEMO_PATHS)) {
    if (k !== 'logs') files[k] = fs.statSync(path.join(opts.dir, rel)).size;
  }
  return { dir: opts.dir, configPath, files, conversations: t1.conversations, messages: t1.messages, patterns, events };
}

/** The config of a demo brain, with paths under `prefix` (relative to the config file). */
export function demoConfig(prefix: string): Record<string, unknown> {
  const p = (rel: string): string => (prefix ? `${prefix}/${rel}` : rel);
  return {
    $schema: prefix ? './maintenance.config.schema.json' : undefined,
    databases: {
      tier1: { path: p(DEMO_PATHS.tier1) },
      tier2: { path: p(DEMO_PATHS.tier2) },
      tier3: { path: p(DEMO_PATHS.tier3) },
      state: { path: p(DEMO_PATHS.state) },
    },
    conversations: {
      database: 'tier1',
      table: 'conversations',
      keyColumn: 'id',
      timestampColumn: 'started_at',
      archiveAfterDays: 30,
      keepNewest: 20,
    },
    patterns: {
      database: 'tier2',
      table: 'patterns',
      keyColumn: 'id',
      confidenceColumn: 'confidence',
      lastUsedColumn: 'last_used',
      minConfidence: 0.3,
      unusedDays: 90,
    },
    events: { path: p(DEMO_PATHS.events), timestampField: 'timestamp', compressAfterDays: 7 },
    logs: { dir: p(DEMO_PATHS.logs), extension: '.log', rotateAfterDays: 90 },
    stateDir: '.db-maintenance',
  };
}

function prepareTarget(dir: string): void {
  if (fs.existsSync(dir)) {
    const st = fs.statSync(dir);
    if (!st.isDirectory()) {
      throw new DbmError('DEMO_TARGET_EXISTS', `--init-demo target ${dir} exists and is not a directory`, {
        hint: 'choose a new directory',
      });
    }
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new DbmError('DEMO_TARGET_EXISTS', `--init-demo target ${dir} is not empty and is not a demo brain`, {
        hint: 'choose a new or empty directory; only an earlier demo brain is replaced',
      });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new DbmError('DEMO_TARGET_EXISTS', `--init-demo target ${dir} cannot be created: ${code}`, {
      hint:
        code === 'ENOTDIR'
          ? 'a file stands where one of its directories would be: choose another directory'
          : 'choose a directory you can write',
    });
  }
}

function writeEvents(file: string, opts: DemoOptions, rnd: Random, nowMs: number): number {
  const n = Math.max(500, Math.round(opts.scale * 500));
  const startMs = nowMs - SPAN_DAYS * DAY_MS;
  const fd = fs.openSync(file, 'w');
  let buf = '';
  for (let i = 0; i < n; i++) {
    opts.progress?.count('init-demo events', i + 1, n, 'lines');
    const t = startMs + ((i + rnd.next()) / n) * (SPAN_DAYS * DAY_MS - 60_000);
    const ts: string | number = i % 97 === 0 ? Math.floor(t) : new Date(t).toISOString();
    buf += `${JSON.stringify({ timestamp: ts, type: rnd.pick(['tool_call', 'message', 'route', 'error']), session: `sess-${rnd.int(0, 99)}`, data: { ms: rnd.int(1, 900) } })}\n`;
    // A few malformed lines, as real event writers leave behind (they must be kept, never dropped).
    if (i === Math.floor(n / 5)) buf += '{"timestamp": "2026-01-01T00:00:00Z", "type": "truncated"\n';
    if (i === Math.floor(n / 2)) buf += 'not json at all\n';
    if (i === Math.floor((n * 3) / 4)) buf += '{"type":"no-timestamp"}\n';
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
  return n + 3;
}

function writeLogs(dir: string, rnd: Random, text: (min: number, max: number) => string, nowMs: number): void {
  const logs: Array<[string, number]> = [
    ['app.log', 0],
    ['agent.log', 1],
    ['router.log', 20],
    ['sync.log', 45],
    ['indexer.log', 140],
  ];
  for (const [name, ageDays] of logs) {
    const file = path.join(dir, name);
    let body = '';
    for (let i = 0; i < 200; i++)
      body += `${new Date(nowMs - ageDays * DAY_MS - (200 - i) * 60_000).toISOString()} INFO ${text(4, 12)}\n`;
    fs.writeFileSync(file, body);
    const mtime = new Date(nowMs - ageDays * DAY_MS - rnd.int(0, 3_600_000));
    fs.utimesSync(file, mtime, mtime);
  }
}
