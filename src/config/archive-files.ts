/** The archive databases of the retention rules (a leaf: no zod, no Brain). */
import fs from 'node:fs';
import path from 'node:path';

/** The archive databases' file names beside the live database when `archivePath` is not set. */
export const DEFAULT_ARCHIVE_FILE = {
  conversations: 'conversation_archive.db',
  patterns: 'pattern_archive.db',
} as const;

/** The retention rules that move rows into an archive database. */
export type ArchiveRule = keyof typeof DEFAULT_ARCHIVE_FILE;

/** A rule's archive database: the configured path (relative to the config file), else `fallback` beside the live one. */
export function archiveFile(
  baseDir: string,
  configured: string | undefined,
  livePath: string,
  fallback: string,
): string {
  return configured ? path.resolve(baseDir, configured) : path.join(path.dirname(livePath), fallback);
}

/**
 * The archive databases that exist, as databases of the brain: `<live>.archive` (e.g.
 * `tier1.archive`), or `<live>.<rule>-archive` when both rules keep their rows in one database.
 * One that does not exist is left out: assessing never creates one (the first archive run does).
 * An empty file is left out too: SQLite (and the archive run) takes it for a new, empty database.
 */
export function archiveDatabases(
  databases: ReadonlyArray<{ readonly name: string }>,
  rules: ReadonlyArray<{ readonly rule: ArchiveRule; readonly live: string; readonly file: string | undefined }>,
): Array<{ name: string; path: string; configKey: string; archiveOf: ArchiveRule }> {
  const taken = new Set(databases.map((d) => d.name));
  const out: Array<{ name: string; path: string; configKey: string; archiveOf: ArchiveRule }> = [];
  for (const r of rules) {
    if (r.file === undefined || !isNonEmptyFile(r.file)) continue;
    const shared = rules.filter((o) => o.live === r.live).length > 1;
    const base = shared ? `${r.live}.${r.rule}-archive` : `${r.live}.archive`;
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    out.push({ name, path: r.file, configKey: `${r.rule}.archivePath`, archiveOf: r.rule });
  }
  return out;
}

function isNonEmptyFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}
