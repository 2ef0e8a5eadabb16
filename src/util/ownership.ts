/**
 * Files the tool creates are never more permissive than the file they come from, and inside
 * the brain they keep its owner and group when the tool runs as root (a root cron job must not
 * take an archive or a log away from the application that owns the brain).
 *
 *   a file made from X        X's permission bits (no execute, setuid or sticky bits)
 *   a directory made for X    0700, plus the group/other bits of X's directory if it is looser
 *   owner and group           X's, when running as root (otherwise they are ours, as is X's
 *                             when we could write beside it)
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Origin {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** The permissions and owner of `file` (following links), or null when it cannot be looked at. */
export function originOf(file: string): Origin | null {
  try {
    const st = fs.statSync(file);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    return null;
  }
}

/** The narrower of two origins' permissions (the owner of the first): for a file made from several. */
export function narrowest(a: Origin, b: Origin | null): Origin {
  return b ? { ...a, mode: a.mode & b.mode } : a;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Gives the file behind `fd`, just created by this process, the permission bits of `origin`
 * and, as root, its owner and group (before anything is written to it). Not root, it takes the
 * group when this process is in it; where the group still differs, the group bits go (they
 * would grant another group what the source does not).
 */
export function fdLikeOrigin(fd: number, origin: Origin, opts: { owner?: boolean } = {}): void {
  let mode = origin.mode & 0o666;
  if (opts.owner !== false && isRoot()) fs.fchownSync(fd, origin.uid, origin.gid);
  else {
    try {
      fs.fchownSync(fd, -1, origin.gid);
    } catch {
      // not a group of ours
    }
    if (fs.fstatSync(fd).gid !== origin.gid) mode &= ~0o070;
  }
  fs.fchmodSync(fd, mode);
}

/** Whether this process can make a file that has `st`'s owner and group (root, or its owner in its group). */
export function canRecreate(st: { uid: number; gid: number }): boolean {
  if (isRoot()) return true;
  return (
    st.uid === process.getuid?.() && (st.gid === process.getgid?.() || (process.getgroups?.() ?? []).includes(st.gid))
  );
}

/**
 * Narrows `file`, just created in the tool's own directory `dir`, to what that directory lets
 * others do (a 0700 state directory: 0600 files), so that it stays private if it is ever moved.
 */
export function narrowToDir(file: string, dir: string): void {
  const d = originOf(dir);
  const f = originOf(file);
  if (d && f) fs.chmodSync(file, f.mode & 0o666 & (0o600 | (d.mode & 0o066)));
}

/** The mode for a new directory holding what comes from `origin`'s directory: 0700, or looser as that directory is. */
export function dirModeFor(originDir: Origin | null): number {
  return 0o700 | ((originDir?.mode ?? 0) & 0o077);
}

/**
 * Creates `dir` (and missing parents) for files that come from `originDir`'s contents; every
 * directory it creates gets dirModeFor(originDir) and, as root, the owner of `originDir`
 * when `owner` (inside the brain). Existing directories are left as they are.
 */
export function mkdirLike(dir: string, originDir: Origin | null, opts: { owner?: boolean } = {}): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  const mode = dirModeFor(originDir);
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      continue;
    }
    fs.chmodSync(d, mode); // the umask narrowed it
    if (opts.owner !== false && originDir && isRoot()) fs.chownSync(d, originDir.uid, originDir.gid);
  }
}
