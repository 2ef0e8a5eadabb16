/**
 * `--init-config DIR`: inspect an existing brain directory, read-only, and propose its
 * maintenance.config.json: every SQLite database found (by header), the conversations and
 * patterns tables, the events file and the logs directory, each with the evidence for it. A part
 * not found is left out of the config and said so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { JSON_SCHEMA_FILE } from '../config/json-schema.js';
import { DbmError } from '../errors.js';
import { writeNewFileAtomic } from '../util/fs-atomic.js';
import { fdLikeOrigin, narrowest, originOf, type Origin } from '../util/ownership.js';
import { guessEvents, guessLogs } from './guess-files.js';
import { guessConversations, guessPatterns, type InspectedDatabase } from './guess-tables.js';
import { databaseKeys } from './keys.js';
import { MAX_DEPTH, scanBrain } from './scan.js';
import { readSchemaFacts } from './schema-facts.js';
import type { Evidence } from './types.js';

export type { Evidence } from './types.js';

/** The JSON Schema file shipped with the package (beside package.json). */
export const PACKAGE_SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  JSON_SCHEMA_FILE,
);

export interface InitConfigResult {
  readonly dir: string;
  readonly configPath: string;
  readonly config: Record<string, unknown>;
  readonly evidence: readonly Evidence[];
  /** The database files of the config (absolute): the written config is no more permissive than they are. */
  readonly databaseFiles: readonly string[];
}

/** The brain directory, checked: an existing directory (else a usage error, exit 2). */
export function brainDir(dir: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new DbmError('USAGE', `--init-config: ${dir} cannot be looked at (${(err as NodeJS.ErrnoException).code})`, {
      hint: 'pass the directory that holds the brain',
    });
  }
  if (!st.isDirectory())
    throw new DbmError('USAGE', `--init-config: ${dir} is not a directory`, {
      hint: 'pass the directory that holds the brain',
    });
  return dir;
}

