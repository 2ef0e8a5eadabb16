/**
 * Free-space preflight: refuse cleanly before starting rather than fail midway.
 * A backup needs the database's size where backups go; VACUUM needs up to 2x the database
 * next to it (the new pages pass through the WAL or rollback journal) and up to 1x in SQLite's
 * temp directory (the temporary copy it builds).
 */
import fs from 'node:fs';
import os from 'node:os';
import { DbmError } from '../errors.js';
import { bytes } from '../util/format.js';
import { existingAncestor } from '../util/fs-atomic.js';

/** Free bytes available to us on the file system holding `dir`. Injectable for tests. */
export type FreeSpaceProbe = (dir: string) => { free: number; device: string };

export const statfsProbe: FreeSpaceProbe = (dir) => {
  const st = fs.statfsSync(dir);
  return { free: Number(st.bavail) * Number(st.bsize), device: String(fs.statSync(dir).dev) };
};

/**
 * The directory SQLite puts temp files in: the unix VFS's order (SQLITE_TMPDIR, TMPDIR,
 * /var/tmp, /usr/tmp, /tmp), or on Windows GetTempPath's (TMP, TEMP, USERPROFILE), which the
 * win32 VFS asks; the first that is a writable directory.
 */
export function sqliteTempDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  const candidates =
    platform === 'win32'
      ? [env['TMP'], env['TEMP'], env['USERPROFILE']]
      : [env['SQLITE_TMPDIR'], env['TMPDIR'], '/var/tmp', '/usr/tmp', '/tmp'];
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

const MARGIN = 16 * 1024 * 1024;

/**
 * What maintaining one database needs: its backup's size where backups go (unless this run has
 * its backup already), and, for an operation that rewrites it (VACUUM), 2x next to it and 1x in
 * SQLite's temp directory.
 */
export function spaceNeeds(o: {
  dbBytes: number;
  backupDir: string;
  databaseDir: string;
  needsBackup: boolean;
  rewrites: boolean;
  env: NodeJS.ProcessEnv;
}): SpaceNeed[] {
  const needs: SpaceNeed[] = [];
  if (o.needsBackup) needs.push({ dir: o.backupDir, bytes: o.dbBytes, what: 'backup' });
  if (o.rewrites) {
    needs.push({ dir: o.databaseDir, bytes: 2 * o.dbBytes, what: 'VACUUM journal' });
    needs.push({ dir: sqliteTempDir(o.env), bytes: o.dbBytes, what: 'VACUUM temp copy' });
  }
  return needs;
}

/** Throws NO_SPACE (nothing changed) when the needs, summed per file system, exceed the free space. */
export function checkFreeSpace(needs: readonly SpaceNeed[], probe: FreeSpaceProbe, margin = MARGIN): void {
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
      throw new DbmError(
        'NO_SPACE',
        `not enough free space in ${e.dir}: needs ${bytes(e.need + margin)} (${e.what.join(' + ')} + ${bytes(margin)} margin), ${bytes(e.free)} free; nothing was changed`,
        {
          hint: 'free some space, or point stateDir / SQLITE_TMPDIR (TMP on Windows) at a larger file system',
        },
      );
    }
  }
}

/** Bytes promised per file system (device). */
export type Reservation = ReadonlyMap<string, number>;

/**
 * The space promised to maintenance already running (databases maintained in parallel): new
 * work starts only when its needs fit in what is free minus what is promised, so two VACUUMs
 * that each fit alone cannot together fill the disk. Each task still runs its own preflight.
 */
export class SpaceLedger {
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly probe: FreeSpaceProbe,
    private readonly margin = MARGIN,
  ) {}

  /** Reserves `needs` when they fit beside what is reserved already; null when they do not. */
  tryReserve(needs: readonly SpaceNeed[]): Reservation | null {
    const afterReserved: FreeSpaceProbe = (dir) => {
      const p = this.probe(dir);
      return { free: p.free - (this.reserved.get(p.device) ?? 0), device: p.device };
    };
    try {
      checkFreeSpace(needs, afterReserved, this.margin);
    } catch (err) {
      if (err instanceof DbmError && err.code === 'NO_SPACE') return null;
      throw err;
    }
    const r = new Map<string, number>();
    for (const n of needs) {
      const { device } = this.probe(existingAncestor(n.dir));
      r.set(device, (r.get(device) ?? 0) + n.bytes);
    }
    for (const [device, b] of r) this.reserved.set(device, (this.reserved.get(device) ?? 0) + b);
    return r;
  }

  release(r: Reservation): void {
    for (const [device, b] of r) this.reserved.set(device, (this.reserved.get(device) ?? 0) - b);
  }

  /** Bytes reserved on `device` now. */
  reservedOn(device: string): number {
    return this.reserved.get(device) ?? 0;
  }
}
