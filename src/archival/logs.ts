/**
 * `--rotate-logs`: each `*.log` of `logs.dir` not written for N days is gzipped to
 * `<name>-<YYYYMMDD-HHmmss of its last write, UTC>.log.gz` (a `-1`, `-2`... suffix if that name
 * is taken: an earlier archive is never overwritten), then removed. Rotated archives older than
 * `deleteArchivesAfterDays`, or beyond the newest `keepArchives` of a log name, are deleted.
 *
 * Only regular files directly in the directory are touched: symlinks are never followed, nothing
 * outside the directory is read or written. No copytruncate: the gzip goes to a temp file, is
 * fsynced, gets its final name by link() (which fails rather than replace), and only then is the
 * log removed. A run killed at any point leaves the log, or the log and its complete archive (the
 * next run sees the archive has the log's exact content and only removes the log).
 *
 * A log another process holds open (by device and inode, src/util/holders.ts; a process that
 * cannot be looked at counts as holding it) is never removed from under it: it is left. At the
 * removal the log is renamed aside first, so that whoever opens it by name from then on makes
 * a new one, and removed only if then nobody holds it and it did not change; else it is put
 * back (a killed run's aside log is put back by the next).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { partRule } from '../config/select.js';
import { DbmError } from '../errors.js';
import { hasSqliteHeader } from '../db/open.js';
import { escapeRegExp } from '../util/format.js';
import { fsyncDir, TEMP_MARKER, tempPathFor } from '../util/fs-atomic.js';
import { hasExtension, nameRegExpFlags } from '../util/platform.js';
import { DAY_MS, fileStamp } from '../util/time.js';
import { describeHolders, fileId, heldOpen, holdersOf } from '../util/holders.js';
import { failAt } from '../maintenance/inject.js';
import { gzipFile } from './gzip.js';

/** How long to look for a moment when no process holds a log open (one that opens, writes and closes holds it for an instant). */
const HELD_WINDOW_MS = 200;
import { outcome, type RetentionOutcome, type RetentionRequest } from './types.js';

