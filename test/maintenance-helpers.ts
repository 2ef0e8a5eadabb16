import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DEMO_PATHS } from '../src/demo/generate.js';

export const DB_FILES = [DEMO_PATHS.tier1, DEMO_PATHS.tier2, DEMO_PATHS.tier3, DEMO_PATHS.state] as const;

const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** Every row of every table (sqlite_stat* and FTS shadow tables included), as sorted JSON lines. */
// Read-write with query_only, not readonly: a read-only connection to a WAL database at rest
// creates -wal/-shm files and leaves them behind.
function openForReading(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('query_only = ON');
  return db;
}

export function dumpAll(file: string): Record<string, string[]> {
  const db = openForReading(file);
  try {
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
      )
      .pluck()
      .all() as string[];
    const out: Record<string, string[]> = {};
    for (const t of tables) {
      out[t] = (
        db
          .prepare(`SELECT * FROM ${q(t)}`)
          .raw()
          .all() as unknown[][]
      )
        .map((r) =>
          JSON.stringify(r, (_k, v: unknown) =>
            Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : typeof v === 'bigint' ? String(v) : v,
          ),
        )
        .sort();
    }
    return out;
  } finally {
    db.close();
  }
}

/** The user's rows only: no sqlite_* tables and no FTS5 shadow tables (maintenance may rewrite those). */
export function dumpUserRows(file: string): Record<string, string[]> {
  const all = dumpAll(file);
  const db = openForReading(file);
  const fts = db
    .prepare("SELECT name FROM sqlite_schema WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
    .pluck()
    .all() as string[];
  db.close();
  const shadow = new Set(fts.flatMap((f) => ['data', 'idx', 'content', 'docsize', 'config'].map((s) => `${f}_${s}`)));
  return Object.fromEntries(Object.entries(all).filter(([t]) => !t.startsWith('sqlite_') && !shadow.has(t)));
}

export function integrityCheck(file: string): string {
  const db = new Database(file, { fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((r) => r.integrity_check)
      .join('; ');
  } finally {
    db.close();
  }
}

/** Copies a brain at rest (no -wal files: nobody has it open) to a new directory. */
export function copyBrainAtRest(from: string, to: string): void {
  for (const f of fs.readdirSync(from, { recursive: true }) as string[]) {
    if (f.endsWith('-wal') || f.endsWith('-shm')) throw new Error(`brain not at rest: ${f}`);
  }
  fs.cpSync(from, to, { recursive: true });
}

export function strayTempFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => path.basename(f).includes('.tmp-'));
}
