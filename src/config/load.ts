/**
 * Loading the config: read the file, parse JSON, validate with the zod schema,
 * resolve every path against the config file's directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { DbmError } from '../errors.js';
import { checkPaths } from './paths.js';
import { archiveDatabases, archiveFile, DEFAULT_ARCHIVE_FILE, type ArchiveRule } from './archive-files.js';
import { ConfigSchema, type Config } from './schema.js';
import { nameRegExpFlags } from '../util/platform.js';

export const DEFAULT_CONFIG_FILE = 'maintenance.config.json';
export const CONFIG_ENV = 'DB_MAINTENANCE_CONFIG';

export interface BrainDatabase {
  readonly name: string;
  /** Absolute path. */
  readonly path: string;
  /** The config key that names it, for error messages. */
  readonly configKey: string;
  /**
   * Set for the archive database of a retention rule (appended to the config's databases when
   * its file exists): assessed and maintained like the others, never counted or moved by a rule.
   */
  readonly archiveOf?: ArchiveRule;
}

/**
 * The brain as a loaded config describes it: the validated config (defaults applied), and
 * every place it names resolved to an absolute path (relative paths are relative to the
 * config file): its databases, its event log and logs, and the tool's own state and backups.
 */
export interface Brain {
  readonly configPath: string;
  readonly baseDir: string;
  readonly config: Config;
  readonly databases: readonly BrainDatabase[];
  /** Keys of "databases" whose path is a glob (a fleet): their members are named <key>/<file>. */
  readonly groups: ReadonlySet<string>;
  /** The event log and the logs directory, when the config has those parts (`events`, `logs`). */
  readonly eventsPath: string | undefined;
  readonly logsDir: string | undefined;
  readonly stateDir: string;
  readonly backupDir: string;
  readonly logFile: string | undefined;
}

/** Which config file to use: the flag, then the environment variable, then ./maintenance.config.json. */
export function configPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = flag ?? env[CONFIG_ENV] ?? DEFAULT_CONFIG_FILE;
  return path.resolve(cwd, chosen);
}

export function loadConfig(configPath: string): Brain {
  let text: string;
  try {
    const st = fs.statSync(configPath);
    if (st.isDirectory()) {
      throw new DbmError('CONFIG_UNREADABLE', `config ${configPath} is a directory, not a file`, {
        hint: 'pass the JSON file with --config PATH',
      });
    }
    text = fs.readFileSync(configPath, 'utf8');
  } catch (err) {
    if (err instanceof DbmError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new DbmError('CONFIG_NOT_FOUND', `config file not found: ${configPath}`, {
        hint: `pass --config PATH or set ${CONFIG_ENV}; run with --init-demo DIR to create a demo brain and config`,
      });
    }
    throw new DbmError('CONFIG_UNREADABLE', `cannot read config ${configPath}: ${code ?? String(err)}`, {
      hint: 'check the file permissions',
    });
  }
  return parseConfig(text, configPath);
}

export function parseConfig(text: string, configPath: string): Brain {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new DbmError(
      'CONFIG_INVALID_JSON',
      `config ${configPath} is not valid JSON: ${jsonErrorAt(text, err as Error)}`,
      {
        hint: 'fix the syntax at that spot',
      },
    );
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DbmError('CONFIG_INVALID', `config ${configPath}: ${describeIssue(issue)}`, {
      hint: 'see docs/configuration.md or maintenance.config.schema.json',
    });
  }
  return resolveConfig(parsed.data, configPath);
}

/**
 * JSON.parse's complaint, one line, with line and column instead of a character position (and
 * without the excerpt of the file some Node versions add).
 */
