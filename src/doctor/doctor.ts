/**
 * `--doctor`: can a scheduled run work here? Node and its ABI, better-sqlite3 and SQLite with the
 * compile options the tool needs, the config, every configured path (readable and writable as
 * the tool needs it), the run lock, free disk, the last run. Read-only: it writes nothing, and
 * looks at the lock without taking it (taking it could turn away a scheduled run starting now).
 * Exits non-zero when a check fails, that is when a scheduled run would be stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { loadConfig, type Brain } from '../config/load.js';
import { inspectDatabaseFile, ReadConnection, sqliteUnavailable, type FileFacts } from '../db/open.js';
import { DbmError, EXIT, withHint, type ExitCode } from '../errors.js';
import { namedHolder } from '../maintenance/lock.js';
import { statfsProbe } from '../maintenance/preflight.js';
import { StateDb } from '../state/state-db.js';
import type { DoctorCheck, DoctorReport } from '../report/json.js';
import { accountOf, ownerOf, type DirectoryOwner } from '../util/accounts.js';
import { bytes } from '../util/format.js';
import { existingAncestor } from '../util/fs-atomic.js';

const ok = (check: string, detail: string): DoctorCheck => ({ check, status: 'ok', detail, exitCode: EXIT.ok });
const warn = (check: string, detail: string): DoctorCheck => ({ check, status: 'warn', detail, exitCode: EXIT.ok });
const fail = (check: string, detail: string, exitCode: ExitCode): DoctorCheck => ({
  check,
  status: 'fail',
  detail,
  exitCode,
});

function canAccess(p: string, mode: number): boolean {
  try {
    fs.accessSync(p, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether Node `version` (x.y.z) is one package.json's `engines` names: its alternatives are all
 * `^x.y.z` (the majors CI tests). "older" below the first, "untested" for another major or an
 * older minor of a tested one.
 */
export function nodeSupport(version: string, engines: string): 'supported' | 'older' | 'untested' {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  const alts = engines.split('||').map((a) => (/\^(\d+)\.(\d+)\.(\d+)/.exec(a) ?? []).slice(1).map(Number));
  const fits = alts.some(([a = -1, b = 0, c = 0]) => major === a && (minor > b || (minor === b && patch >= c)));
  if (fits) return 'supported';
  return major < Math.min(...alts.map(([a = Infinity]) => a)) ? 'older' : 'untested';
}

function runtimeChecks(): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const engines = (createRequire(import.meta.url)('../../package.json') as { engines: { node: string } }).engines.node;
  const runtime = `Node ${process.version}, ABI ${process.versions.modules}, ${process.platform}-${process.arch}`;
  const support = nodeSupport(process.versions.node, engines);
  out.push(
    support === 'supported'
      ? ok('node', runtime)
      : support === 'untested'
        ? warn('node', `${runtime}: not a version db-maintenance is tested on (${engines})`)
        : fail('node', `Node ${process.version} is older than db-maintenance supports (${engines})`, EXIT.usage),
  );
  try {
    const pkg = createRequire(import.meta.url)('better-sqlite3/package.json') as { version: string };
    const db = new Database(':memory:');
    try {
      const version = db.prepare('SELECT sqlite_version()').pluck().get() as string;
      const options = new Set(
        (db.pragma('compile_options') as Array<{ compile_options: string }>).map((r) => r.compile_options),
      );
      out.push(ok('sqlite', `better-sqlite3 ${pkg.version}, SQLite ${version}`));
      out.push(
        options.has('ENABLE_FTS5')
          ? ok('fts5', 'compiled in')
          : fail('fts5', 'SQLite without FTS5: FTS indexes cannot be checked or rebuilt', EXIT.database),
      );
      out.push(
        options.has('ENABLE_DBSTAT_VTAB')
          ? ok('dbstat', 'compiled in')
          : warn('dbstat', 'SQLite without dbstat: page waste is not measured'),
      );
    } finally {
      db.close();
    }
  } catch (err) {
    out.push(
      fail(
        'sqlite',
        withHint(sqliteUnavailable() ?? new DbmError('FILE_ERROR', (err as Error).message)),
        EXIT.database,
      ),
    );
  }
  return out;
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** quick_check of a database up to `maxBytes` through a read-only connection, or null when it passes (or is too large). */
function quickCheckProblem(
  d: Brain['databases'][number],
  facts: FileFacts,
  maxBytes: number,
  timeoutMs: number,
): string | null {
  if (facts.fileBytes > maxBytes) return null;
  let conn: ReadConnection | undefined;
  try {
    conn = new ReadConnection(d, facts, timeoutMs);
    const r = String(conn.db.pragma('quick_check(1)', { simple: true }));
    return r === 'ok'
      ? null
      : `${d.path}: quick_check: ${r.split('\n').join('; ')} (restore it from a backup; --assess --deep lists the damage)`;
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY')) return null; // in use: the assessment's business
    if (err instanceof DbmError) return withHint(err);
    return `${d.path}: quick_check: ${(err as Error).message} (restore it from a backup; --assess --deep lists the damage)`;
  } finally {
    conn?.close();
  }
}

