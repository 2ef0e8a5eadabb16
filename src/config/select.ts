/**
 * Finding the databases of a loaded config: by name, by `--db`, by the rule that names them.
 * Kept apart from the loader (load.ts, which needs zod) so that what only looks things up
 * stays light to import.
 */
import path from 'node:path';
import { DbmError } from '../errors.js';
import type { BrainDatabase, ResolvedConfig } from './load.js';

/**
 * The databases selected by `--db NAME` (all when absent; a fleet's key selects all its members),
 * or by several names (each selected as by --db, in the order given, each database once).
 */
export function selectDatabases(rc: ResolvedConfig, dbName: string | readonly string[] | undefined): readonly BrainDatabase[] {
  if (dbName === undefined) return rc.databases;
  if (typeof dbName !== 'string') return [...new Set(dbName.flatMap((n) => selectDatabases(rc, n)))];
  if (rc.groups.has(dbName)) return rc.databases.filter((d) => d.name.startsWith(`${dbName}/`));
  const found = databaseNamed(rc, dbName);
  if (!found) {
    throw new DbmError('UNKNOWN_DATABASE', `unknown database "${dbName}" for --db`, {
      hint: `use one of: ${rc.databases.map((d) => d.name).join(', ')} (the keys of "databases" in ${rc.configPath})`,
    });
  }
  return [found];
}

/** The database of the config named `name` (a fleet member by its `<key>/<file>` name), if any. */
export function databaseNamed(rc: ResolvedConfig, name: string): BrainDatabase | undefined {
  return rc.databases.find((d) => d.name === name);
}

/** The database a rule (`conversations`, `patterns`) names. */
export function ruleDatabase(rc: ResolvedConfig, rule: string, name: string): BrainDatabase {
  const db = databaseNamed(rc, name);
  if (!db) throw new DbmError('CONFIG_INVALID', `${rule}.database: "${name}" is not one of the databases in the config`, { hint: 'name a key of "databases"' });
  return db;
}

/** A rule's archive database: the configured path (relative to the config file), else `fallback` beside the live one. */
export function archivePathFor(rc: ResolvedConfig, configured: string | undefined, live: BrainDatabase, fallback: string): string {
  return configured ? path.resolve(rc.baseDir, configured) : path.join(path.dirname(live.path), fallback);
}

/** The database holding the conversations (`conversations.database`). */
export function conversationsDatabase(rc: ResolvedConfig): BrainDatabase {
  return ruleDatabase(rc, 'conversations', rc.config.conversations.database);
}

/** The database holding the patterns (`patterns.database`). */
export function patternsDatabase(rc: ResolvedConfig): BrainDatabase {
  return ruleDatabase(rc, 'patterns', rc.config.patterns.database);
}
