import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from './process.js';
import { renameRetrying } from './platform.js';

/** What every temp file the tool writes has in its name, so that a later run finds what a killed one left. */
export const TEMP_MARKER = '.tmp-';

/**
 * The temp file this process writes before renaming it over `target`: `<target>.tmp-<pid>`
 * beside it, or hidden, `.<name>.tmp-<pid>`, where other programs list the directory.
 */
export function tempPathFor(target: string, opts: { hidden?: boolean } = {}): string {
  if (!opts.hidden) return `${target}${TEMP_MARKER}${process.pid}`;
  return path.join(path.dirname(target), `.${path.basename(target)}${TEMP_MARKER}${process.pid}`);
}

/**
 * Write a file by temp file + fsync + rename, then fsync the directory. Never in place. The
 * temp files of earlier writers of `target` that were killed before their rename (their
 * process is gone) are removed first; a live writer's is left alone.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const dir = path.dirname(target);
  const tmp = writeTemp(target, data, 0o644);
  try {
    renameRetrying(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/**
 * Creates `target`, which must not exist, atomically: temp file (given to `prepare` before
 * anything is written: its mode and owner), fsync, then a hard link to `target`, which fails
 * with EEXIST rather than replace a file that appeared meanwhile; where the file system has no
 * hard links, a rename after one more look. The directory is fsynced.
 */
export function writeNewFileAtomic(target: string, data: string | Uint8Array, prepare?: (fd: number) => void): void {
  const tmp = writeTemp(target, data, 0o600, prepare);
  try {
    try {
      fs.linkSync(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
      if (fs.existsSync(target)) throw Object.assign(new Error(`${target} exists`), { code: 'EEXIST' });
      renameRetrying(tmp, target);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(path.dirname(target));
}

/** `target`'s temp file, written and fsynced (`prepare` sets its mode and owner first); removed again if that fails. */
function writeTemp(target: string, data: string | Uint8Array, mode: number, prepare?: (fd: number) => void): string {
  const tmp = tempPathFor(target, { hidden: true });
  removeDeadWritersTemps(target);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    prepare?.(fd);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return tmp;
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The nearest existing directory at or above `p` (where a directory yet to be created will be). */
export function existingAncestor(p: string): string {
  let d = path.resolve(p);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/** Removes `.<name>.tmp-<pid>` files beside `target` whose process is gone (or is this one: a file it left when it was killed, its id reused). */
function removeDeadWritersTemps(target: string): void {
  const prefix = `.${path.basename(target)}${TEMP_MARKER}`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(target));
  } catch {
    return; // the write itself reports a missing directory
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (pid === process.pid || !processAlive(pid)) fs.rmSync(path.join(path.dirname(target), n), { force: true });
  }
}
