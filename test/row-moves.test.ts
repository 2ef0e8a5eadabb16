/**
 * Moving rows of real application schemas: reused keys, 64-bit keys, the application's own
 * triggers. Each case loses or changes data on code that moves rows naively.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { NOW, cli, tempDir, writeConfig } from './helpers.js';

const DAY = 86_400;
const nowS = Math.floor(NOW.getTime() / 1000);

/** A brain of one database `app.db` with `schema`; conversations archived after 30 days, none kept back. */
function appBrain(
  schema: string,
  conversations: Record<string, unknown> = {},
): { dir: string; config: string; db: string; archive: string } {
  const dir = tempDir('dbm-moves-');
  fs.mkdirSync(path.join(dir, 'logs'));
  const db = path.join(dir, 'app.db');
  const conn = new Database(db);
  conn.pragma('journal_mode = WAL');
  conn.exec(schema);
  conn.close();
  const config = writeConfig(dir, {
    databases: { app: { path: 'app.db' } },
    conversations: {
      database: 'app',
      timestampColumn: 'started_at',
      archiveAfterDays: 30,
      keepNewest: 0,
      ...conversations,
    },
    patterns: { database: 'app' },
    events: { path: 'events.jsonl' },
    logs: { dir: 'logs' },
  });
  return { dir, config, db, archive: path.join(dir, 'conversation_archive.db') };
}

function rows(file: string, sql: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).safeIntegers(true).all();
  } finally {
    db.close();
  }
}

function exec(file: string, sql: string, ...params: unknown[]): void {
  const db = new Database(file);
  try {
    if (params.length) db.prepare(sql).run(...(params as never[]));
    else db.exec(sql);
  } finally {
    db.close();
  }
}

const PLAIN = `
CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT, started_at INTEGER NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, content TEXT);
`;

describe('reused keys', () => {
  it('a live conversation under the key of a different archived one is not moved: exit 8, both kept', () => {
    const b = appBrain(PLAIN);
    exec(b.db, `INSERT INTO conversations(id, title, started_at) VALUES (1, 'the first one', ${nowS - 40 * DAY})`);
    exec(b.db, `INSERT INTO messages(conversation_id, content) VALUES (1, 'first a'), (1, 'first b')`);
    expect(cli(['--config', b.config, '--archive']).status).toBe(0);
    // The live table is empty again: SQLite hands out id 1 once more (and message ids 1, 2), to an imported old one.
    exec(b.db, `INSERT INTO conversations(title, started_at) VALUES ('another one', ${nowS - 35 * DAY})`);
    exec(b.db, `INSERT INTO conversations(title, started_at) VALUES ('a third one', ${nowS - 35 * DAY})`);
    exec(b.db, `INSERT INTO messages(conversation_id, content) VALUES (2, 'third a')`);
    expect(rows(b.db, 'SELECT id FROM conversations ORDER BY id')).toEqual([{ id: 1n }, { id: 2n }]);
    const r = cli(['--config', b.config, '--archive', '--json']);
    expect(r.status, r.stderr).toBe(8);
    const item = (JSON.parse(r.stdout) as { items: Array<{ status: string; conflicts: string[]; message: string }> })
      .items[0]!;
    // conversation 1: a different archived one holds its key; conversation 2: its message id 1 collides
    expect(item).toMatchObject({ status: 'partial', conflicts: ['1', '2'] });
    expect(item.message).toMatch(/2 conversations left live: "id" 1, 2 already names different rows in the archive/);
    expect(rows(b.archive, 'SELECT id, title FROM conversations')).toEqual([{ id: 1n, title: 'the first one' }]);
    expect(rows(b.archive, 'SELECT content FROM messages ORDER BY id')).toEqual([
      { content: 'first a' },
      { content: 'first b' },
    ]);
    expect(rows(b.db, 'SELECT title FROM conversations ORDER BY id')).toEqual([
      { title: 'another one' },
      { title: 'a third one' },
    ]);
    // --restore-conversation 1 must not delete the archived one because the live table holds another 1
    const back = cli(['--config', b.config, '--restore-conversation', '1']);
    expect(back.status).toBe(8);
    expect(back.stderr).toMatch(
      /^error: RESTORE_CONVERSATION failed: conversation 1 of the archive and the live conversation 1 are different rows: not restored, nothing was changed/,
    );
    expect(rows(b.archive, 'SELECT title FROM conversations')).toEqual([{ title: 'the first one' }]);
    expect(rows(b.db, 'SELECT title FROM conversations WHERE id = 1')).toEqual([{ title: 'another one' }]);
  });
});

