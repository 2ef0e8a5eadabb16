/** Schemas of the demo brain: an agent-memory schema (tier1: sessions, conversations, messages with FTS5) and a knowledge graph of patterns (tier2). */

export const TIER1_SCHEMA = `
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
CREATE INDEX idx_conversations_session ON conversations(session_id);
CREATE INDEX idx_conversations_started ON conversations(started_at);

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
CREATE INDEX idx_messages_conversation ON messages(conversation_id, created_at);

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
CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
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
CREATE INDEX idx_agent_interactions_conversation ON agent_interactions(conversation_id);

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
CREATE INDEX idx_routing_decisions_conversation ON routing_decisions(conversation_id);

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

/** The wrong delete trigger for an external-content index: it leaves the deleted row's terms behind. */
export const TIER1_DRIFTING_DELETE_TRIGGER = `
DROP TRIGGER messages_ad;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
  DELETE FROM messages_fts WHERE rowid = old.id;
END;
`;

export const TIER2_SCHEMA = `
CREATE TABLE patterns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pattern_key TEXT UNIQUE NOT NULL,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5,
  usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  last_used TEXT
);
CREATE INDEX idx_patterns_confidence ON patterns(confidence);
CREATE TABLE pattern_relationships (
  from_id INTEGER NOT NULL REFERENCES patterns(id) ON DELETE CASCADE,
  to_id INTEGER NOT NULL REFERENCES patterns(id) ON DELETE CASCADE,
  relation TEXT NOT NULL,
  weight REAL NOT NULL DEFAULT 1.0,
  PRIMARY KEY (from_id, to_id, relation)
) WITHOUT ROWID;
CREATE INDEX idx_pattern_relationships_to ON pattern_relationships(to_id);
CREATE VIRTUAL TABLE patterns_fts USING fts5(title, content, pattern_id UNINDEXED);
CREATE TRIGGER patterns_ai AFTER INSERT ON patterns BEGIN
  INSERT INTO patterns_fts(rowid, title, content, pattern_id) VALUES (new.id, new.title, new.content, new.id);
END;
CREATE TRIGGER patterns_ad AFTER DELETE ON patterns BEGIN
  DELETE FROM patterns_fts WHERE rowid = old.id;
END;
CREATE TRIGGER patterns_au AFTER UPDATE ON patterns BEGIN
  UPDATE patterns_fts SET title = new.title, content = new.content WHERE rowid = new.id;
END;
`;

export const TIER3_SCHEMA = `
CREATE TABLE git_commits (
  sha TEXT PRIMARY KEY,
  author TEXT NOT NULL,
  committed_at INTEGER NOT NULL,
  message TEXT NOT NULL,
  files_changed INTEGER NOT NULL
);
CREATE INDEX idx_git_commits_time ON git_commits(committed_at);
CREATE TABLE file_hotspots (
  path TEXT PRIMARY KEY,
  churn INTEGER NOT NULL,
  last_modified INTEGER NOT NULL
);
CREATE TABLE context_snapshots (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  summary TEXT NOT NULL
);
CREATE INDEX idx_context_snapshots_time ON context_snapshots(created_at);
`;

export const STATE_SCHEMA = `
CREATE TABLE app_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE session_handoffs (
  id INTEGER PRIMARY KEY,
  from_session TEXT NOT NULL,
  to_session TEXT,
  handed_off_at TEXT NOT NULL,
  notes TEXT
);
CREATE INDEX idx_session_handoffs_time ON session_handoffs(handed_off_at);
`;
