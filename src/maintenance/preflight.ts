/**
 * Free-space preflight: refuse cleanly before starting rather than fail midway.
 * A backup needs the database's size where backups go; VACUUM needs up to 2x the database
 * next to it (the new pages pass through the WAL or rollback journal) and up to 1x in SQLite's
 * temp directory (the temporary copy it builds).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DbmError } from '../errors.js';
import { bytes } from '../util/format.js';

/** Free bytes available to us on the file system holding `dir`. Injectable for tests. */
export type FreeSpaceProbe = (dir: string) => { free: number; device: string };

export const statfsProbe: FreeSpaceProbe = (dir) => {
  const st = fs.statfsSync(dir);
  return { free: Number(st.bavail) * Number(st.bsize), device: String(fs.statSync(dir).dev) };
};

/** The directory SQLite puts temp files in (the unix VFS order). */
export function sqliteTempDir(env: NodeJS.ProcessEnv): string {
  const candidates = [env['SQLITE_TMPDIR'], env['TMPDIR'], '/var/tmp', '/usr/tmp', '/tmp'];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (fs.statSync(c).isDirectory()) {
        fs.accessSync(c, fs.constants.W_OK | fs.constants.X_OK);
        return c;
      }
    } catch {
      // not usable, try the next
    }
  }
  return os.tmpdir();
}

export interface SpaceNeed {
  readonly dir: string;
  readonly bytes: number;
  readonly what: string;
}

/** Throws NO_SPACE (nothing changed) when the needs, summed per file system, exceed the free space. */
export function checkFreeSpace(needs: readonly SpaceNeed[], probe: FreeSpaceProbe, margin = 16 * 1024 * 1024): void {
  const byDevice = new Map<string, { free: number; dir: string; need: number; what: string[] }>();
  for (const n of needs) {
    const dir = existingAncestor(n.dir);
    const { free, device } = probe(dir);
    const entry = byDevice.get(device) ?? { free, dir, need: 0, what: [] };
    entry.need += n.bytes;
    entry.what.push(`${n.what} ${bytes(n.bytes)}`);
    byDevice.set(device, entry);
  }
  for (const e of byDevice.values()) {
    if (e.need + margin > e.free) {
      throw new DbmError('NO_SPACE', `not enough free space in ${e.dir}: needs ${bytes(e.need + margin)} (${e.what.join(' + ')} + ${bytes(margin)} margin), ${bytes(e.free)} free; nothing was changed`, {
        hint: 'free some space, or point stateDir / SQLITE_TMPDIR at a larger file system',
      });
    }
  }
}

function existingAncestor(dir: string): string {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}
