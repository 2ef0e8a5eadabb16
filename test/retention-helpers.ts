import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { TIER1_SCHEMA, TIER2_SCHEMA } from '../src/demo/schema.js';
import { tempDir, writeConfig } from './helpers.js';

export interface MiniBrain {
  readonly dir: string;
  readonly config: string;
  readonly tier1: string;
  readonly tier2: string;
  readonly archive: string;
  readonly events: string;
  readonly logs: string;
}

/**
 * A small brain: tier1 with the demo brain's schema and the given conversations (started_at values
 * as given, any format), `messagesPer` messages each; tier2 with the demo's knowledge graph of patterns.
 */
export function miniBrain(
  opts: { started: readonly unknown[]; messagesPer?: number; config?: Record<string, unknown>; wal?: boolean } = {
    started: [],
  },
): MiniBrain {
  const dir = tempDir('dbm-ret-');
  fs.mkdirSync(path.join(dir, 'logs'));
  const tier1 = path.join(dir, 'tier1.db');
  const db = new Database(tier1);
  if (opts.wal !== false) db.pragma('journal_mode = WAL');
  db.exec(TIER1_SCHEMA);
  db.prepare(`INSERT INTO sessions(session_id, user_id) VALUES ('s1', 'u1')`).run();
  const conv = db.prepare(
    `INSERT INTO conversations(session_id, conversation_id, title, started_at) VALUES ('s1', ?, ?, ?)`,
  );
  // Messages written when their conversation started: no later activity keeps it live.
  const msg = db.prepare(`INSERT INTO messages(conversation_id, role, content, created_at) VALUES (?, 'user', ?, ?)`);
  db.transaction(() => {
    opts.started.forEach((s, i) => {
      const id = Number(conv.run(`c${i}`, `conversation ${i}`, s as string).lastInsertRowid);
      for (let m = 0; m < (opts.messagesPer ?? 3); m++)
        msg.run(id, `message ${m} of conversation number${i} about topic${m % 5}`, s as string);
    });
  })();
  db.close();
  const tier2 = path.join(dir, 'tier2.db');
  const db2 = new Database(tier2);
  db2.pragma('journal_mode = WAL');
  db2.exec(TIER2_SCHEMA);
  db2.close();
  const config = writeConfig(dir, {
    databases: { tier1: { path: 'tier1.db' }, tier2: { path: 'tier2.db' } },
    conversations: { database: 'tier1' },
    patterns: { database: 'tier2' },
    events: { path: 'events.jsonl' },
    logs: { dir: 'logs' },
    ...opts.config,
  });
  return {
    dir,
    config,
    tier1,
    tier2,
    archive: path.join(dir, 'conversation_archive.db'),
    events: path.join(dir, 'events.jsonl'),
    logs: path.join(dir, 'logs'),
  };
}

/** Rows of a query through the sqlite3 command-line tool: an independent reader. */
export function sqlite3(file: string, sql: string): string {
  return execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim();
}

export function ids(file: string, table: string, column = 'id'): number[] {
  if (!fs.existsSync(file)) return [];
  // An archive a killed run had only just created has no tables yet.
  if (sqlite3(file, `SELECT count(*) FROM sqlite_schema WHERE name = '${table}'`) === '0') return [];
  const out = sqlite3(file, `SELECT "${column}" FROM "${table}" ORDER BY 1`);
  return out ? out.split('\n').map(Number) : [];
}

/** Every line of the live file plus every archive, through `gzip -dc`: an independent reader. */
export function allEventLines(dir: string, live = 'events.jsonl'): string[] {
  let lines: string[] = [];
  const file = path.join(dir, live);
  if (fs.existsSync(file)) lines = lines.concat(splitLines(fs.readFileSync(file, 'latin1')));
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => /^events_archive_\d{6}\.jsonl\.gz$/.test(n))
    .sort()) {
    lines = lines.concat(
      splitLines(execFileSync('gzip', ['-dc', path.join(dir, f)], { encoding: 'latin1', maxBuffer: 1 << 30 })),
    );
  }
  return lines;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}