describe('64-bit keys', () => {
  it('ids above 2^53, adjacent: exactly the old one moves, and moves back', () => {
    const b = appBrain(PLAIN);
    const old = 2n ** 62n + 1n;
    const recent = old + 1n;
    const db = new Database(b.db);
    db.defaultSafeIntegers(true);
    db.prepare('INSERT INTO conversations(id, title, started_at) VALUES (?, ?, ?)').run(old, 'old', nowS - 40 * DAY);
    db.prepare('INSERT INTO conversations(id, title, started_at) VALUES (?, ?, ?)').run(recent, 'recent', nowS - DAY);
    db.prepare('INSERT INTO messages(id, conversation_id, content) VALUES (?, ?, ?)').run(2n ** 60n, old, 'o');
    db.prepare('INSERT INTO messages(id, conversation_id, content) VALUES (?, ?, ?)').run(2n ** 60n + 1n, recent, 'r');
    db.close();
    const r = cli(['--config', b.config, '--archive', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(rows(b.db, 'SELECT id, title FROM conversations')).toEqual([{ id: recent, title: 'recent' }]);
    expect(rows(b.archive, 'SELECT id, title FROM conversations')).toEqual([{ id: old, title: 'old' }]);
    expect(rows(b.archive, 'SELECT id FROM messages')).toEqual([{ id: 2n ** 60n }]);
    expect(rows(b.db, 'SELECT id FROM messages')).toEqual([{ id: 2n ** 60n + 1n }]);
    const back = cli(['--config', b.config, '--restore-conversation', String(old)]);
    expect(back.status, back.stderr).toBe(0);
    expect(rows(b.db, 'SELECT id FROM conversations ORDER BY id')).toEqual([{ id: old }, { id: recent }]);
    expect(rows(b.archive, 'SELECT count(*) AS n FROM conversations')).toEqual([{ n: 0n }]);
  });
});

const WITH_TRIGGERS = `
CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, started_at INTEGER NOT NULL, message_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, content TEXT NOT NULL);
CREATE TABLE summaries (conversation_id INTEGER PRIMARY KEY, summary TEXT);
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id');
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
  UPDATE conversations SET message_count = message_count + 1 WHERE id = new.conversation_id;
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  UPDATE conversations SET message_count = message_count - 1 WHERE id = old.conversation_id;
END;
CREATE TRIGGER conversations_cleanup AFTER DELETE ON conversations BEGIN
  DELETE FROM summaries WHERE conversation_id = old.id;
END;
`;

describe("the application's triggers", () => {
  it('do not fire while rows move: rows outside the move set unchanged, counters unchanged, the index right both ways', () => {
    const b = appBrain(WITH_TRIGGERS);
    exec(
      b.db,
      `INSERT INTO conversations(title, started_at) VALUES ('old', ${nowS - 40 * DAY}), ('new', ${nowS - DAY})`,
    );
    exec(
      b.db,
      `INSERT INTO messages(conversation_id, content) VALUES (1, 'lighthouse keeper'), (1, 'harbour pilot'), (1, 'lighthouse lamp'), (2, 'fresh lighthouse')`,
    );
    exec(b.db, `INSERT INTO summaries VALUES (1, 'the summary of the old one'), (2, 'new')`);
    const triggersBefore = rows(b.db, "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name");
    expect(rows(b.db, 'SELECT message_count AS n FROM conversations WHERE id = 1')).toEqual([{ n: 3n }]);

    expect(cli(['--config', b.config, '--archive']).status).toBe(0);
    // the cleanup trigger did not run: the summary is not part of the move set and stays
    expect(rows(b.db, 'SELECT conversation_id AS c FROM summaries ORDER BY 1')).toEqual([{ c: 1n }, { c: 2n }]);
    expect(rows(b.archive, 'SELECT id, message_count AS n FROM conversations')).toEqual([{ id: 1n, n: 3n }]);
    expect(rows(b.db, "SELECT rowid AS r FROM messages_fts WHERE messages_fts MATCH 'lighthouse'")).toEqual([
      { r: 4n },
    ]);
    // the triggers are all there again, exactly as they were
    expect(rows(b.db, "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")).toEqual(
      triggersBefore,
    );

    expect(cli(['--config', b.config, '--restore-conversation', '1']).status).toBe(0);
    // the counter trigger did not count the restored messages a second time
    expect(rows(b.db, 'SELECT message_count AS n FROM conversations WHERE id = 1')).toEqual([{ n: 3n }]);
    expect(rows(b.db, "SELECT rowid AS r FROM messages_fts WHERE messages_fts MATCH 'lighthouse' ORDER BY 1")).toEqual([
      { r: 1n },
      { r: 3n },
      { r: 4n },
    ]);
    exec(b.db, `INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`);
    expect(rows(b.db, "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")).toEqual(
      triggersBefore,
    );
    // and they work for the application afterwards
    exec(b.db, `INSERT INTO messages(conversation_id, content) VALUES (1, 'lighthouse again')`);
    expect(rows(b.db, 'SELECT message_count AS n FROM conversations WHERE id = 1')).toEqual([{ n: 4n }]);
  });
});

function fkViolations(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('PRAGMA foreign_key_check').all();
  } finally {
    db.close();
  }
}

const WITH_ACTIONS = `
CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, team_id INTEGER REFERENCES teams(id));
CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER REFERENCES sessions(id), title TEXT, started_at INTEGER NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, content TEXT, created_at INTEGER);
CREATE TABLE notes (id INTEGER PRIMARY KEY, conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL, body TEXT);
CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, conversation_id INTEGER REFERENCES conversations(id), label TEXT);
`;

describe('activity and foreign keys', () => {
  it('a conversation started long ago but written to lately is not old', () => {
    const b = appBrain(WITH_ACTIONS);
    exec(
      b.db,
      `INSERT INTO conversations(title, started_at) VALUES ('idle', ${nowS - 40 * DAY}), ('busy', ${nowS - 40 * DAY})`,
    );
    exec(
      b.db,
      `INSERT INTO messages(conversation_id, content, created_at) VALUES (1, 'a', ${nowS - 39 * DAY}), (2, 'b', ${nowS - 39 * DAY}), (2, 'c', ${nowS - 3600})`,
    );
    const assess = JSON.parse(cli(['--config', b.config, '--assess', '--json']).stdout) as {
      retention: { conversations: { eligible: number } };
    };
    expect(assess.retention.conversations.eligible).toBe(1);
    expect(cli(['--config', b.config, '--archive']).status).toBe(0);
    expect(rows(b.archive, 'SELECT title FROM conversations')).toEqual([{ title: 'idle' }]);
    expect(rows(b.db, 'SELECT title FROM conversations')).toEqual([{ title: 'busy' }]);
    // activityColumns turns the child's column off: then only the conversation's own time counts
    const cfg = JSON.parse(fs.readFileSync(b.config, 'utf8')) as { conversations: Record<string, unknown> };
    cfg.conversations['activityColumns'] = { messages: [] };
    fs.writeFileSync(b.config, JSON.stringify(cfg));
    expect(cli(['--config', b.config, '--archive']).status).toBe(0);
    expect(rows(b.db, 'SELECT count(*) AS n FROM conversations')).toEqual([{ n: 0n }]);
  });

  it('follows ON DELETE: CASCADE moves, SET NULL stays live unlinked, NO ACTION keeps the parent; foreign keys hold on both sides', () => {
    const b = appBrain(WITH_ACTIONS);
    exec(b.db, `INSERT INTO teams VALUES (7, 'the team')`);
    exec(b.db, `INSERT INTO sessions VALUES (1, 'ann', 7), (2, 'bob', NULL)`);
    exec(
      b.db,
      `INSERT INTO conversations(session_id, title, started_at) VALUES (1, 'one', ${nowS - 40 * DAY}), (2, 'two', ${nowS - 40 * DAY}), (2, 'three', ${nowS - DAY})`,
    );
    exec(b.db, `INSERT INTO messages(conversation_id, content, created_at) VALUES (1, 'm1', ${nowS - 40 * DAY})`);
    exec(b.db, `INSERT INTO notes VALUES (10, 1, 'a note that outlives its conversation')`);
    exec(b.db, `INSERT INTO bookmarks VALUES (20, 2, 'keeps two live')`);
    const r = cli(['--config', b.config, '--archive', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const item = (JSON.parse(r.stdout) as { items: Array<{ message: string }> }).items[0]!;
    expect(item.message).toMatch(/1 conversations kept live: rows of bookmarks \(ON DELETE NO ACTION\) refer to them/);
    expect(item.message).toMatch(/1 notes rows stay live with their link cleared \(ON DELETE SET NULL\)/);
    expect(rows(b.db, 'SELECT title FROM conversations ORDER BY id')).toEqual([{ title: 'two' }, { title: 'three' }]);
    expect(rows(b.archive, 'SELECT title FROM conversations')).toEqual([{ title: 'one' }]);
    expect(rows(b.archive, 'SELECT content FROM messages')).toEqual([{ content: 'm1' }]);
    expect(rows(b.db, 'SELECT id, conversation_id AS c FROM notes')).toEqual([{ id: 10n, c: null }]);
    expect(rows(b.archive, 'SELECT id, conversation_id AS c FROM notes')).toEqual([{ id: 10n, c: 1n }]);
    expect(rows(b.db, 'SELECT conversation_id AS c FROM bookmarks')).toEqual([{ c: 2n }]);
    // the parents the archived rows refer to are in the archive too, recursively
    expect(rows(b.archive, 'SELECT id, user_name FROM sessions')).toEqual([{ id: 1n, user_name: 'ann' }]);
    expect(rows(b.archive, 'SELECT id FROM teams')).toEqual([{ id: 7n }]);
    expect(fkViolations(b.db)).toEqual([]);
    expect(fkViolations(b.archive)).toEqual([]);
    const arc = new Database(b.archive);
    arc.pragma('foreign_keys = ON');
    expect(arc.prepare(`UPDATE conversations SET title = 'one!' WHERE id = 1`).run().changes).toBe(1);
    arc.close();
    // back again: the note is linked to it again, the archive's copies are gone
    expect(cli(['--config', b.config, '--restore-conversation', '1']).status).toBe(0);
    expect(rows(b.db, 'SELECT id, conversation_id AS c FROM notes')).toEqual([{ id: 10n, c: 1n }]);
    expect(rows(b.archive, 'SELECT count(*) AS n FROM notes')).toEqual([{ n: 0n }]);
    expect(rows(b.db, 'SELECT content FROM messages')).toEqual([{ content: 'm1' }]);
    expect(fkViolations(b.db)).toEqual([]);
  });
});
