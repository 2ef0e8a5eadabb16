/**
 * Brains of other schemas than the demo's, for `--init-config`: small real databases built from
 * the SQL schemas of seed 001 (the memory database: sessions, conversations, messages with an
 * external-content FTS5 index, learned_patterns) and seed 000 (CORTEX: tier1 conversations and
 * messages joined by conversation_id without a foreign key, tier2 patterns with FTS5, tier3,
 * events.jsonl, logs beside the brain), and a single-database brain with tier-prefixed table
 * names and TEXT UUID keys. A few rows each, timestamps in the formats such applications write.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NOW } from './helpers.js';

const DAY = 86_400_000;
const ago = (days: number): number => NOW.getTime() - days * DAY;
/** `2026-11-01 10:00:00`: SQLite's CURRENT_TIMESTAMP (seed 001's DEFAULTs). */
const sqliteTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
/** `2026-11-01T10:00:00.123456`: Python's datetime.isoformat() (seed 000). */
const pythonIso = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}456`;
const julianDay = (ms: number): number => ms / DAY + 2440587.5;

function build(file: string, sql: string, fill: (db: Database.Database) => void, journal: 'wal' | 'delete'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma(`journal_mode = ${journal}`);
  db.exec(sql);
  db.transaction(() => fill(db))();
  db.close();
}

/** Seed 001's schema (its README, verbatim), in one database `sessions.db`, rollback journal. */
export const SEED_001_SCHEMA = `
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    project_id TEXT,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    last_active_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    status TEXT DEFAULT 'active' CHECK(status IN ('active', 'paused', 'completed', 'archived')),
    metadata_json TEXT DEFAULT '{}'
);
CREATE INDEX idx_sessions_user ON sessions(user_id);
CREATE INDEX idx_sessions_active ON sessions(status) WHERE status = 'active';
CREATE INDEX idx_sessions_last_active ON sessions(last_active_at);
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    conversation_id TEXT UNIQUE NOT NULL,
    title TEXT,
    started_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    ended_at DATETIME,
    message_count INTEGER DEFAULT 0,
    summary TEXT,
    metadata_json TEXT DEFAULT '{}'
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK(role IN ('user', 'assistant', 'system', 'tool')),
    content TEXT NOT NULL,
    token_count INTEGER,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    importance_score REAL DEFAULT 0.5,
    is_summarized BOOLEAN DEFAULT FALSE,
    original_content TEXT
);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content='messages',
    content_rowid='id',
    tokenize='porter unicode61'
);
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TABLE agent_interactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_type TEXT NOT NULL,
    task_description TEXT,
    result_summary TEXT,
    input_tokens INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0,
    cost_usd REAL DEFAULT 0.0,
    started_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    completed_at DATETIME,
    status TEXT DEFAULT 'running' CHECK(status IN ('running', 'completed', 'failed', 'cancelled'))
);
CREATE TABLE routing_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
    intent TEXT,
    complexity TEXT,
    confidence REAL,
    selected_workflow TEXT,
    routing_method TEXT,
    decided_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    reasoning TEXT
);
CREATE TABLE cost_tracking (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    input_tokens INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0,
    cost_usd REAL DEFAULT 0.0,
    recorded_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE user_preferences (
    user_id TEXT NOT NULL,
    preference_key TEXT NOT NULL,
    preference_value TEXT,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, preference_key)
);
CREATE TABLE learned_patterns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern_type TEXT NOT NULL,
    pattern_key TEXT NOT NULL,
    pattern_value TEXT,
    occurrence_count INTEGER DEFAULT 1,
    confidence_score REAL DEFAULT 0.5,
    first_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
    last_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(pattern_type, pattern_key)
);
`;

/** A seed-001 brain: `dir/sessions.db` (rollback journal), nothing else. */
export function seed001Brain(dir: string): string {
  const file = path.join(dir, 'sessions.db');
  build(
    file,
    SEED_001_SCHEMA,
    (db) => {
      const session = db.prepare(
        'INSERT INTO sessions (session_id, user_id, project_id, created_at, updated_at, last_active_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      const conv = db.prepare(
        'INSERT INTO conversations (session_id, conversation_id, title, started_at, ended_at, message_count) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const msg = db.prepare(
        'INSERT INTO messages (conversation_id, role, content, token_count, created_at) VALUES (?, ?, ?, ?, ?)',
      );
      const route = db.prepare(
        'INSERT INTO routing_decisions (conversation_id, intent, complexity, confidence, decided_at) VALUES (?, ?, ?, ?, ?)',
      );
      for (let s = 0; s < 3; s++) {
        const sid = `session-00${s + 1}`;
        session.run(
          sid,
          'user-123',
          'project-abc',
          sqliteTime(ago(90 - s * 30)),
          sqliteTime(ago(80 - s * 30)),
          sqliteTime(ago(80 - s * 30)),
          'active',
        );
        db.prepare(
          'INSERT INTO cost_tracking (session_id, model, input_tokens, output_tokens, cost_usd, recorded_at) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(sid, 'claude-sonnet', 1200, 800, 0.021, sqliteTime(ago(80 - s * 30)));
        for (let c = 0; c < 4; c++) {
          const started = ago(90 - s * 30 - c * 5);
          const id = Number(
            conv.run(
              sid,
              `conv-${s}${c}`,
              `Getting started ${s}.${c}`,
              sqliteTime(started),
              sqliteTime(started + 3_600_000),
              3,
            ).lastInsertRowid,
          );
          msg.run(id, 'user', 'How do I use the memory system?', 8, sqliteTime(started));
          msg.run(
            id,
            'assistant',
            'Create a session, then add messages to a conversation.',
            12,
            sqliteTime(started + 60_000),
          );
          msg.run(id, 'user', 'How do I optimize queries?', 6, sqliteTime(started + 120_000));
          route.run(id, 'question', 'simple', 0.92, sqliteTime(started));
        }
      }
      db.prepare(
        "INSERT INTO user_preferences (user_id, preference_key, preference_value) VALUES ('user-123', 'theme', 'dark')",
      ).run();
      const pat = db.prepare(
        'INSERT INTO learned_patterns (pattern_type, pattern_key, pattern_value, occurrence_count, confidence_score, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (let p = 0; p < 8; p++)
        pat.run(
          'workflow',
          `pattern-${p}`,
          'use indexes',
          p + 1,
          p / 8,
          sqliteTime(ago(120)),
          sqliteTime(ago(100 - p * 10)),
        );
    },
    'delete',
  );
  return file;
}

/**
 * A seed-000 (CORTEX) brain in `dir/cortex-brain`: tier1 conversations keyed by a text
 * conversation_id and messages that refer to it without a foreign key, tier2 patterns with a
 * regular FTS5 index, tier3 development context, events.jsonl; its logs in `dir/logs`, beside the
 * brain (seed 000 resolves them as "../logs"). WAL mode, as CORTEX runs.
 */
export function seed000Brain(dir: string): string {
  const brain = path.join(dir, 'cortex-brain');
  build(
    path.join(brain, 'tier1', 'conversations.db'),
    `CREATE TABLE conversations (
       conversation_id TEXT PRIMARY KEY,
       title TEXT,
       created_at TIMESTAMP NOT NULL,
       message_count INTEGER DEFAULT 0
     );
     CREATE TABLE messages (
       id INTEGER PRIMARY KEY,
       conversation_id TEXT NOT NULL,
       role TEXT NOT NULL,
       content TEXT NOT NULL,
       timestamp TIMESTAMP NOT NULL
     );
     CREATE INDEX idx_messages_conversation ON messages(conversation_id);`,
    (db) => {
      for (let c = 0; c < 25; c++) {
        const id = `conv_${String(c).padStart(3, '0')}`;
        const t = ago(60 - c * 2);
        db.prepare('INSERT INTO conversations VALUES (?, ?, ?, 2)').run(id, `Refactor step ${c}`, pythonIso(t));
        db.prepare('INSERT INTO messages (conversation_id, role, content, timestamp) VALUES (?, ?, ?, ?)').run(
          id,
          'user',
          'Add the archival manager',
          pythonIso(t),
        );
        db.prepare('INSERT INTO messages (conversation_id, role, content, timestamp) VALUES (?, ?, ?, ?)').run(
          id,
          'assistant',
          'Archived to conversation_archive.db',
          pythonIso(t + 30_000),
        );
      }
    },
    'wal',
  );
  build(
    path.join(brain, 'tier2', 'knowledge_graph.db'),
    `CREATE TABLE patterns (
       pattern_id TEXT PRIMARY KEY,
       title TEXT NOT NULL,
       content TEXT NOT NULL,
       confidence REAL NOT NULL,
       created_at TIMESTAMP NOT NULL,
       last_used TIMESTAMP
     );
     CREATE VIRTUAL TABLE patterns_fts USING fts5(title, content);`,
    (db) => {
      for (let p = 0; p < 12; p++) {
        db.prepare('INSERT INTO patterns VALUES (?, ?, ?, ?, ?, ?)').run(
          `pat_${p}`,
          `Pattern ${p}`,
          'Backup before VACUUM',
          (p % 10) / 10 + 0.05,
          pythonIso(ago(200)),
          p % 4 === 0 ? null : pythonIso(ago(p * 12)),
        );
        db.prepare('INSERT INTO patterns_fts (title, content) VALUES (?, ?)').run(
          `Pattern ${p}`,
          'Backup before VACUUM',
        );
      }
    },
    'wal',
  );
  build(
    path.join(brain, 'tier3', 'development_context.db'),
    'CREATE TABLE git_commits (sha TEXT PRIMARY KEY, author TEXT NOT NULL, committed_at INTEGER NOT NULL, message TEXT NOT NULL);',
    (db) => {
      for (let i = 0; i < 10; i++)
        db.prepare('INSERT INTO git_commits VALUES (?, ?, ?, ?)').run(
          crypto.randomBytes(20).toString('hex'),
          'dev',
          Math.floor(ago(i) / 1000),
          `commit ${i}`,
        );
    },
    'wal',
  );
  let events = '';
  for (let i = 0; i < 40; i++)
    events += `${JSON.stringify({ timestamp: pythonIso(ago(40 - i)), event: 'tool_call', data: { tool: 'grep' } })}\n`;
  fs.writeFileSync(path.join(brain, 'events.jsonl'), events);
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.writeFileSync(path.join(dir, 'logs', 'cortex.log'), `${new Date(ago(1)).toISOString()} INFO started\n`);
  return brain;
}

const uuid = (): string => crypto.randomUUID();

/**
 * One database `brain.sqlite` with tier-prefixed tables and TEXT UUID keys: tier1_conversations
 * (created_at in unix ms) with tier1_messages and tier1_conversation_tags by foreign key,
 * tier1_messages_fts (external content), tier2_patterns (last_used as a julian day) and
 * tier2_pattern_links, tier3_snapshots; events in `events/agent-events.jsonl` (field `ts`, unix
 * seconds), logs in `log/`.
 */
export function tierPrefixedBrain(dir: string): string {
  build(
    path.join(dir, 'brain.sqlite'),
    `CREATE TABLE tier1_conversations (
       id TEXT PRIMARY KEY NOT NULL,
       title TEXT,
       created_at INTEGER NOT NULL,
       updated_at INTEGER
     );
     CREATE TABLE tier1_messages (
       id TEXT PRIMARY KEY NOT NULL,
       conversation_id TEXT NOT NULL REFERENCES tier1_conversations(id) ON DELETE CASCADE,
       role TEXT NOT NULL,
       content TEXT NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE TABLE tier1_conversation_tags (
       id TEXT PRIMARY KEY NOT NULL,
       conversation_id TEXT NOT NULL REFERENCES tier1_conversations(id) ON DELETE CASCADE,
       tag TEXT NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE VIRTUAL TABLE tier1_messages_fts USING fts5(content, content='tier1_messages');
     CREATE TRIGGER tier1_messages_ai AFTER INSERT ON tier1_messages BEGIN
       INSERT INTO tier1_messages_fts(rowid, content) VALUES (new.rowid, new.content);
     END;
     CREATE TRIGGER tier1_messages_ad AFTER DELETE ON tier1_messages BEGIN
       INSERT INTO tier1_messages_fts(tier1_messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
     END;
     CREATE TABLE tier2_patterns (
       id TEXT PRIMARY KEY NOT NULL,
       description TEXT NOT NULL,
       confidence REAL NOT NULL DEFAULT 0.5,
       usage_count INTEGER NOT NULL DEFAULT 0,
       created_at INTEGER NOT NULL,
       last_used REAL
     );
     CREATE TABLE tier2_pattern_links (
       from_id TEXT NOT NULL REFERENCES tier2_patterns(id) ON DELETE CASCADE,
       to_id TEXT NOT NULL REFERENCES tier2_patterns(id) ON DELETE CASCADE,
       PRIMARY KEY (from_id, to_id)
     ) WITHOUT ROWID;
     CREATE TABLE tier3_snapshots (id TEXT PRIMARY KEY, summary TEXT NOT NULL, taken_at INTEGER NOT NULL);`,
    (db) => {
      const patterns: string[] = [];
      for (let c = 0; c < 30; c++) {
        const id = uuid();
        const t = ago(90 - c * 3);
        db.prepare('INSERT INTO tier1_conversations VALUES (?, ?, ?, ?)').run(id, `Chat ${c}`, t, t + 600_000);
        db.prepare('INSERT INTO tier1_messages VALUES (?, ?, ?, ?, ?)').run(
          uuid(),
          id,
          'user',
          `question ${c} about sqlite`,
          t,
        );
        db.prepare('INSERT INTO tier1_messages VALUES (?, ?, ?, ?, ?)').run(
          uuid(),
          id,
          'assistant',
          `answer ${c}`,
          t + 5000,
        );
        db.prepare('INSERT INTO tier1_conversation_tags VALUES (?, ?, ?, ?)').run(uuid(), id, 'sqlite', t);
      }
      for (let p = 0; p < 10; p++) {
        const id = uuid();
        patterns.push(id);
        db.prepare('INSERT INTO tier2_patterns VALUES (?, ?, ?, ?, ?, ?)').run(
          id,
          `pattern ${p}`,
          p / 10,
          p,
          ago(300),
          p === 0 ? null : julianDay(ago(p * 15)),
        );
      }
      for (let p = 1; p < 10; p++)
        db.prepare('INSERT INTO tier2_pattern_links VALUES (?, ?)').run(patterns[p - 1], patterns[p]);
      db.prepare('INSERT INTO tier3_snapshots VALUES (?, ?, ?)').run(uuid(), 'context', Math.floor(ago(1) / 1000));
    },
    'wal',
  );
  fs.mkdirSync(path.join(dir, 'events'));
  let events = '';
  for (let i = 0; i < 50; i++)
    events += `${JSON.stringify({ kind: 'tool', ts: Math.floor(ago(20 - i / 5) / 1000), id: uuid(), n: i })}\n`;
  fs.writeFileSync(path.join(dir, 'events', 'agent-events.jsonl'), events);
  fs.mkdirSync(path.join(dir, 'log'));
  fs.writeFileSync(path.join(dir, 'log', 'agent.log'), 'started\n');
  fs.writeFileSync(path.join(dir, 'log', 'router.log'), 'started\n');
  return path.join(dir, 'brain.sqlite');
}
