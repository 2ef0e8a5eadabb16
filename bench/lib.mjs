// Shared by the bench scripts: flags, medians, and timing a command with its peak RSS.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** The value after `name` on the command line (a number unless `dflt` is a string), or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  if (i === -1) return dflt;
  return typeof dflt === 'string' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

/** A config for a brain whose only database is tier1.db beside it (the demo brain's tier1 schema). */
export function writeTier1Config(file, extra = {}) {
  fs.writeFileSync(
    file,
    JSON.stringify({
      databases: { tier1: { path: 'tier1.db' } },
      conversations: { database: 'tier1' },
      patterns: {
        database: 'tier1',
        table: 'learned_patterns',
        confidenceColumn: 'confidence_score',
        lastUsedColumn: 'last_seen',
      },
      events: { path: 'events.jsonl' },
      logs: { dir: 'logs' },
      ...extra,
    }),
  );
  return file;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall time (s) and peak RSS (MB) of a command, through GNU time; throws if it fails. */
export function measure(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { s, rssMb: Number(r.stderr.trim().split('\n').at(-1)) / 1024, stdout: r.stdout };
}

/**
 * What an FTS5 'optimize' takes out of an index, measured on a copy: the index's _data, _idx and
 * _config rows copied (one read snapshot of `db`, which is only read) into a private temporary
 * database made with the same CREATE VIRTUAL TABLE, then 'optimize' there. Returns the _data
 * bytes before and after, and the difference (the truth the dead-weight measure is held to).
 */
export function optimizedCopy(Database, db, name) {
  const tmp = new Database('');
  tmp.unsafeMode(true); // its shadow tables are written directly
  const qi = (s) => `"${s.replace(/"/g, '""')}"`;
  const q = (s) => qi(`${name}_${s}`);
  try {
    tmp.exec(db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(name));
    tmp.exec(`DELETE FROM ${q('data')}; DELETE FROM ${q('idx')}; DELETE FROM ${q('config')};`);
    const copy = () => {
      for (const [t, cols] of [
        ['data', 'id, block'],
        ['idx', 'segid, term, pgno'],
        ['config', 'k, v'],
      ]) {
        const ins = tmp.prepare(`INSERT INTO ${q(t)}(${cols}) VALUES (${cols.replace(/[^,]+/g, '?')})`);
        for (const r of db
          .prepare(`SELECT ${cols} FROM ${q(t)}`)
          .raw()
          .safeIntegers()
          .iterate())
          ins.run(...r);
      }
    };
    tmp.transaction(() => (db.inTransaction ? copy() : db.transaction(copy)()))();
    const bytes = () =>
      Number(
        tmp
          .prepare(`SELECT coalesce(sum(length(block)), 0) FROM ${q('data')}`)
          .pluck()
          .get(),
      );
    const before = bytes();
    tmp.prepare(`INSERT INTO ${qi(name)}(${qi(name)}) VALUES ('optimize')`).run();
    const after = bytes();
    return { before, after, dead: before - after };
  } finally {
    tmp.close();
  }
}
