/**
 * Which processes hold a file open, decided by the file's device and inode (what a descriptor
 * refers to), never by its name: a descriptor opened as `events.jsonl` still refers to the same
 * inode after a rename, and its /proc link then reads `... (deleted)` or the new name.
 *
 * Linux only (/proc/PID/fd). Where a process's descriptors cannot be looked at (another user's,
 * without root) or there is no /proc, the answer says so (`blind`): callers count that as held.
 */
import fs from 'node:fs';

export interface FileId {
  readonly dev: bigint;
  readonly ino: bigint;
}

export interface Holders {
  /** Other processes with a descriptor on the file (this process is never listed). */
  readonly pids: readonly number[];
  /** Some processes (or all: no /proc) could not be looked at, so the file may be held by one of them. */
  readonly blind: boolean;
}

/** The device and inode of `file` (following links), or null when it does not exist. */
export function fileId(file: string): FileId | null {
  try {
    const st = fs.statSync(file, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** The processes holding the inode `id` open, from /proc. */
export function holdersOf(id: FileId): Holders {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return { pids: [], blind: true };
  }
  const out: number[] = [];
  let blind = false;
  for (const pid of pids) {
    if (pid === String(process.pid)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') blind = true; // not ours to look at
      continue;
    }
    for (const fd of fds) {
      const link = `/proc/${pid}/fd/${fd}`;
      try {
        if (!fs.readlinkSync(link).startsWith('/')) continue; // a socket, pipe or anonymous inode
        const st = fs.statSync(link, { bigint: true }); // the inode the descriptor refers to, deleted or not
        if (st.ino === id.ino && st.dev === id.dev) {
          out.push(Number(pid));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return { pids: out, blind };
}

/** "pid 123 (python3), pid 456 (node)": who holds a file, for messages. */
export function describeHolders(h: Holders): string {
  const named = h.pids.map((pid) => {
    try {
      return `pid ${pid} (${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()})`;
    } catch {
      return `pid ${pid}`;
    }
  });
  if (h.blind)
    named.push(
      fs.existsSync('/proc')
        ? 'perhaps processes of other users (their descriptors cannot be looked at without root)'
        : 'perhaps other processes (no /proc here to look at descriptors)',
    );
  return named.join(', ');
}

/** How often to look at who holds a file while waiting. */
const LOOK_EVERY_MS = 10;

/**
 * Looks for a moment when no other process holds `file` open, for up to `windowMs` (appenders
 * that open, append and close hold it only for an instant). Returns null at such a moment, or
 * who held it at the last look (blind: some processes could not be looked at, which counts as
 * held).
 */
export async function heldOpen(file: string, windowMs: number): Promise<Holders | null> {
  const id = fileId(file);
  if (!id) return null;
  const deadline = Date.now() + windowMs;
  for (;;) {
    const h = holdersOf(id);
    if (h.pids.length === 0 && !h.blind) return null;
    if (Date.now() >= deadline) return h;
    await new Promise((r) => setTimeout(r, LOOK_EVERY_MS));
  }
}
