/**
 * Loading the config: read the file, parse JSON, validate with the zod schema,
 * resolve every path against the config file's directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { DbmError } from '../errors.js';
import { checkPaths } from './paths.js';
import { DEFAULT_ARCHIVE_FILE } from './archive-files.js';
import { ConfigSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'maintenance.config.json';
export const CONFIG_ENV = 'DB_MAINTENANCE_CONFIG';

export interface BrainDatabase {
  readonly name: string;
  /** Absolute path. */
  readonly path: string;
  /** The config key that names it, for error messages. */
  readonly configKey: string;
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
  readonly eventsPath: string;
  readonly logsDir: string;
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
    throw new DbmError('CONFIG_INVALID_JSON', `config ${configPath} is not valid JSON: ${(err as Error).message}`, {
      hint: 'fix the syntax (a JSON linter shows the spot)',
    });
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

/** `thresholds.fragmentationRatio: must be between 0 and 1` — always names the JSON path. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (where === '(top level)' ? k : `${where}.${k}`));
    return `unknown key ${keys.join(', ')}`;
  }
  return `${where}: ${issue.message}`;
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
    ['conversations.database', config.conversations.database],
    ['patterns.database', config.patterns.database],
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
    eventsPath: at(config.events.path),
    logsDir: at(config.logs.dir),
    stateDir,
    backupDir:
      config.maintenance.backupDir === undefined ? path.join(stateDir, 'backups') : at(config.maintenance.backupDir),
    logFile: config.logging.file === undefined ? undefined : at(config.logging.file),
  };
  // The archives' defaults as config/select.ts's archivePathFor computes them: beside the live database.
  const archive = (configured: string | undefined, dbName: string, fallback: string): string | undefined => {
    if (configured) return at(configured);
    const live = databases.find((d) => d.name === dbName);
    return live ? path.join(path.dirname(live.path), fallback) : undefined;
  };
  checkPaths({
    ...brain,
    conversationsArchive: archive(
      config.conversations.archivePath,
      config.conversations.database,
      DEFAULT_ARCHIVE_FILE.conversations,
    ),
    patternsArchive: archive(config.patterns.archivePath, config.patterns.database, DEFAULT_ARCHIVE_FILE.patterns),
    eventsArchiveDir: config.events.archiveDir === undefined ? undefined : at(config.events.archiveDir),
  });
  return brain;
}

const GLOB = /[*?[]/;

export function isGlob(p: string): boolean {
  return GLOB.test(p);
}

function segmentRegex(segment: string): RegExp {
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
  return new RegExp(`^${re}$`);
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
    .filter((f) => !/-(wal|shm|journal)$/.test(f))
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