function pathChecks(brain: Brain): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  for (const d of brain.databases) {
    const name = `database ${d.name}`;
    try {
      const facts = inspectDatabaseFile(d);
      // A valid header says nothing of the pages behind it: quick_check where the assessment would run it.
      const problem = quickCheckProblem(
        d,
        facts,
        brain.config.assess.quickCheckMaxBytes,
        brain.config.assess.busyTimeoutMs,
      );
      if (problem) {
        out.push(fail(name, problem, EXIT.database));
        continue;
      }
      const writable =
        canAccess(d.path, fs.constants.R_OK | fs.constants.W_OK) && canAccess(path.dirname(d.path), fs.constants.W_OK);
      out.push(
        writable
          ? ok(name, d.path)
          : fail(name, `${d.path} or its directory is not writable (maintenance needs both)`, EXIT.database),
      );
    } catch (err) {
      out.push(
        fail(
          name,
          err instanceof DbmError ? err.message : String(err),
          err instanceof DbmError ? err.exitCode : EXIT.database,
        ),
      );
    }
  }
  out.push(
    brain.eventsPath ? eventsCheck(brain.eventsPath) : ok('events', 'not managed (the config has no "events" section)'),
  );
  out.push(brain.logsDir ? logsCheck(brain.logsDir) : ok('logs', 'not managed (the config has no "logs" section)'));
  for (const [check, dir] of [
    ['stateDir', brain.stateDir],
    ['backupDir', brain.backupDir],
  ] as const) {
    const at = existingAncestor(dir);
    out.push(
      canAccess(at, fs.constants.W_OK)
        ? ok(check, fs.existsSync(dir) ? dir : `${dir} (will be created in ${at})`)
        : fail(
            check,
            `${at} is not writable (run as the user that owns the brain, or set ${check} to a directory this user may write)`,
            EXIT.database,
          ),
    );
  }
  return out;
}

/**
 * A warning, not a failure, when this user is not the brain directory's owner: as root the
 * run works (the files it makes inside the brain keep their source's owner), but the state,
 * backups and the scheduled log are root's; as another user, what it makes is that user's.
 */