function jsonErrorAt(text: string, err: Error): string {
  const first = err.message.split('\n')[0]!;
  const m = /at position (\d+)/.exec(first);
  const what = first
    .replace(/\s*in JSON at position \d+.*$/, '')
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/^Unexpected end of JSON input.*/, 'the file ends before the JSON does');
  if (!m) return what;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = Number(m[1]) - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: ${what}`;
}

/** `thresholds.fragmentationRatio: must be between 0 and 1` — always names the JSON path. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    const keys = issue.keys.map((k) => {
      const full = where === '(top level)' ? k : `${where}.${k}`;
      const near = closest(k, known);
      return near ? `${full} (did you mean ${near}?)` : full;
    });
    return `unknown key ${keys.join(', ')}`;
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return `${where}: ${JSON.stringify(String(issue.path.at(-1) ?? ''))} is not a valid name: ${inner}`;
  }
  return `${where}: ${issue.message}`;
}

/** The keys the schema knows at a JSON path (of an object), for "did you mean". */
function knownKeys(at: readonly PropertyKey[]): string[] {
  type Def = {
    type: string;
    innerType?: unknown;
    shape?: Record<string, unknown>;
    valueType?: unknown;
    element?: unknown;
  };
  const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
  let s: unknown = ConfigSchema;
  const unwrap = (): void => {
    for (let d = defOf(s); d.innerType !== undefined; d = defOf(s)) s = d.innerType;
  };
  for (const part of at) {
    unwrap();
    const d = defOf(s);
    if (d.type === 'object' && d.shape) s = d.shape[String(part)];
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else return [];
    if (s === undefined) return [];
  }
  unwrap();
  const d = defOf(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

/** The known key within two edits of `key` (case aside), if one is. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const s = String(part);
      out += /^[A-Za-z_$][\w$]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

export function resolveConfig(config: Config, configPath: string): Brain {
  const baseDir = path.dirname(path.resolve(configPath));
  const at = (p: string): string => path.resolve(baseDir, p);
  const databases: BrainDatabase[] = [];
  const groups = new Set<string>();
  for (const [name, entry] of Object.entries(config.databases)) {
    const configKey = `databases.${name}.path`;
    if (!isGlob(entry.path)) {
      databases.push({ name, path: at(entry.path), configKey });
      continue;
    }
    // A fleet: every file the pattern matches is a database named <key>/<path below the pattern's fixed part>.
    groups.add(name);
    const { root, matches } = expandGlob(at(entry.path));
    for (const file of matches)
      databases.push({ name: `${name}/${path.relative(root, file).split(path.sep).join('/')}`, path: file, configKey });
  }
  const stateDir = at(config.stateDir);
  for (const db of databases) {
    if (path.dirname(db.path) === stateDir || db.path.startsWith(stateDir + path.sep)) {
      throw new DbmError(
        'CONFIG_INVALID',
        `config ${configPath}: stateDir must not contain the brain database ${db.name}`,
        {
          hint: 'point stateDir at a directory of its own',
        },
      );
    }
  }
  for (const [rule, dbName] of [
    ...(config.conversations ? [['conversations.database', config.conversations.database] as const] : []),
    ...(config.patterns ? [['patterns.database', config.patterns.database] as const] : []),
    ...config.probes.map((pr, i) => [`probes[${i}].database`, pr.database] as const),
  ] as const) {
    if (!(dbName in config.databases) && !databases.some((d) => d.name === dbName)) {
      throw new DbmError('CONFIG_INVALID', `config ${configPath}: ${rule}: "${dbName}" is not a key of databases`, {
        hint: `use one of: ${Object.keys(config.databases).join(', ')}`,
      });
    }
  }
  const brain: Brain = {
    configPath: path.resolve(configPath),
    baseDir,
    config,
    databases,
    groups,
    eventsPath: config.events ? at(config.events.path) : undefined,
    logsDir: config.logs ? at(config.logs.dir) : undefined,
    stateDir,
    backupDir:
      config.maintenance.backupDir === undefined ? path.join(stateDir, 'backups') : at(config.maintenance.backupDir),
    logFile: config.logging.file === undefined ? undefined : at(config.logging.file),
  };
  // The archives as config/select.ts's archivePathFor finds them (a rule on a fleet key names no one file).
  const archive = (configured: string | undefined, dbName: string, fallback: string): string | undefined => {
    const live = databases.find((d) => d.name === dbName);
    return configured || live ? archiveFile(baseDir, configured, live?.path ?? '', fallback) : undefined;
  };
  // A part the config does not manage has no archive either (one left from an earlier config is not assessed).
  const conversationsArchive = config.conversations
    ? archive(config.conversations.archivePath, config.conversations.database, DEFAULT_ARCHIVE_FILE.conversations)
    : undefined;
  const patternsArchive = config.patterns
    ? archive(config.patterns.archivePath, config.patterns.database, DEFAULT_ARCHIVE_FILE.patterns)
    : undefined;
  checkPaths({
    ...brain,
    conversationsArchive,
    patternsArchive,
    eventsArchiveDir: config.events?.archiveDir === undefined ? undefined : at(config.events.archiveDir),
  });
  databases.push(
    ...archiveDatabases(databases, [
      ...(config.conversations
        ? [{ rule: 'conversations' as const, live: config.conversations.database, file: conversationsArchive }]
        : []),
      ...(config.patterns
        ? [{ rule: 'patterns' as const, live: config.patterns.database, file: patternsArchive }]
        : []),
    ]),
  );
  return brain;
}

const GLOB = /[*?[]/;

export function isGlob(p: string): boolean {
  return GLOB.test(p);
}

/** One path segment of a glob as a RegExp over a directory entry's name: case-insensitive on Windows (its file names are). */
export function segmentRegex(segment: string, platform: NodeJS.Platform = process.platform): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        const body = segment.slice(i + 1, close).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, nameRegExpFlags(platform));
}

/**
 * The regular files an absolute pattern matches (`*`, `?`, `[...]` within a path segment; no
 * `**`), sorted, hidden files and -wal/-shm/-journal sidecars left out; and the fixed directory
 * above the first wildcard. Symlinked files count, symlinked directories are not entered.
 */
export function expandGlob(pattern: string): { root: string; matches: string[] } {
  const parts = pattern.split(path.sep);
  const first = parts.findIndex((p) => isGlob(p));
  const root = parts.slice(0, first).join(path.sep) || path.sep;
  let current = [root];
  for (let i = first; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of current) {
      if (!isGlob(part)) {
        next.push(path.join(dir, part));
        continue;
      }
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // a missing directory matches nothing
      }
      const re = segmentRegex(part);
      for (const e of entries) {
        if (e.name.startsWith('.') || !re.test(e.name)) continue;
        if (!last && !e.isDirectory()) continue;
        next.push(path.join(dir, e.name));
      }
    }
    current = next;
  }
  const matches = current
    .filter((f) => !new RegExp('-(wal|shm|journal)$', nameRegExpFlags()).test(f))
    .filter((f) => {
      try {
        return fs.statSync(f).isFile();
      } catch {
        return false;
      }
    })
    .sort();
  return { root, matches };
}
