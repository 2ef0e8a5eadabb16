/**
 * The tool's own directory (stateDir: the state database, the run lock, the backups) is never
 * more open than the brain it keeps: created 0700, with read and search for the group (or
 * others) only when every database and its directory grant them read. Existing directories are
 * left as they are.
 */
import path from 'node:path';
import type { Brain } from '../config/load.js';
import { DbmError } from '../errors.js';
import { mkdirLike, originOf } from '../util/ownership.js';

export function ensureStateDir(brain: Brain): void {
  let readable = 0o044; // group and others, as far as every source allows
  for (const d of brain.databases) {
    readable &= (originOf(d.path)?.mode ?? 0) & (originOf(path.dirname(d.path))?.mode ?? 0);
  }
  const mode = readable | (readable & 0o040 ? 0o010 : 0) | (readable & 0o004 ? 0o001 : 0); // r -> r-x
  try {
    mkdirLike(brain.stateDir, { mode: 0o700 | mode, uid: 0, gid: 0 }, { owner: false });
  } catch (err) {
    throw stateDirError(brain.stateDir, err);
  }
}

/** stateDir cannot be made or written by this user: exit 3, with who may. */
export function stateDirError(dir: string, err: unknown): DbmError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new DbmError('STATE_DB', `stateDir ${dir} cannot be created: ${code}`, {
    hint:
      code === 'EACCES' || code === 'EPERM'
        ? `run db-maintenance as the user that owns the brain (uid ${process.getuid?.() ?? '?'} may not write there), or set stateDir to a directory this user may write`
        : 'check stateDir in the config',
  });
}