export function ownerCheck(brainDir: string, uid: number | undefined = process.getuid?.()): DoctorCheck {
  if (uid === undefined) return ok('owner', 'not checked on this platform (run the task as the brain owner)');
  let owner: DirectoryOwner;
  try {
    owner = ownerOf(brainDir);
  } catch (err) {
    return warn('owner', `${brainDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const me = accountOf(uid, 'passwd').name;
  if (owner.user.id === uid) return ok('owner', `running as ${me}, the owner of ${brainDir}`);
  const as = /^\d+$/.test(owner.user.name) ? `#${owner.user.name}` : owner.user.name;
  return warn(
    'owner',
    `running as ${me} (uid ${uid}) but ${brainDir} is owned by ${owner.user.name} (uid ${owner.user.id}): what the tool creates (state, backups, archives) would not be the brain owner's (run it as that user: sudo -u ${as} db-maintenance ..., or setpriv --reuid=${owner.user.id} --regid=${owner.group.id} --clear-groups; --print-schedule systemd sets User=)`,
  );
}

function lockCheck(brain: Brain): DoctorCheck {
  const named = namedHolder(brain.stateDir);
  if (!named) return ok('lock', 'free');
  const { holder, alive } = named;
  return alive
    ? warn(
        'lock',
        `held by pid ${holder.pid} on ${holder.host}, running ${holder.command} since ${holder.startedAt} (a run started now would exit 5)`,
      )
    : ok('lock', `free (a dead run's info was left by pid ${holder.pid}; the lock itself is free)`);
}

function diskChecks(brain: Brain): DoctorCheck[] {
  const byDevice = new Map<string, { dir: string; free: number; largest: number }>();
  for (const d of brain.databases) {
    let size = 0;
    try {
      size = fs.statSync(d.path).size;
    } catch {
      continue;
    }
    for (const dir of [path.dirname(d.path), existingAncestor(brain.backupDir)]) {
      const { free, device } = statfsProbe(existingAncestor(dir));
      const e = byDevice.get(device) ?? { dir, free, largest: 0 };
      e.largest = Math.max(e.largest, size);
      byDevice.set(device, e);
    }
  }
  return [...byDevice.values()].map((e) =>
    e.free < e.largest
      ? fail(
          'disk',
          `${bytes(e.free)} free at ${e.dir}: not even a backup of the largest database (${bytes(e.largest)}) fits`,
          EXIT.refused,
        )
      : e.free < 3 * e.largest
        ? warn(
            'disk',
            `${bytes(e.free)} free at ${e.dir}: VACUUM of the largest database (${bytes(e.largest)}) needs up to 3x (backup + 2x) and may be refused`,
          )
        : ok('disk', `${bytes(e.free)} free at ${e.dir}`),
  );
}

function lastRunCheck(brain: Brain): DoctorCheck {
  let state: StateDb | null;
  try {
    state = StateDb.openReadOnly(brain.stateDir);
  } catch (err) {
    // A broken, foreign or newer state database: every run would fail on it, --scheduled would do no lane.
    const e = err as DbmError;
    return fail('state database', withHint(e), e.exitCode ?? EXIT.database);
  }
  if (!state) return warn('last run', 'none recorded yet');
  try {
    const last = state.history(1)[0];
    if (!last) return warn('last run', 'none recorded yet');
    const what = `${last.command} at ${last.startedAt}, exit ${last.exitCode ?? '?'}`;
    if (last.exitCode === 0) return ok('last run', what);
    const failed = last.tasks
      .filter((t) => t.status !== 'ok' && t.status !== 'skipped')
      .map((t) => `${t.type} ${t.database}: ${t.message}`);
    return warn('last run', `${what}${failed.length ? `; ${failed.slice(0, 3).join('; ')}` : ''}`);
  } finally {
    state.close();
  }
}

export function runDoctor(configPath: string): DoctorReport {
  const checks = runtimeChecks();
  let brain: Brain | null = null;
  try {
    brain = loadConfig(configPath);
    checks.push(ok('config', `${configPath} is valid`));
  } catch (err) {
    checks.push(
      fail(
        'config',
        err instanceof DbmError ? withHint(err) : String(err),
        err instanceof DbmError ? err.exitCode : EXIT.usage,
      ),
    );
  }
  // Without SQLite every other check would only repeat that (and blame the files).
  if (brain && !checks.some((c) => c.check === 'sqlite' && c.status === 'fail'))
    checks.push(
      ownerCheck(brain.baseDir),
      ...pathChecks(brain),
      lockCheck(brain),
      ...diskChecks(brain),
      lastRunCheck(brain),
    );
  return { version: 1, command: 'doctor', configPath, checks };
}

/** The event log: a regular file the tool can read and swap (missing: nothing to compress yet). */
function eventsCheck(events: string): DoctorCheck {
  const ev = lstatOrNull(events);
  if (!ev) return warn('events', `${events} does not exist (nothing to compress)`);
  if (!ev.isFile())
    return fail(
      'events',
      `${events} is ${ev.isSymbolicLink() ? 'a symlink' : ev.isDirectory() ? 'a directory' : 'a FIFO, device or socket'}, not a regular file (the compression takes only a regular file)`,
      EXIT.database,
    );
  if (!canAccess(events, fs.constants.R_OK) || !canAccess(path.dirname(events), fs.constants.W_OK)) {
    return fail(
      'events',
      `${events} is not readable or its directory not writable (the compression swaps the file)`,
      EXIT.database,
    );
  }
  return ok('events', events);
}

/** The logs directory: one the tool can list and write. */
function logsCheck(dir: string): DoctorCheck {
  const logs = lstatOrNull(dir);
  if (!logs) return warn('logs', `${dir} does not exist (nothing to rotate)`);
  if (!fs.statSync(dir).isDirectory()) return fail('logs', `${dir} is not a directory`, EXIT.database);
  if (!canAccess(dir, fs.constants.R_OK | fs.constants.W_OK))
    return fail(
      'logs',
      `${dir} is not readable and writable (run as the user that owns the brain, or give it the directory)`,
      EXIT.database,
    );
  return ok('logs', dir);
}