async function sha256OfFile(file: string, gunzip: boolean): Promise<string> {
  const hash = createHash('sha256');
  const input = fs.createReadStream(file);
  const stream = gunzip ? input.pipe(zlib.createGunzip()) : input;
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Candidate {
  readonly name: string;
  readonly file: string;
  readonly stat: fs.Stats;
}

interface ArchiveFile {
  readonly name: string;
  readonly stem: string;
  readonly stamp: string;
  readonly mtimeMs: number;
}

function listDir(dir: string): string[] | null {
  try {
    return fs.readdirSync(dir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR')
      throw new DbmError('FILE_NOT_REGULAR', `logs.dir ${dir} is not a directory`, {
        hint: 'fix logs.dir in the config',
      });
    throw new DbmError('FILE_UNREADABLE', `logs directory ${dir} cannot be read: ${code}`, {
      hint: 'check its permissions',
    });
  }
}

export async function rotateLogs(req: RetentionRequest): Promise<RetentionOutcome> {
  const cfg = partRule(req.brain, 'logs');
  const dir = path.resolve(req.brain.baseDir, cfg.dir);
  const days = req.days ?? cfg.rotateAfterDays;
  const cutoff = req.now.getTime() - days * DAY_MS;
  const names = listDir(dir);
  if (names === null) return outcome('skipped', `logs directory ${dir} does not exist; nothing to rotate`, 0);

  const removedStrays: string[] = [];
  const candidates: Candidate[] = [];
  const notes: string[] = [];
  // A log a killed run had set aside goes back under its name first (and is then a candidate like any other).
  const asides = req.dryRun ? [] : names.filter((n) => n.startsWith('.') && n.endsWith(ASIDE));
  for (const name of asides) {
    const original = path.join(dir, name.slice(1, -ASIDE.length));
    const how = putBack(path.join(dir, name), original);
    if (how !== 'left as it is') notes.push(`${path.basename(original)}, set aside by an interrupted run: ${how}`);
  }
  for (const name of asides.length ? (listDir(dir) ?? []) : names) {
    const file = path.join(dir, name);
    if (name.endsWith(ASIDE)) continue;
    if (name.startsWith('.') && name.includes(TEMP_MARKER) && name.includes('.gz')) {
      if (!req.dryRun) {
        fs.rmSync(file, { force: true });
        removedStrays.push(file);
      }
      continue;
    }
    if (!hasExtension(name, cfg.extension) || name.startsWith('.')) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue; // removed meanwhile
    }
    if (!st.isFile()) continue; // symlinks, directories, sockets: never touched
    if (st.mtimeMs >= cutoff) continue;
    if (hasSqliteHeader(file)) {
      // Whatever its name says, a database is never gzipped and removed as a log.
      notes.push(`${name} is an SQLite database, not a log: left as it is (logs.dir should hold only logs)`);
      continue;
    }
    candidates.push({ name, file, stat: st });
  }

  const files: string[] = [];
  const removed: string[] = [];
  let rotated = 0;
  let failed = 0;
  let bytesIn = 0;
  for (const [i, c] of candidates.entries()) {
    req.progress?.count('rotate-logs', i, candidates.length, 'files');
    const stem = c.name.slice(0, c.name.length - cfg.extension.length);
    const ext = c.name.slice(stem.length); // the log's own case (APP.LOG on Windows)
    const base = `${stem}-${fileStamp(c.stat.mtimeMs, 'dashed')}`;
    // A log a process holds open (a daemon's) is never removed from under it: its next lines would be lost.
    const held = await heldOpen(c.file, HELD_WINDOW_MS);
    if (held) {
      notes.push(
        `${c.name} is held open by ${describeHolders(held)}; ${req.dryRun ? 'would be left' : 'left'} as it is`,
      );
      continue;
    }
    if (req.dryRun) {
      files.push(path.join(dir, freeName(dir, base, ext)));
      removed.push(c.file);
      rotated++;
      continue;
    }
    const aside = path.join(dir, `.${c.name}${ASIDE}`);
    if (fs.existsSync(aside)) {
      // An earlier log of this name is still set aside (a new one was made beside it): never over it.
      notes.push(`${c.name} left as it is: ${path.basename(aside)}, an earlier ${c.name}, is still set aside`);
      continue;
    }
    // A run killed after linking the archive but before removing the log: same content, just remove the log.
    const done = await findExistingArchive(dir, base, ext, c.file);
    if (done) {
      const kept = setAsideAndRemove(c, aside);
      if (kept) {
        notes.push(`${c.name} ${kept}`);
        continue;
      }
      removed.push(c.file);
      notes.push(`${c.name} had been archived as ${done} by an interrupted run`);
      rotated++;
      continue;
    }
    const tmp = tempPathFor(path.join(dir, `${base}${ext}.gz`), { hidden: true });
    try {
      try {
        failAt(req.env, `log-compress:${c.name}`);
        bytesIn += await gzipFile(c.file, tmp, cfg.gzipLevel);
      } catch (err) {
        // One log that cannot be read (or compressed: a full disk) is left as it is; the others go on.
        const code = (err as NodeJS.ErrnoException).code;
        if (!code) throw err;
        fs.rmSync(tmp, { force: true });
        notes.push(`${c.name} could not be compressed (${code}); left as it is`);
        failed++;
        continue;
      }
      const after = fs.lstatSync(c.file);
      if (after.size !== c.stat.size || after.mtimeMs !== c.stat.mtimeMs || after.ino !== c.stat.ino) {
        fs.rmSync(tmp, { force: true });
        notes.push(`${c.name} was written to while being compressed; left as it is`);
        continue;
      }
      // Aside first: whoever opens the log by name from now on makes a new one; whoever still
      // holds it, or wrote to it since it was compressed, is seen before anything is removed.
      const kept = setAside(c, aside);
      if (kept) {
        fs.rmSync(tmp, { force: true });
        notes.push(`${c.name} ${kept}`);
        continue;
      }
      fs.utimesSync(tmp, c.stat.atime, c.stat.mtime); // the archive's age is the log's
      const final = linkNoClobber(tmp, dir, base, ext);
      fs.rmSync(tmp, { force: true });
      fsyncDir(dir);
      fs.rmSync(aside);
      fsyncDir(dir);
      files.push(final);
      removed.push(c.file);
      rotated++;
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  // Archive retention: by age, then by count per log name.
  const archiveRe = logArchivePattern(cfg.extension);
  const archives: ArchiveFile[] = [];
  for (const name of listDir(dir) ?? []) {
    const m = archiveRe.exec(name);
    if (!m) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(dir, name));
    } catch {
      continue;
    }
    if (st.isFile()) archives.push({ name, stem: m[1]!, stamp: m[2]!, mtimeMs: st.mtimeMs });
  }
  const expired = new Set<string>();
  const ageCutoff = req.now.getTime() - cfg.deleteArchivesAfterDays * DAY_MS;
  const writtenNow = new Set(files.map((f) => path.basename(f)));
  for (const a of archives) if (a.mtimeMs < ageCutoff && !writtenNow.has(a.name)) expired.add(a.name);
  const byStem = new Map<string, ArchiveFile[]>();
  for (const a of archives) byStem.set(a.stem, [...(byStem.get(a.stem) ?? []), a]);
  for (const list of byStem.values()) {
    // With --dry-run the archives this run would write count too.
    const pending = files.filter(
      (f) => archiveRe.exec(path.basename(f))?.[1] === list[0]!.stem && !fs.existsSync(f),
    ).length;
    const sorted = [...list].sort((a, b) => b.stamp.localeCompare(a.stamp) || b.name.localeCompare(a.name));
    for (const a of sorted.slice(Math.max(0, cfg.keepArchives - pending)))
      if (!writtenNow.has(a.name)) expired.add(a.name);
  }
  const deleted: string[] = [];
  for (const name of [...expired].sort()) {
    const file = path.join(dir, name);
    if (!req.dryRun) fs.rmSync(file, { force: true });
    deleted.push(file);
  }
  if (!req.dryRun && deleted.length) fsyncDir(dir);

  const verb = req.dryRun ? 'would rotate' : 'rotated';
  const msg =
    `${verb} ${rotated} log(s) not written for ${days} days` +
    (deleted.length ? `; ${req.dryRun ? 'would delete' : 'deleted'} ${deleted.length} old archive(s)` : '') +
    (removedStrays.length ? `; removed ${removedStrays.length} temp file(s) of an interrupted run` : '') +
    (notes.length ? `; ${notes.join('; ')}` : '');
  return outcome(failed > 0 ? 'partial' : 'ok', msg, rotated, {
    counts: { rotated, archivesDeleted: deleted.length, bytesCompressed: bytesIn },
    files,
    removed: [...removed, ...deleted],
    incomplete: failed > 0,
  });
}

/**
 * The names of rotated archives of logs with `extension`: `<stem>-<YYYYMMDD-HHMMSS>[-n]<ext>.gz`
 * (stem and stamp captured); in any case on Windows.
 */
export function logArchivePattern(extension: string, platform: NodeJS.Platform = process.platform): RegExp {
  return new RegExp(`^(.*)-(\\d{8}-\\d{6})(?:-\\d+)?${escapeRegExp(extension)}\\.gz$`, nameRegExpFlags(platform));
}

function nameFor(base: string, ext: string, i: number): string {
  return `${base}${i ? `-${i}` : ''}${ext}.gz`;
}

function freeName(dir: string, base: string, ext: string): string {
  for (let i = 0; ; i++) if (!fs.existsSync(path.join(dir, nameFor(base, ext, i)))) return nameFor(base, ext, i);
}

/** Gives `tmp` the first free archive name; link() never replaces an existing file. */
function linkNoClobber(tmp: string, dir: string, base: string, ext: string): string {
  for (let i = 0; ; i++) {
    const final = path.join(dir, nameFor(base, ext, i));
    try {
      fs.linkSync(tmp, final);
      return final;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** An archive of this log's exact content (left by a run killed before it removed the log), if any. */
async function findExistingArchive(dir: string, base: string, ext: string, log: string): Promise<string | null> {
  let logHash: string | null = null;
  for (let i = 0; ; i++) {
    const name = nameFor(base, ext, i);
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return null;
    logHash ??= await sha256OfFile(log, false);
    try {
      if ((await sha256OfFile(file, true)) === logHash) return name;
    } catch {
      // not a complete gzip: not ours
    }
  }
}

/** The suffix of a log set aside while it is removed (`.<name>.dbm-rotating`). */
const ASIDE = '.dbm-rotating';

/**
 * Renames the log aside (by link + unlink: never over anything) and looks at it there; returns
 * null when nobody holds it and it is as it was compressed, else puts it back and says why.
 */
function setAside(c: Candidate, aside: string): string | null {
  fs.linkSync(c.file, aside);
  fs.rmSync(c.file);
  const held = holdersOf(fileId(aside)!);
  const now = fs.lstatSync(aside);
  if (held.pids.length === 0 && !held.blind && now.size === c.stat.size && now.mtimeMs === c.stat.mtimeMs) return null;
  const why = held.pids.length > 0 || held.blind ? `was opened by ${describeHolders(held)}` : 'was written to';
  return `${why} while being rotated; ${putBack(aside, c.file)}`;
}

/** setAside, then the removal of the log (its archive exists already); null when removed. */
function setAsideAndRemove(c: Candidate, aside: string): string | null {
  const kept = setAside(c, aside);
  if (kept) return kept;
  fs.rmSync(aside);
  fsyncDir(path.dirname(aside));
  return null;
}

/** Puts a log set aside back under its name (never over a new log made meanwhile); says what happened. */
function putBack(aside: string, original: string): string {
  try {
    fs.linkSync(aside, original);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A run killed between the link and the unlink of an earlier put-back: the same file twice.
    const a = fs.lstatSync(aside);
    const o = fs.lstatSync(original);
    if (a.ino !== o.ino || a.dev !== o.dev) {
      return `a new ${path.basename(original)} was made meanwhile, so it stays as ${path.basename(aside)}`;
    }
  }
  fs.rmSync(aside);
  fsyncDir(path.dirname(original));
  return 'left as it is';
}
