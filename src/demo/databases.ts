/** The databases of the demo brain (generate.ts puts them together with the files and the config). */
import Database from 'better-sqlite3';
import { DAY_MS } from '../util/time.js';
import { NO_PROGRESS, type Progress } from '../util/progress.js';
import type { Random } from './random.js';
import { STATE_SCHEMA, TIER1_DRIFTING_DELETE_TRIGGER, TIER1_SCHEMA, TIER2_SCHEMA, TIER3_SCHEMA } from './schema.js';

export interface DemoOptions {
  readonly dir: string;
  /** 1 gives about 5 MB; about 240 gives a 1 GB tier1. */
  readonly scale: number;
  readonly seed: number;
  readonly now: Date;
  readonly ftsDrift: boolean;
  /** Where the generator shows which file it writes and the rows so far (a terminal's stderr). */
  readonly progress?: Progress;
}

/** The days of history the demo brain spans (its oldest rows and events are this old). */
export const SPAN_DAYS = 120;

export function vocabulary(rnd: Random): string[] {
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ra',
    'te',
    'vo',
    'shi',
    'nu',
    'pe',
    'dra',
    'qu',
    'bel',
    'xor',
    'fin',
    'gal',
    'zen',
    'tro',
    'wi',
  ];
  const base = [
    'database',
    'index',
    'query',
    'agent',
    'memory',
    'context',
    'pattern',
    'session',
    'vector',
    'prompt',
    'router',
    'cache',
    'schema',
    'token',
    'search',
    'commit',
    'deploy',
    'error',
    'retry',
    'latency',
    'the',
    'and',
    'with',
    'for',
    'from',
    'into',
  ];
  const words = [...base];
  while (words.length < 3000) {
    let w = '';
    const n = rnd.int(2, 4);
    for (let i = 0; i < n; i++) w += rnd.pick(syllables);
    words.push(w);
  }
  return words;
}

/** 'YYYY-MM-DD HH:MM:SS', SQLite's CURRENT_TIMESTAMP format. */
function sqlTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function openNew(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -65536');
  return db;
}

