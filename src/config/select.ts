/**
 * Finding the databases of a loaded config: by name, by `--db`, by the rule that names them.
 * Kept apart from the loader (load.ts, which needs zod) so that what only looks things up
 * stays light to import.
 */
import { DbmError } from '../errors.js';
import { archiveFile } from './archive-files.js';
import type { BrainDatabase, Brain } from './load.js';
import type { BrainPart, Config } from './schema.js';

/**
 * The databases selected by `--db NAME` (all when absent; a fleet's key selects all its members),
 * or by several names (each selected as by --db, in the order given, each database once).
 */
export function selectDatabases(
  brain: Brain,
  dbName: string | readonly string[] | undefined,
): readonly BrainDatabase[] {
  if (dbName === undefined) return brain.databases;
  if (typeof dbName !== 'string') return [...new Set(dbName.flatMap((n) => selectDatabases(brain, n)))];
  if (brain.groups.has(dbName)) return brain.databases.filter((d) => d.name.startsWith(`${dbName}/`));
  const found = databaseNamed(brain, dbName);
  if (!found) {
    throw new DbmError('UNKNOWN_DATABASE', `unknown database "${dbName}" for --db`, {
      hint: `use one of: ${brain.databases.map((d) => d.name).join(', ')} (the keys of "databases" in ${brain.configPath}, and the archive databases that exist)`,
    });
  }
  return [found];
}

/** The database of the config named `name` (a fleet member by its `<key>/<file>` name), if any. */
export function databaseNamed(brain: Brain, name: string): BrainDatabase | undefined {
  return brain.databases.find((d) => d.name === name);
}

/** The database a rule (`conversations`, `patterns`) names. */
export function ruleDatabase(brain: Brain, rule: string, name: string): BrainDatabase {
  const db = databaseNamed(brain, name);
  if (!db)
    throw new DbmError('CONFIG_INVALID', `${rule}.database: "${name}" is not one of the databases in the config`, {
      hint: 'name a key of "databases"',
    });
  return db;
}

/** A rule's archive database: the configured path (relative to the config file), else `fallback` beside the live one. */
export function archivePathFor(
  brain: Brain,
  configured: string | undefined,
  live: BrainDatabase,
  fallback: string,
): string {
  return archiveFile(brain.baseDir, configured, live.path, fallback);
}

const PART_WORDS: Record<BrainPart, string> = {
  conversations: 'conversations are',
  patterns: 'patterns are',
  events: 'the event log is',
  logs: 'the logs are',
};

/** The section of an optional part of the brain; a config error (exit 2) for an action that needs it when the config has none. */
export function partRule<P extends BrainPart>(brain: Brain, p: P): NonNullable<Config[P]> {
  const rule = brain.config[p];
  if (rule) return rule as NonNullable<Config[P]>;
  throw new DbmError('CONFIG_INVALID', `${PART_WORDS[p]} not managed: ${brain.configPath} has no "${p}" section`, {
    hint: `add one (docs/configuration.md#${p}), or let --init-config DIR write a config for the brain`,
  });
}

/** The database holding the conversations (`conversations.database`). */
export function conversationsDatabase(brain: Brain): BrainDatabase {
  return ruleDatabase(brain, 'conversations', partRule(brain, 'conversations').database);
}

/** The database holding the patterns (`patterns.database`). */
export function patternsDatabase(brain: Brain): BrainDatabase {
  return ruleDatabase(brain, 'patterns', partRule(brain, 'patterns').database);
}
