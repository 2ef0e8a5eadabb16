/**
 * FTS checks on real schemas (issue 13): external-content indexes kept in sync by triggers
 * written the wrong way, mutated by a real application process through those triggers.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { checkFtsTriggers, vacuumMayRenumber } from '../src/db/fts-triggers.js';
import { listFtsTables } from '../src/db/fts5.js';
import { ROOT, cli, snapshotTree, tempDir, writeConfig } from './helpers.js';

const APP = path.join(ROOT, 'test', 'fixtures', 'fts-app.mjs');

/** Each wrong form of the wild, one table each, and one correct set. */
const WRONG: Record<string, { ad?: string; au?: string }> = {
  // The published agent-memory schema: both forms at once.
  memories: {
    ad: `DELETE FROM memories_fts WHERE rowid = old.rowid;`,
    au: `UPDATE memories_fts SET title = new.title, body = new.body WHERE rowid = new.rowid;`,
  },
  by_delete: { ad: `DELETE FROM by_delete_fts WHERE rowid = old.rowid;` },
  by_update: { au: `UPDATE by_update_fts SET title = new.title, body = new.body WHERE rowid = new.rowid;` },
  by_replace: { au: `INSERT OR REPLACE INTO by_replace_fts(rowid, title, body) VALUES (new.id, new.title, new.body);` },
  no_update: { au: '' },
};
const CORRECT = 'notes';
const TABLES = [...Object.keys(WRONG), CORRECT];

const correctDelete = (t: string): string =>
  `INSERT INTO ${t}_fts(${t}_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);`;
const correctInsert = (t: string): string =>
  `INSERT INTO ${t}_fts(rowid, title, body) VALUES (new.id, new.title, new.body);`;

