/** Config keys for the databases found: readable, stable (from the file name), unique, and valid names. */
import path from 'node:path';

const DB_EXT = /\.(db|db3|sqlite|sqlite3)$/i;
const clean = (s: string): string => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._-]+|[._-]+$/g, '') || 'db';

/**
 * `tier1/conversations.db` -> `conversations`; two files of one name get their directory in
 * front (`a.memory`, `b.memory`), and what still collides a number (`memory-2`). `rels` are
 * paths relative to DIR with '/'; the result is in the same order.
 */
export function databaseKeys(rels: readonly string[]): string[] {
  const stem = (rel: string): string => clean(path.posix.basename(rel).replace(DB_EXT, ''));
  const withDir = (rel: string): string => {
    const dir = path.posix.dirname(rel);
    return dir === '.' ? stem(rel) : `${clean(dir.split('/').join('.'))}.${stem(rel)}`;
  };
  const count = new Map<string, number>();
  for (const r of rels) count.set(stem(r).toLowerCase(), (count.get(stem(r).toLowerCase()) ?? 0) + 1);
  const used = new Set<string>();
  return rels.map((r) => {
    const base = count.get(stem(r).toLowerCase())! > 1 ? withDir(r) : stem(r);
    let key = base;
    for (let n = 2; used.has(key.toLowerCase()); n++) key = `${base}-${n}`;
    used.add(key.toLowerCase());
    return key;
  });
}