export function buildTier1(
  file: string,
  opts: DemoOptions,
  rnd: Random,
  text: (min: number, max: number) => string,
  nowMs: number,
): { conversations: number; messages: number } {
  const db = openNew(file);
  db.exec(TIER1_SCHEMA);
  const nSessions = Math.max(4, Math.round(opts.scale * 8));
  const nConversations = Math.max(120, Math.round(opts.scale * 120));
  const insSession = db.prepare(
    'INSERT INTO sessions(session_id, user_id, project_id, created_at, updated_at, last_active_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insConv = db.prepare(
    'INSERT INTO conversations(session_id, conversation_id, title, started_at, ended_at, message_count, summary) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insMsg = db.prepare(
    'INSERT INTO messages(conversation_id, role, content, token_count, created_at, importance_score) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insAgent = db.prepare(
    'INSERT INTO agent_interactions(conversation_id, agent_type, task_description, result_summary, input_tokens, output_tokens, cost_usd, started_at, completed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insRoute = db.prepare(
    'INSERT INTO routing_decisions(conversation_id, intent, complexity, confidence, selected_workflow, routing_method, decided_at, reasoning) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insLearned = db.prepare(
    'INSERT INTO learned_patterns(pattern_type, pattern_key, pattern_value, occurrence_count, confidence_score, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const roles = ['user', 'assistant', 'assistant', 'tool', 'system'] as const;
  const startMs = nowMs - SPAN_DAYS * DAY_MS;
  let messages = 0;

  db.transaction(() => {
    for (let s = 0; s < nSessions; s++) {
      const created = sqlTime(startMs + (s / nSessions) * SPAN_DAYS * DAY_MS);
      insSession.run(
        `sess-${String(s).padStart(5, '0')}`,
        `user-${s % 7}`,
        `project-${s % 3}`,
        created,
        created,
        created,
        s % 5 === 0 ? 'completed' : 'active',
      );
    }
    for (let i = 0; i < 40 * Math.max(1, Math.round(opts.scale)); i++) {
      insLearned.run(
        rnd.pick(['tool', 'intent', 'style', 'error']),
        `key-${i}`,
        text(3, 12),
        rnd.int(1, 50),
        rnd.next(),
        sqlTime(startMs),
        sqlTime(nowMs - rnd.int(0, 100) * DAY_MS),
      );
    }
  })();

  // Conversations in time order, in batches so memory stays flat at any scale.
  const batch = 200;
  const progress = opts.progress ?? NO_PROGRESS;
  for (let first = 0; first < nConversations; first += batch) {
    progress.count('init-demo tier1', first, nConversations, 'conversations');
    db.transaction(() => {
      for (let c = first; c < Math.min(first + batch, nConversations); c++) {
        const t = startMs + ((c + rnd.next()) / nConversations) * SPAN_DAYS * DAY_MS;
        const nMsg = rnd.int(10, 50);
        const session = `sess-${String(Math.floor((c / nConversations) * nSessions)).padStart(5, '0')}`;
        const convId = Number(
          insConv.run(
            session,
            `conv-${String(c).padStart(7, '0')}`,
            text(2, 6),
            sqlTime(t),
            sqlTime(t + nMsg * 60_000),
            nMsg,
            text(8, 20),
          ).lastInsertRowid,
        );
        for (let m = 0; m < nMsg; m++) {
          const content = text(20, 160);
          insMsg.run(
            convId,
            rnd.pick(roles),
            content,
            Math.round(content.length / 4),
            sqlTime(t + m * 60_000),
            Math.round(rnd.next() * 100) / 100,
          );
        }
        messages += nMsg;
        for (let a = rnd.int(0, 3); a > 0; a--) {
          insAgent.run(
            convId,
            rnd.pick(['planner', 'coder', 'reviewer']),
            text(4, 10),
            text(4, 12),
            rnd.int(100, 4000),
            rnd.int(50, 2000),
            rnd.next() / 10,
            sqlTime(t),
            sqlTime(t + 30_000),
            'completed',
          );
        }
        insRoute.run(
          convId,
          rnd.pick(['debug', 'build', 'explain']),
          rnd.pick(['low', 'medium', 'high']),
          rnd.next(),
          rnd.pick(['solo', 'team']),
          'llm',
          sqlTime(t),
          text(5, 15),
        );
      }
    })();
  }
  progress.count('init-demo tier1', nConversations, nConversations, 'conversations');
  const analyzing = progress.during('init-demo tier1: ANALYZE', null);
  try {
    db.exec('ANALYZE');
  } finally {
    analyzing();
  }

  // Fragmentation and drifted statistics: delete three quarters of the older conversations.
  const cutoff = sqlTime(nowMs - 40 * DAY_MS);
  const ids = db
    .prepare('SELECT id FROM conversations WHERE started_at < ? ORDER BY id')
    .pluck()
    .all(cutoff) as number[];
  const del = db.prepare('DELETE FROM conversations WHERE id = ?');
  let deleted = 0;
  db.transaction(() => {
    for (const [i, id] of ids.entries()) {
      progress.count('init-demo tier1: deleting older conversations', i, ids.length, 'looked at');
      if (rnd.chance(0.75)) {
        deleted++;
        messages -= Number(db.prepare('SELECT count(*) FROM messages WHERE conversation_id = ?').pluck().get(id));
        del.run(id);
      }
    }
  })();

  if (opts.ftsDrift) {
    db.exec(TIER1_DRIFTING_DELETE_TRIGGER);
    const victims = db.prepare('SELECT id FROM messages WHERE id % 37 = 0').pluck().all() as number[];
    const delMsg = db.prepare('DELETE FROM messages WHERE id = ?');
    db.transaction(() => {
      for (const id of victims) delMsg.run(id);
    })();
    messages -= victims.length;
  }
  db.close();
  return { conversations: nConversations - deleted, messages };
}

export function buildTier2(
  file: string,
  opts: DemoOptions,
  rnd: Random,
  text: (min: number, max: number) => string,
  nowMs: number,
): number {
  const db = openNew(file);
  db.exec(TIER2_SCHEMA);
  const n = Math.max(100, Math.round(opts.scale * 150));
  const ins = db.prepare(
    'INSERT INTO patterns(pattern_key, title, content, confidence, usage_count, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const rel = db.prepare(
    'INSERT OR IGNORE INTO pattern_relationships(from_id, to_id, relation, weight) VALUES (?, ?, ?, ?)',
  );
  const progress = opts.progress ?? NO_PROGRESS;
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      progress.count('init-demo tier2', i, n, 'patterns');
      const created = nowMs - rnd.int(1, SPAN_DAYS) * DAY_MS;
      // ISO with T and Z here, unlike tier1's 'YYYY-MM-DD HH:MM:SS': retention must compare both correctly.
      const lastUsed = rnd.chance(0.1)
        ? null
        : new Date(nowMs - rnd.int(0, SPAN_DAYS) * DAY_MS - rnd.int(0, DAY_MS)).toISOString();
      ins.run(
        `pattern-${i}`,
        text(2, 6),
        text(30, 120),
        Math.round(rnd.next() * 1000) / 1000,
        rnd.int(0, 200),
        new Date(created).toISOString(),
        lastUsed,
      );
      if (i > 1) rel.run(i, rnd.int(1, i - 1), rnd.pick(['implies', 'conflicts', 'refines']), rnd.next());
    }
  })();
  db.close();
  return n;
}