/** An application database in WAL mode with the tables the config's retention rules name, and its config. */
function appDatabase(extra: Record<string, unknown> = {}): {
  config: string;
  file: string;
  dir: string;
  db: Database.Database;
} {
  const dir = tempDir();
  const file = path.join(dir, 'app.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at TEXT);
    CREATE TABLE patterns (id INTEGER PRIMARY KEY, confidence REAL, last_used TEXT);
  `);
  const config = writeConfig(dir, {
    databases: { app: { path: 'app.db' } },
    conversations: { database: 'app', table: 'sessions', keyColumn: 'id', timestampColumn: 'started_at' },
    patterns: { database: 'app', table: 'patterns', confidenceColumn: 'confidence', lastUsedColumn: 'last_used' },
    events: { path: 'events.jsonl' },
    logs: { dir: 'logs' },
    ...extra,
  });
  return { config, file, dir, db };
}

function appBrain(extra: Record<string, unknown> = {}): { config: string; file: string; dir: string } {
  const { config, file, dir, db } = appDatabase(extra);
  for (const t of TABLES) {
    const w = WRONG[t] ?? {};
    db.exec(`
      CREATE TABLE ${t} (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
      CREATE VIRTUAL TABLE ${t}_fts USING fts5(title, body, content='${t}', content_rowid='id');
      CREATE TRIGGER ${t}_ai AFTER INSERT ON ${t} BEGIN ${correctInsert(t)} END;
      CREATE TRIGGER ${t}_ad AFTER DELETE ON ${t} BEGIN ${w.ad ?? correctDelete(t)} END;
    `);
    if (w.au !== '')
      db.exec(
        `CREATE TRIGGER ${t}_au AFTER UPDATE ON ${t} BEGIN ${w.au ?? correctDelete(t) + ' ' + correctInsert(t)} END;`,
      );
  }
  let s = 7;
  const word = (): string => `w${((s = (s * 48271) % 2147483647) % 2000).toString(36)}`;
  const text = (n: number): string => Array.from({ length: n }, word).join(' ');
  db.transaction(() => {
    for (const t of TABLES) {
      const ins = db.prepare(`INSERT INTO ${t}(title, body) VALUES (?, ?)`);
      for (let i = 0; i < 400; i++) ins.run(text(3), text(8));
    }
  })();
  db.close();
  return { config, file, dir };
}

/** The application, a separate process, mutating every table through its own triggers. */
function runApp(file: string, ops: number, seed: number, tables = TABLES): void {
  const r = spawnSync(process.execPath, [APP, file, tables.join(','), String(ops), String(seed)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

interface FtsJson {
  table: string;
  status: string;
  checked: string;
  detail: string;
  triggers: { status: string; problems: Array<{ trigger: string | null; event: string; problem: string }> } | null;
}

function assessFts(config: string): Map<string, FtsJson> {
  const r = cli(['--config', config, '--assess', '--json']);
  expect(r.status, r.stderr).toBe(0);
  const a = JSON.parse(r.stdout) as { databases: Array<{ fts?: FtsJson[] }> };
  return new Map(a.databases.flatMap((d) => d.fts ?? []).map((f) => [f.table, f]));
}

/** FTS5's rank-1 integrity-check of each index: null when it passes. */
function rank1(file: string, tables = TABLES): Record<string, string | null> {
  const db = new Database(file);
  try {
    return Object.fromEntries(
      tables.map((t) => {
        try {
          db.prepare(`INSERT INTO ${t}_fts(${t}_fts, rank) VALUES ('integrity-check', 1)`).run();
          return [t, null];
        } catch (err) {
          return [t, (err as Error).message];
        }
      }),
    );
  } finally {
    db.close();
  }
}

/** For a sample of words: the rows MATCH returns against the rows a scan of the content finds. */
function matchMismatches(file: string, tables = TABLES): string[] {
  const db = new Database(file, { readonly: true });
  const out: string[] = [];
  try {
    for (const t of tables) {
      for (let w = 0; w < 2000; w += 37) {
        const term = `w${w.toString(36)}`;
        const viaIndex = db
          .prepare(`SELECT rowid FROM ${t}_fts WHERE ${t}_fts MATCH ? ORDER BY rowid`)
          .pluck()
          .all(`"${term}"`);
        const viaScan = db
          .prepare(`SELECT id FROM ${t} WHERE ' ' || title || ' ' || body || ' ' LIKE ? ORDER BY id`)
          .pluck()
          .all(`% ${term} %`);
        if (JSON.stringify(viaIndex) !== JSON.stringify(viaScan))
          out.push(`${t} "${term}": index ${viaIndex.length} rows, content ${viaScan.length}`);
      }
    }
  } finally {
    db.close();
  }
  return out;
}

describe('FTS5 sync triggers written the wrong way', () => {
  it('are named by the default assessment, with their replacement SQL, even while the index is still consistent', () => {
    const { config } = appBrain();
    const fts = assessFts(config);
    for (const t of Object.keys(WRONG)) {
      const f = fts.get(`${t}_fts`)!;
      expect(f.status, `${t}: ${f.detail}`).toBe('ok');
      expect(f.triggers?.status, t).toBe('wrong');
    }
    expect(fts.get(`${CORRECT}_fts`)!.triggers?.status).toBe('correct');
    const problems = (t: string): string[] =>
      fts.get(`${t}_fts`)!.triggers!.problems.map((p) => `${p.trigger} ${p.problem}`);
    expect(problems('memories').join('\n')).toMatch(
      /memories_ad DELETE FROM "memories_fts": every DELETE on "memories"/,
    );
    expect(problems('memories').join('\n')).toMatch(
      /memories_au UPDATE "memories_fts": every UPDATE on "memories" corrupts/,
    );
    expect(problems('by_replace').join('\n')).toMatch(/by_replace_au INSERT OR REPLACE/);
    expect(problems('no_update').join('\n')).toMatch(/null no UPDATE trigger/);
    const human = cli(['--config', config, '--assess']);
    expect(human.stdout).toMatch(/memories_fts" wrong triggers on "memories"/);
    expect(human.stdout).toContain(
      `CREATE TRIGGER "memories_ad" AFTER DELETE ON "memories" BEGIN INSERT INTO "memories_fts"("memories_fts", rowid, "title", "body") VALUES ('delete', old."id", old."title", old."body"); END;`,
    );
  });

  it('drift after the application writes: the default --assess finds every drifted index; --run repairs each and says why it will drift again', () => {
    const { config, file } = appBrain();
    runApp(file, 600, 1);
    const drifted = Object.entries(rank1(file)).filter(([, v]) => v !== null);
    expect(drifted.map(([t]) => t).sort()).toEqual(Object.keys(WRONG).sort());
    const fts = assessFts(config);
    for (const t of Object.keys(WRONG)) expect(fts.get(`${t}_fts`)!.status, t).toBe('drift');
    expect(fts.get(`${CORRECT}_fts`)!.status).toBe('ok');
    expect(matchMismatches(file).length).toBeGreaterThan(0);

    const run = cli(['--config', config, '--run']);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/will break .*memories_fts.* again/);
    expect(rank1(file)).toEqual(Object.fromEntries(TABLES.map((t) => [t, null])));
    expect(matchMismatches(file)).toEqual([]);
    // The cause is still there: the application's next writes break them again.
    runApp(file, 300, 2);
    expect(Object.values(rank1(file)).filter((v) => v !== null).length).toBe(Object.keys(WRONG).length);
  });

  it('--repair-fts-triggers replaces them behind the safety net: 1,000 further deletes and updates leave every index consistent', () => {
    const { config, file, dir } = appBrain();
    runApp(file, 400, 3);
    const before = snapshotTree(dir);
    const dry = cli(['--config', config, '--repair-fts-triggers', '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`DROP TRIGGER "memories_au";`);
    expect(dry.stdout).toContain(`INSERT INTO "memories_fts"("memories_fts") VALUES ('rebuild')`);
    expect(snapshotTree(dir)).toEqual(before);

    const r = cli(['--config', config, '--repair-fts-triggers', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = (
      JSON.parse(r.stdout) as {
        results: Array<{ type: string; status: string; message: string; backup: string | null }>;
      }
    ).results;
    expect(res).toHaveLength(1);
    expect(res[0]!.status).toBe('ok');
    expect(res[0]!.backup).not.toBeNull();
    expect(res[0]!.message).toMatch(/replaced the triggers of "by_delete_fts"/);
    for (const f of assessFts(config).values()) {
      if (f.table.endsWith('_fts')) expect(f.triggers?.status, f.table).toBe('correct');
    }
    runApp(file, 1000, 4);
    expect(rank1(file)).toEqual(Object.fromEntries(TABLES.map((t) => [t, null])));
    expect(matchMismatches(file)).toEqual([]);
  });

  it('maintenance.repairFtsTriggers lets --run repair the cause unattended', () => {
    const { config, file } = appBrain({ maintenance: { repairFtsTriggers: true } });
    runApp(file, 300, 5);
    const r = cli(['--config', config, '--run']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/REPAIR_FTS_TRIGGERS/);
    expect(r.stdout).not.toMatch(/REBUILD_FTS/);
    runApp(file, 500, 6);
    expect(rank1(file)).toEqual(Object.fromEntries(TABLES.map((t) => [t, null])));
  });
});

describe('the full check and the application holding the write lock', () => {
  it('falls back to the bounded check (which needs only a read snapshot) and says so, exit 0', async () => {
    const { config, file } = appBrain({ assess: { busyTimeoutMs: 300 } });
    // The application: a write transaction held until the test kills it (at most 60 s: a fixed
    // 4 s ended before the CLI had even started under the load of a full CI run).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(process.argv[1]);
         db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO sessions(started_at) VALUES ('x')").run();
         process.stdout.write('locked'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
         db.exec('COMMIT');`,
        file,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
      });
      const r = cli(['--config', config, '--assess', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const fts = (JSON.parse(r.stdout) as { databases: Array<{ fts: FtsJson[] }> }).databases[0]!.fts;
      for (const f of fts) {
        expect(f.checked, f.table).toBe('sampled');
        expect(f.detail).toMatch(/could not take the write lock in time, so the bounded one ran/);
      }
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('the bounded check (indexes above ftsFullCheckMaxBytes)', () => {
  it('finds rows rewritten around the triggers by probing their rowids as integers', () => {
    const { config, file } = appBrain({ assess: { ftsFullCheckMaxBytes: 0 } });
    const db = new Database(file);
    // Writes around the triggers (as a bulk import with triggers dropped would): each row gets its
    // neighbour's body, the same number of tokens and words the index holds elsewhere, so counts
    // and totals still agree and only a probe bound to the row's own rowid can tell.
    db.exec(`DROP TRIGGER ${CORRECT}_au`);
    db.exec(
      `UPDATE ${CORRECT} SET body = (SELECT n.body FROM ${CORRECT} n WHERE n.id = ${CORRECT}.id + 1) WHERE id % 3 = 0`,
    );
    db.close();
    const f = assessFts(config).get(`${CORRECT}_fts`)!;
    expect(f.checked).toBe('sampled');
    expect(f.status, f.detail).toBe('drift');
  });

  it('finds stale terms left by an UPDATE through a wrong trigger, from the token totals', () => {
    const { config, file } = appBrain({ assess: { ftsFullCheckMaxBytes: 0 } });
    runApp(file, 40, 8, ['by_update']);
    const f = assessFts(config).get('by_update_fts')!;
    expect(f.checked).toBe('sampled');
    expect(f.status, f.detail).toBe('drift');
  });

  it('an index FTS5 calls malformed is a finding, never an internal error', () => {
    // quick_check off, so the FTS check itself meets the corruption (through MATCH).
    const { config, file } = appBrain({ assess: { ftsFullCheckMaxBytes: 0, quickCheckMaxBytes: 0 } });
    const db = new Database(file);
    db.unsafeMode(true); // shadow tables are read-only otherwise (SQLITE_DBCONFIG_DEFENSIVE)
    db.exec(`UPDATE ${CORRECT}_fts_data SET block = zeroblob(length(block)) WHERE id > 10`);
    db.close();
    const r = cli(['--config', config, '--assess', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const f = (JSON.parse(r.stdout) as { databases: Array<{ fts: FtsJson[] }> }).databases[0]!.fts.find(
      (x) => x.table === `${CORRECT}_fts`,
    )!;
    expect(f.status).toBe('drift');
    expect(f.detail).toMatch(/malformed/);
  });
});

describe('VACUUM and rowids', () => {
  it('an index keyed by the rowid of a table without INTEGER PRIMARY KEY stays right through --vacuum', () => {
    const { config, file, db } = appDatabase();
    db.exec(`
      CREATE TABLE docs (title TEXT, body TEXT);
      CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, content='docs');
      CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN INSERT INTO docs_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END;
      CREATE TRIGGER docs_ad AFTER DELETE ON docs BEGIN INSERT INTO docs_fts(docs_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body); END;
      CREATE TRIGGER docs_au AFTER UPDATE ON docs BEGIN INSERT INTO docs_fts(docs_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body); INSERT INTO docs_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END;
    `);
    const ins = db.prepare('INSERT INTO docs(title, body) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 3000; i++)
        ins.run(`title w${(i % 2000).toString(36)}`, `body w${((i * 7) % 2000).toString(36)} filler text here`);
    })();
    db.exec('DELETE FROM docs WHERE rowid % 3 = 0'); // gaps in the rowids
    db.close();
    const dry = cli(['--config', config, '--vacuum', '--dry-run']);
    expect(dry.stdout).toContain(`INSERT INTO "docs_fts"("docs_fts") VALUES ('rebuild')`);
    const r = cli(['--config', config, '--vacuum']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/rebuilt docs_fts/);
    const check = new Database(file);
    expect(check.prepare('SELECT max(rowid) FROM docs').pluck().get()).toBe(2000); // renumbered
    check.prepare(`INSERT INTO docs_fts(docs_fts, rank) VALUES ('integrity-check', 1)`).run();
    for (let w = 0; w < 2000; w += 53) {
      const term = `w${w.toString(36)}`;
      const viaIndex = check
        .prepare(`SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? ORDER BY rowid`)
        .pluck()
        .all(`"${term}"`);
      const viaScan = check
        .prepare(`SELECT rowid FROM docs WHERE ' ' || title || ' ' || body || ' ' LIKE ? ORDER BY rowid`)
        .pluck()
        .all(`% ${term} %`);
      expect(viaIndex, term).toEqual(viaScan);
    }
    check.close();
  });
});

describe('the trigger classifier (src/db/fts-triggers.ts)', () => {
  const classify = (schema: string, fts = 't_fts'): ReturnType<typeof checkFtsTriggers> => {
    const db = new Database(':memory:');
    db.exec(schema);
    const t = listFtsTables(db).find((f) => f.name === fts)!;
    const c = checkFtsTriggers(db, t);
    // Whatever it proposes must run and leave a set that classifies as correct.
    if (c.status === 'wrong') {
      for (const sql of c.replacementSql) db.exec(sql);
      expect(checkFtsTriggers(db, t).status, c.replacementSql.join('\n')).toBe('correct');
    }
    db.close();
    return c;
  };
  const base = (table = 't', extra = ''): string => `
    CREATE TABLE ${table} (id INTEGER PRIMARY KEY, a TEXT, b TEXT${extra});
    CREATE VIRTUAL TABLE t_fts USING fts5(a, b, content='${table.replace(/'/g, "''")}', content_rowid='id');`;
  const ai = `CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO t_fts(rowid, a, b) VALUES (new.id, new.a, new.b); END;`;
  const ad = `CREATE TRIGGER t_ad AFTER DELETE ON t BEGIN INSERT INTO t_fts(t_fts, rowid, a, b) VALUES ('delete', old.id, old.a, old.b); END;`;
  const au = `CREATE TRIGGER t_au AFTER UPDATE ON t BEGIN INSERT INTO t_fts(t_fts, rowid, a, b) VALUES ('delete', old.id, old.a, old.b); INSERT INTO t_fts(rowid, a, b) VALUES (new.id, new.a, new.b); END;`;

  it('the documented form is correct; no triggers at all is "none", not a finding', () => {
    expect(classify(base() + ai + ad + au).status).toBe('correct');
    expect(classify(base()).status).toBe('none');
  });

  it('names each wrong form, and its replacement keeps WHEN clauses and statements about other tables', () => {
    const wrongDeleteValues = `CREATE TRIGGER t_ad AFTER DELETE ON t BEGIN INSERT INTO t_fts(t_fts, rowid, a) VALUES ('delete', old.id, old.a); END;`;
    const c1 = classify(base() + ai + wrongDeleteValues + au);
    expect(c1.problems.map((p) => p.problem).join()).toMatch(/leaves column "b" out/);
    const partialOf = `CREATE TRIGGER t_au AFTER UPDATE OF a ON t BEGIN INSERT INTO t_fts(t_fts, rowid, a, b) VALUES ('delete', old.id, old.a, old.b); INSERT INTO t_fts(rowid, a, b) VALUES (new.id, new.a, new.b); END;`;
    expect(
      classify(base() + ai + ad + partialOf)
        .problems.map((p) => p.problem)
        .join(),
    ).toMatch(/updates of "b" are not indexed/);
    const withAudit = `CREATE TABLE audit(x TEXT);
      CREATE TRIGGER t_ad AFTER DELETE ON t WHEN old.a IS NOT NULL BEGIN INSERT INTO audit VALUES ('gone'); DELETE FROM t_fts WHERE rowid = old.id; END;`;
    const c3 = classify(base() + ai + withAudit + au);
    expect(c3.status).toBe('wrong');
    expect(c3.replacementSql.join('\n')).toContain(
      `CREATE TRIGGER "t_ad" AFTER DELETE ON "t" WHEN old.a IS NOT NULL BEGIN INSERT INTO audit VALUES ('gone'); INSERT INTO "t_fts"("t_fts", rowid, "a", "b") VALUES ('delete', old."id", old."a", old."b"); END;`,
    );
    expect(
      classify(base() + ad + au)
        .problems.map((p) => p.problem)
        .join(),
    ).toMatch(/no INSERT trigger/);
  });

  it('a table without INTEGER PRIMARY KEY: a BEFORE INSERT trigger sees no rowid; VACUUM may renumber', () => {
    const schema = `CREATE TABLE t (a TEXT, b TEXT);
      CREATE VIRTUAL TABLE t_fts USING fts5(a, b, content='t');
      CREATE TRIGGER t_bi BEFORE INSERT ON t BEGIN INSERT INTO t_fts(rowid, a, b) VALUES (new.rowid, new.a, new.b); END;
      CREATE TRIGGER t_ad AFTER DELETE ON t BEGIN INSERT INTO t_fts(t_fts, rowid, a, b) VALUES ('delete', old.rowid, old.a, old.b); END;
      CREATE TRIGGER t_au AFTER UPDATE ON t BEGIN INSERT INTO t_fts(t_fts, rowid, a, b) VALUES ('delete', old.rowid, old.a, old.b); INSERT INTO t_fts(rowid, a, b) VALUES (new.rowid, new.a, new.b); END;`;
    expect(
      classify(schema)
        .problems.map((p) => p.problem)
        .join(),
    ).toMatch(/BEFORE INSERT trigger sees no rowid/);
    const db = new Database(':memory:');
    db.exec(schema);
    expect(vacuumMayRenumber(db, listFtsTables(db)[0]!)).toBe(true);
    db.close();
  });

  it('hostile names: quotes and spaces in the table, index and trigger names', () => {
    const T = `my "notes"; x`;
    const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
    const schema = `
      CREATE TABLE ${q(T)} (id INTEGER PRIMARY KEY, a TEXT, b TEXT);
      CREATE VIRTUAL TABLE t_fts USING fts5(a, b, content='${T.replace(/'/g, "''")}', content_rowid='id');
      CREATE TRIGGER ${q('ins "x"')} AFTER INSERT ON ${q(T)} BEGIN INSERT INTO t_fts(rowid, a, b) VALUES (new.id, new.a, new.b); END;
      CREATE TRIGGER ${q('del "x"')} AFTER DELETE ON ${q(T)} BEGIN DELETE FROM t_fts WHERE rowid = old.id; END;`;
    const c = classify(schema);
    expect(c.problems.map((p) => p.trigger)).toEqual(['del "x"', null]);
    expect(c.replacementSql).toContain(`DROP TRIGGER "del ""x""";`);
    expect(c.replacementSql.join('\n')).toContain(`CREATE TRIGGER "t_fts_au" AFTER UPDATE ON "my ""notes""; x" BEGIN`);
  });
});
