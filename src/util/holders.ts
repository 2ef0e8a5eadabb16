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
  /** Other processes with a descriptor open for writing on the file (this process is never listed; readers are not). */
  readonly pids: readonly number[];
  /** Of those, the ones that write at their own offsets (no O_APPEND): a file they hold must not shift under them. */
  readonly nonAppending: readonly number[];
  /** Some processes (or all: no /proc, another PID namespace, hidepid) could not be looked at, so the file may be held by one of them. */
  readonly blind: boolean;
}

/** The inode of the initial PID namespace (PROC_PID_INIT_INO): outside it, /proc shows only part of the system. */
const INITIAL_PID_NS = 'pid:[4026531836]';

let partialView: boolean | undefined;
/** Whether this process's /proc cannot show every process: another PID namespace (a container), or /proc mounted with hidepid/subset=pid. */
function seesPartOnly(): boolean {
  if (partialView !== undefined) return partialView;
  try {
    if (fs.readlinkSync('/proc/self/ns/pid') !== INITIAL_PID_NS) return (partialView = true);
    const proc = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4] === '/proc');
    const hides = proc.some((l) => /(?:^|[ ,])(?:hidepid=(?:1|2|invisible|noaccess)|subset=pid)(?:[ ,]|$)/.test(l));
    return (partialView = hides && process.getuid?.() !== 0);
  } catch {
    return (partialView = true);
  }
}

/** The open flags of a descriptor (from /proc/PID/fdinfo), or null when they cannot be read. */
function fdFlags(pid: string, fd: string): number | null {
  try {
    const m = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return m ? parseInt(m[1]!, 8) : null;
  } catch {
    return null;
  }
}

const O_ACCMODE = 0o3;
const O_APPEND = 0o2000;

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
    return { pids: [], nonAppending: [], blind: true };
  }
  const out: number[] = [];
  const nonAppending: number[] = [];
  let blind = seesPartOnly();
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
          const flags = fdFlags(pid, fd); // unknown: as a writer at its own offsets
          if (flags !== null && (flags & O_ACCMODE) === 0) continue; // a reader writes nothing
          out.push(Number(pid));
          if (flags === null || (flags & O_APPEND) === 0) nonAppending.push(Number(pid));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return { pids: out, nonAppending, blind };
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