export function buildTier3(
  file: string,
  opts: DemoOptions,
  rnd: Random,
  text: (min: number, max: number) => string,
  nowMs: number,
): void {
  const db = openNew(file);
  db.exec(TIER3_SCHEMA);
  const n = Math.max(200, Math.round(opts.scale * 300));
  const commit = db.prepare(
    'INSERT INTO git_commits(sha, author, committed_at, message, files_changed) VALUES (?, ?, ?, ?, ?)',
  );
  const hot = db.prepare('INSERT INTO file_hotspots(path, churn, last_modified) VALUES (?, ?, ?)');
  const snap = db.prepare('INSERT INTO context_snapshots(id, created_at, summary) VALUES (?, ?, ?)');
  const progress = opts.progress ?? NO_PROGRESS;
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      progress.count('init-demo tier3', i + 1, n, 'commits');
      const sha = (i * 2654435761 + opts.seed).toString(16).padStart(12, '0');
      commit.run(
        sha,
        rnd.pick(['ana', 'bo', 'chen', 'dee']),
        Math.floor((nowMs - rnd.int(0, SPAN_DAYS * 24) * 3_600_000) / 1000),
        text(4, 14),
        rnd.int(1, 30),
      );
      if (i % 3 === 0) hot.run(`src/module-${i}.ts`, rnd.int(1, 90), Math.floor(nowMs / 1000) - rnd.int(0, 9_999_999));
      if (i % 5 === 0) snap.run(i, new Date(nowMs - rnd.int(0, SPAN_DAYS) * DAY_MS).toISOString(), text(10, 40));
    }
  })();
  db.exec('ANALYZE');
  db.close();
}

export function buildState(file: string, rnd: Random, nowMs: number): void {
  const db = openNew(file);
  db.exec(STATE_SCHEMA);
  const set = db.prepare('INSERT INTO app_state(key, value, updated_at) VALUES (?, ?, ?)');
  const handoff = db.prepare(
    'INSERT INTO session_handoffs(from_session, to_session, handed_off_at, notes) VALUES (?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (let i = 0; i < 40; i++)
      set.run(
        `setting.${i}`,
        JSON.stringify({ enabled: rnd.chance(0.5), level: rnd.int(0, 9) }),
        new Date(nowMs - i * 3_600_000).toISOString(),
      );
    for (let i = 0; i < 60; i++)
      handoff.run(`sess-${i}`, `sess-${i + 1}`, new Date(nowMs - i * DAY_MS).toISOString(), 'handoff');
  })();
  db.exec('ANALYZE');
  db.close();
}
