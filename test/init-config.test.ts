/**
 * `--init-config DIR` on real brains: the config guessed, read-only, each guess with its
 * evidence, and `--assess` running on the result without edits. On the demo brain (compared
 * with the demo's own config), on seed 001's and seed 000's schemas, and on a single-database
 * brain with tier-prefixed tables and TEXT UUID keys (test/init-config-fixtures.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, demoBrain, readJson, snapshotTree, tempDir } from './helpers.js';
import { seed000Brain, seed001Brain, tierPrefixedBrain } from './init-config-fixtures.js';
import { CONFIG, dbPath, expectAssessable, initConfig, isRoot, NO_DAC, untouched } from './init-config-helpers.js';

describe('--init-config on the demo brain', () => {
  it('guesses what the demo config says, writes nothing else, and --assess runs on it', () => {
    const demo = demoBrain();
    const own = readJson(demo.configPath) as Record<string, any>;
    fs.renameSync(demo.configPath, path.join(demo.dir, '..', 'demo.json'));
    const before = untouched(demo.dir);
    const { report } = initConfig(demo.dir);
    expect(untouched(demo.dir)).toEqual(before);
    expect(fs.readdirSync(path.join(demo.dir, 'tier1'))).toEqual(['conversations.db']);
    const config = readJson(path.join(demo.dir, CONFIG)) as Record<string, any>;
    expect(report.config).toEqual(config);
    expect(report).toMatchObject({
      version: 1,
      command: 'init-config',
      written: true,
      configPath: path.join(demo.dir, CONFIG),
    });
    // The same databases (by path), the same tables and columns.
    const paths = (c: Record<string, any>): string[] =>
      Object.values(c['databases'])
        .map((d: any) => d.path)
        .sort();
    expect(paths(config)).toEqual(paths(own));
    for (const rule of ['conversations', 'patterns']) {
      expect(dbPath(config, rule)).toBe(dbPath(own, rule));
      const { database: _a, ...mine } = config[rule];
      const { database: _b, ...theirs } = own[rule];
      expect(mine).toEqual(theirs);
    }
    expect(config['events']).toEqual(own['events']);
    expect(config['logs']).toEqual(own['logs']);
    expect(config['$schema']).toMatch(/maintenance\.config\.schema\.json$/);
    expect(fs.existsSync(path.resolve(demo.dir, config['$schema']))).toBe(true);
    // Each decision with its evidence.
    const line = (part: string): string =>
      report.evidence.find((e) => e.part === part && e.status === 'found')!.message;
    expect(line('conversations')).toMatch(
      /conversations\.conversations \(key id INTEGER PRIMARY KEY; timestamp started_at, ISO-8601 in (\d+)\/\1 sampled rows; 3 child tables by foreign key/,
    );
    expect(line('patterns')).toMatch(/confidence confidence, in \[0, 1\]/);
    expect(line('events')).toMatch(/timestamp field "timestamp", ISO-8601 in \d+, unix ms in \d+/);
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        part: 'fts',
        subject: 'conversations.messages_fts',
        message: expect.stringMatching(/external-content FTS5 index of messages/),
      }),
    );
    expectAssessable(demo.dir);
  });

  it('prints each decision on stdout in the human report', () => {
    const demo = demoBrain();
    fs.rmSync(demo.configPath);
    const r = cli(['--init-config', demo.dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^wrote ${path.join(demo.dir, CONFIG)}\n`));
    for (const part of ['databases', 'conversations', 'patterns', 'fts', 'events', 'logs'])
      expect(r.stdout).toMatch(new RegExp(`^${part}: `, 'm'));
  });
});

describe('--init-config on seed 001 (one memory database, rollback journal)', () => {
  it('finds conversations, learned_patterns and the external-content FTS index; events and logs are not found', () => {
    const dir = tempDir();
    seed001Brain(dir);
    const before = untouched(dir);
    const { report } = initConfig(dir);
    expect(untouched(dir)).toEqual(before);
    expect(fs.readdirSync(dir).sort()).toEqual(
      ['.db-maintenance', CONFIG, 'sessions.db'].filter((f) => f !== '.db-maintenance'),
    );
    const c = report.config;
    expect(c['databases']).toEqual({ sessions: { path: 'sessions.db' } });
    expect(c['conversations']).toMatchObject({
      database: 'sessions',
      table: 'conversations',
      keyColumn: 'id',
      timestampColumn: 'started_at',
    });
    expect(c['conversations'].childTables).toBeUndefined();
    expect(c['patterns']).toMatchObject({
      database: 'sessions',
      table: 'learned_patterns',
      keyColumn: 'id',
      confidenceColumn: 'confidence_score',
      lastUsedColumn: 'last_seen',
    });
    expect(c['events']).toBeUndefined();
    expect(c['logs']).toBeUndefined();
    const conv = report.evidence.find((e) => e.part === 'conversations')!;
    expect(conv.message).toMatch(
      /ISO-8601 in 12\/12 sampled rows; 3 child tables by foreign key \(agent_interactions, messages, routing_decisions\)/,
    );
    expect(conv.message).toMatch(/also considered: sessions\.sessions/);
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        part: 'events',
        status: 'not-found',
        message: expect.stringMatching(/no \*\.jsonl file/),
      }),
    );
    expect(report.evidence).toContainEqual(expect.objectContaining({ part: 'logs', status: 'not-found' }));
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        part: 'fts',
        subject: 'sessions.messages_fts',
        message: expect.stringMatching(/external-content/),
      }),
    );
    expectAssessable(dir);
  });

  // Root, with setpriv dropping the capabilities that bypass file modes: the permissions then bind it.
  it.skipIf(!isRoot)('reads a database it may not write without creating anything beside it', () => {
    const dir = tempDir();
    seed001Brain(dir);
    fs.chmodSync(path.join(dir, 'sessions.db'), 0o444);
    fs.chmodSync(dir, 0o555);
    const before = untouched(dir);
    try {
      const r = cli(['--init-config', dir, '--dry-run'], { wrap: NO_DAC });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/"table": "learned_patterns"/);
      expect(fs.readdirSync(dir)).toEqual(['sessions.db']);
      expect(untouched(dir)).toEqual(before);
      // Writing is refused by the file system: one line, exit 3, nothing left behind.
      const w = cli(['--init-config', dir], { wrap: NO_DAC });
      expect(w.status, w.stderr).toBe(3);
      expect(w.stderr).toMatch(/^error: --init-config: .*maintenance\.config\.json cannot be written \(EACCES\)/);
      expect(fs.readdirSync(dir)).toEqual(['sessions.db']);
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });
});

describe('--init-config on seed 000 (CORTEX: tier1/tier2/tier3, events.jsonl, logs beside the brain)', () => {
  it('finds the text-keyed conversations with their messages as childTables (no foreign key), patterns, events', () => {
    const root = tempDir();
    const brain = seed000Brain(root);
    const before = untouched(brain);
    const { report } = initConfig(brain);
    expect(untouched(brain)).toEqual(before);
    for (const t of ['tier1', 'tier2', 'tier3']) expect(fs.readdirSync(path.join(brain, t))).toHaveLength(1);
    const c = report.config;
    expect(Object.keys(c['databases']).sort()).toEqual(['conversations', 'development_context', 'knowledge_graph']);
    expect(c['conversations']).toEqual({
      database: 'conversations',
      table: 'conversations',
      keyColumn: 'conversation_id',
      timestampColumn: 'created_at',
      childTables: [{ table: 'messages', column: 'conversation_id', references: 'conversation_id' }],
      archiveAfterDays: 30,
      keepNewest: 20,
    });
    expect(dbPath(c, 'conversations')).toBe('tier1/conversations.db');
    expect(c['patterns']).toMatchObject({
      table: 'patterns',
      keyColumn: 'pattern_id',
      confidenceColumn: 'confidence',
      lastUsedColumn: 'last_used',
    });
    expect(dbPath(c, 'patterns')).toBe('tier2/knowledge_graph.db');
    expect(c['events']).toMatchObject({ path: 'events.jsonl', timestampField: 'timestamp' });
    expect(c['logs']).toBeUndefined();
    const conv = report.evidence.find((e) => e.part === 'conversations')!.message;
    expect(conv).toMatch(
      /key conversation_id TEXT PRIMARY KEY; timestamp created_at, ISO-8601 in 25\/25 sampled rows; no child table by foreign key; messages\.conversation_id refers to conversations\.conversation_id without a foreign key \(50\/50 sampled values are its keys\)/,
    );
    expect(report.evidence.find((e) => e.part === 'patterns')!.message).toMatch(
      /last used last_used, ISO-8601 in 9\/9 sampled rows/,
    );
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        part: 'fts',
        subject: 'knowledge_graph.patterns_fts',
        message: expect.stringMatching(/regular/),
      }),
    );
    expectAssessable(brain);
    // The childTables written move the messages with their conversation.
    const dry = cli(['--config', path.join(brain, CONFIG), '--archive', '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would move 5 of 25 conversations and 10 child rows/);
  });

  it("does not take the tool's own archive databases for live ones", () => {
    const root = tempDir();
    const brain = seed000Brain(root);
    fs.copyFileSync(
      path.join(brain, 'tier1', 'conversations.db'),
      path.join(brain, 'tier1', 'conversation_archive.db'),
    );
    fs.copyFileSync(path.join(brain, 'tier2', 'knowledge_graph.db'), path.join(brain, 'tier2', 'pattern_archive.db'));
    const { report } = initConfig(brain, '--dry-run');
    expect(Object.values(report.config['databases']).map((d: any) => d.path)).not.toContain(
      'tier1/conversation_archive.db',
    );
    expect(dbPath(report.config, 'conversations')).toBe('tier1/conversations.db');
    expect(dbPath(report.config, 'patterns')).toBe('tier2/knowledge_graph.db');
    for (const f of ['tier1/conversation_archive.db', 'tier2/pattern_archive.db'])
      expect(report.evidence).toContainEqual(
        expect.objectContaining({
          subject: f,
          status: 'skipped',
          message: expect.stringMatching(/db-maintenance's own .* archive/),
        }),
      );
  });
});

describe('--init-config on a single database with tier-prefixed tables and TEXT UUID keys', () => {
  it('finds tier1_conversations (not its tags table), tier2_patterns, the events file and the logs', () => {
    const dir = tempDir();
    tierPrefixedBrain(dir);
    fs.writeFileSync(path.join(dir, 'notes.db'), 'plain text, not a database\n');
    fs.writeFileSync(path.join(dir, 'empty.db'), '');
    const before = untouched(dir);
    const { report } = initConfig(dir);
    expect(untouched(dir)).toEqual(before);
    expect(fs.readdirSync(dir).sort()).toEqual(
      ['.db-maintenance', 'brain.sqlite', 'empty.db', 'events', 'log', CONFIG, 'notes.db']
        .filter((f) => f !== '.db-maintenance')
        .sort(),
    );
    const c = report.config;
    expect(c['databases']).toEqual({ brain: { path: 'brain.sqlite' } });
    expect(c['conversations']).toMatchObject({
      database: 'brain',
      table: 'tier1_conversations',
      keyColumn: 'id',
      timestampColumn: 'created_at',
    });
    expect(c['conversations'].childTables).toBeUndefined();
    expect(c['patterns']).toMatchObject({
      database: 'brain',
      table: 'tier2_patterns',
      keyColumn: 'id',
      confidenceColumn: 'confidence',
      lastUsedColumn: 'last_used',
    });
    expect(c['events']).toMatchObject({ path: 'events/agent-events.jsonl', timestampField: 'ts' });
    expect(c['logs']).toMatchObject({ dir: 'log', extension: '.log' });
    const line = (part: string): string =>
      report.evidence.find((e) => e.part === part && e.status === 'found')!.message;
    expect(line('conversations')).toMatch(
      /key id TEXT PRIMARY KEY; timestamp created_at, unix ms in 30\/30 sampled rows; 2 child tables by foreign key \(tier1_conversation_tags, tier1_messages\).*also considered: brain\.tier1_conversation_tags/,
    );
    expect(line('patterns')).toMatch(/last used last_used, julian day in 9\/9 sampled rows/);
    expect(line('events')).toMatch(/timestamp field "ts", unix seconds in 50\/50 sampled lines/);
    expect(report.evidence).toContainEqual(
      expect.objectContaining({ status: 'skipped', subject: 'empty.db', message: expect.stringMatching(/empty file/) }),
    );
    expect(report.evidence).toContainEqual(
      expect.objectContaining({
        part: 'databases',
        status: 'skipped',
        subject: 'notes.db',
        message: expect.stringMatching(/not a SQLite database/),
      }),
    );
    expectAssessable(dir);
  });
});

describe.each([
  [
    'the demo brain',
    (): string => {
      const demo = demoBrain();
      fs.rmSync(demo.configPath);
      return demo.dir;
    },
  ],
  [
    'seed 001',
    (): string => {
      const dir = tempDir();
      seed001Brain(dir);
      return dir;
    },
  ],
  ['seed 000', (): string => seed000Brain(tempDir())],
  [
    'the tier-prefixed brain',
    (): string => {
      const dir = tempDir();
      tierPrefixedBrain(dir);
      return dir;
    },
  ],
])('--init-config on %s: --dry-run, write, refuse', (_name, make) => {
  it('--dry-run writes nothing and prints what is then written; a second run is refused and changes nothing', () => {
    const dir = make();
    const before = snapshotTree(dir);
    const dry = initConfig(dir, '--dry-run').report;
    expect(dry.written).toBe(false);
    expect(snapshotTree(dir)).toEqual(before);
    const wrote = initConfig(dir).report;
    expect(wrote.written).toBe(true);
    expect(wrote.config).toEqual(dry.config);
    expect(readJson(path.join(dir, CONFIG))).toEqual(dry.config);
    const written = snapshotTree(dir);
    const again = cli(['--init-config', dir]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^error: .* already exists: --init-config never overwrites a config \(.*--dry-run/);
    expect(snapshotTree(dir)).toEqual(written);
  });
});