/** Refuses (exit 2) when DIR already has a config: it is never overwritten. */
export function refuseExisting(configPath: string): void {
  if (fs.existsSync(configPath) || isLink(configPath))
    throw new DbmError('USAGE', `${configPath} already exists: --init-config never overwrites a config`, {
      hint: 'see what it would write with --init-config DIR --dry-run, or move the existing one away first',
    });
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Inspects `dir` (absolute) and proposes its config. Writes nothing. */
export function inspectBrain(dir: string): InitConfigResult {
  brainDir(dir);
  const configPath = path.join(dir, DEFAULT_CONFIG_FILE);
  const scan = scanBrain(dir);
  const evidence: Evidence[] = [...scan.evidence];
  const rels = scan.databases.map((p) => path.relative(dir, p).split(path.sep).join('/'));
  const keys = databaseKeys(rels);
  const inspected: InspectedDatabase[] = [];
  const files: string[] = [];
  let firstFailure: { rel: string; err: DbmError } | undefined;
  try {
    scan.databases.forEach((file, i) => {
      const key = keys[i]!;
      try {
        const facts = readSchemaFacts({ name: key, path: file, configKey: `databases.${key}.path` });
        inspected.push({ key, rel: rels[i]!, facts });
        files.push(file);
        const fts =
          facts.fts.length > 0 ? `, ${facts.fts.length} FTS5 ${facts.fts.length === 1 ? 'index' : 'indexes'}` : '';
        evidence.push({
          part: 'databases',
          status: 'found',
          subject: rels[i]!,
          message: `${key}: ${rels[i]} (SQLite header; ${facts.tables.length} table${facts.tables.length === 1 ? '' : 's'}${fts})`,
        });
      } catch (err) {
        const why = err instanceof DbmError ? err.message : String(err);
        if (err instanceof DbmError) firstFailure ??= { rel: rels[i]!, err };
        evidence.push({
          part: 'databases',
          status: 'unreadable',
          subject: rels[i]!,
          message: `${rels[i]} has a SQLite header but cannot be read: ${why}; not listed`,
        });
      }
    });
    if (inspected.length === 0) {
      const unreadable = evidence.filter((e) => e.status === 'unreadable');
      // One line: the first database that could not be read says why, with its own fix.
      if (firstFailure)
        throw new DbmError(
          firstFailure.err.code,
          `--init-config: no SQLite database in ${dir} can be read (${unreadable.length} could not be); ${firstFailure.rel}: ${firstFailure.err.message}`,
          { hint: firstFailure.err.hint ?? 'run it as the user that owns the brain' },
        );
      throw new DbmError(
        'DB_NOT_FOUND',
        `--init-config: no SQLite database ${unreadable.length > 0 ? 'that can be read ' : ''}found in ${dir} (looked ${MAX_DEPTH} directories deep, by the SQLite header${unreadable.length > 0 ? `; ${unreadable.map((e) => e.subject ?? e.message).join(', ')} could not be read` : ''})`,
        {
          hint:
            unreadable.length > 0
              ? 'run it as the user that owns the brain'
              : "pass the directory that holds the brain's databases; nothing was written",
        },
      );
    }
    const config: Record<string, unknown> = {
      $schema: schemaRef(dir),
      databases: Object.fromEntries(inspected.map((d) => [d.key, { path: d.rel }])),
    };
    guessTables(inspected, config, evidence);
    for (const d of inspected) {
      for (const e of new Set(d.facts.errors))
        evidence.push({
          part: 'databases',
          status: 'unreadable',
          subject: d.rel,
          message: `${d.rel}: ${e}; that table is not a candidate`,
        });
    }
    guessFiles(dir, scan, config, evidence);
    return { dir, configPath, config, evidence, databaseFiles: files };
  } finally {
    for (const d of inspected) d.facts.close();
  }
}

function guessTables(dbs: readonly InspectedDatabase[], config: Record<string, unknown>, evidence: Evidence[]): void {
  const conv = guessConversations(dbs);
  if ('rejected' in conv) {
    evidence.push({
      part: 'conversations',
      status: 'not-found',
      message: `not found: no table named like conversations, threads, chats or sessions with a unique key and a timestamp column${conv.rejected.length ? ` (${conv.rejected.join('; ')})` : ''}; left out of the config`,
    });
  } else {
    const { evidence: why, others, ...rule } = conv;
    config['conversations'] = { ...rule, archiveAfterDays: 30, keepNewest: 20 };
    evidence.push({
      part: 'conversations',
      status: 'found',
      subject: `${conv.database}.${conv.table}`,
      message: `${conv.database}.${conv.table} (${why})${others.length ? `; also considered: ${others.join(', ')}` : ''}`,
    });
  }
  const pat = guessPatterns(dbs, 'rejected' in conv ? undefined : conv);
  if ('rejected' in pat) {
    evidence.push({
      part: 'patterns',
      status: 'not-found',
      message: `not found: no table with a confidence-like REAL column in [0, 1] and a last-used timestamp column (last_used, last_accessed, last_seen, ...)${pat.rejected.length ? ` (${pat.rejected.join('; ')})` : ''}; left out of the config`,
    });
  } else {
    const { evidence: why, others, ...rule } = pat;
    config['patterns'] = { ...rule, minConfidence: 0.3, unusedDays: 90 };
    evidence.push({
      part: 'patterns',
      status: 'found',
      subject: `${pat.database}.${pat.table}`,
      message: `${pat.database}.${pat.table} (${why})${others.length ? `; also considered: ${others.join(', ')}` : ''}`,
    });
  }
  for (const db of dbs) {
    for (const f of db.facts.fts) {
      const subject = `${db.key}.${f.name}`;
      evidence.push({
        part: 'fts',
        status: 'noted',
        subject,
        message:
          f.kind === 'external'
            ? `${subject}: external-content FTS5 index of ${f.contentTable} (content_rowid ${f.contentRowid}); --assess finds and checks it itself, nothing to configure`
            : `${subject}: ${f.kind === 'contentless' ? 'contentless' : 'regular (it stores its own content)'} FTS5 index; --assess checks it itself, nothing to configure`,
      });
    }
  }
}

function guessFiles(
  dir: string,
  scan: ReturnType<typeof scanBrain>,
  config: Record<string, unknown>,
  evidence: Evidence[],
): void {
  const events = guessEvents(dir, scan.jsonl);
  for (const r of events.rejected)
    evidence.push({
      part: 'events',
      status: 'skipped',
      subject: r.file,
      message: `${r.file} ${r.why}: not the events file`,
    });
  if (events.guess) {
    config['events'] = { path: events.guess.file, timestampField: events.guess.timestampField, compressAfterDays: 7 };
    evidence.push({
      part: 'events',
      status: 'found',
      subject: events.guess.file,
      message: `${events.guess.file} (${events.guess.evidence})${events.others.length ? `; also JSON lines, not used (one events file per config): ${events.others.join(', ')}` : ''}`,
    });
  } else {
    evidence.push({
      part: 'events',
      status: 'not-found',
      message: `not found: ${scan.jsonl.length === 0 ? 'no *.jsonl file in DIR' : 'no *.jsonl file of JSON objects with a time field'}; left out of the config (an events file elsewhere can be set as events.path, relative to the config)`,
    });
  }
  const logs = guessLogs(dir, scan.logDirs);
  if (logs.guess) {
    config['logs'] = { dir: logs.guess.dir, extension: logs.guess.extension, rotateAfterDays: 90 };
    evidence.push({
      part: 'logs',
      status: 'found',
      subject: logs.guess.dir,
      message: `${logs.guess.dir} (${logs.guess.evidence})${logs.others.length ? `; other directories with *.log files, not used: ${logs.others.join(', ')}` : ''}`,
    });
  } else {
    evidence.push({
      part: 'logs',
      status: 'not-found',
      message:
        'not found: no directory with *.log files in DIR; left out of the config (a logs directory elsewhere can be set as logs.dir, relative to the config)',
    });
  }
}

/** `$schema`: the package's JSON Schema, relative to DIR where a relative path can reach it. */
function schemaRef(dir: string): string {
  const rel = path.relative(dir, PACKAGE_SCHEMA_FILE);
  if (path.isAbsolute(rel)) return PACKAGE_SCHEMA_FILE.split(path.sep).join('/');
  const posix = rel.split(path.sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}

/** The config as written: two-space JSON, one trailing newline. */
export function configText(result: InitConfigResult): string {
  return `${JSON.stringify(result.config, null, 2)}\n`;
}

/**
 * Writes the config, atomically and never over an existing file (exit 2 then): owned as the
 * brain directory is, and no more permissive than the databases it names.
 */
export function writeInitConfig(result: InitConfigResult): void {
  refuseExisting(result.configPath);
  const dirOrigin = originOf(result.dir);
  let origin: Origin | null = dirOrigin && { ...dirOrigin, mode: 0o666 };
  for (const f of result.databaseFiles) if (origin) origin = narrowest(origin, originOf(f));
  try {
    writeNewFileAtomic(result.configPath, configText(result), (fd) => {
      if (origin) fdLikeOrigin(fd, origin);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') refuseExisting(result.configPath);
    throw new DbmError(
      'FILE_UNWRITABLE',
      `--init-config: ${result.configPath} cannot be written (${code ?? String(err)})`,
      {
        hint: 'run it as a user that can write the brain directory, or print the config with --dry-run',
      },
    );
  }
}
