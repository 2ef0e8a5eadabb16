/**
 * Files the application keeps writing, with real appender processes of each kind
 * (test/fixtures/appender.mjs): a descriptor held for the process's life, the same with every
 * line in two writes, open-append-close per line, and a process of another user (setpriv).
 * Afterwards every line is counted across the live file and every archive (gzip -dc): none
 * lost, none twice, none torn. Then held-open logs, file modes and owners, and timestamps a
 * Date cannot hold.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NOW, ROOT, cli, nobodyCanRunTheTool, writeConfig } from './helpers.js';
import { allEventLines, miniBrain, type MiniBrain } from './retention-helpers.js';

const APPENDER = path.join(ROOT, 'test', 'fixtures', 'appender.mjs');
const DAY = 86_400_000;
const SEED_LINES = 3000;
const isRoot = process.getuid?.() === 0;
// uid 65534 must also reach this checkout (a clone under a 0700 directory is out of its reach).
const canSetpriv = nobodyCanRunTheTool();
const NOBODY = 65534;

/**
 * A brain whose events.jsonl holds SEED_LINES lines 40 to 10 days old (compressAfterDays 7: all
 * of them move), each `width` bytes long with its newline when given: 128 puts a line boundary
 * on every 4096-byte block boundary, 127 on none in the first 520 KB.
 */
function eventsBrain(config: Record<string, unknown> = {}, width?: number): MiniBrain {
  const b = miniBrain({ started: [], config });
  const lines = Array.from({ length: SEED_LINES }, (_, i) => {
    const e = {
      timestamp: new Date(NOW.getTime() - (40 - (30 * i) / SEED_LINES) * DAY).toISOString(),
      who: 'seed',
      seq: i,
    };
    const bare = JSON.stringify({ ...e, pad: '' });
    return width === undefined ? JSON.stringify(e) : JSON.stringify({ ...e, pad: 'x'.repeat(width - 1 - bare.length) });
  });
  fs.writeFileSync(b.events, `${lines.join('\n')}\n`);
  return b;
}

interface Appender {
  readonly child: ChildProcess;
  /** Stops it (SIGTERM: it finishes its line and closes) and returns how many lines it wrote. */
  stop(): Promise<number>;
}

async function startAppender(
  file: string,
  kind: 'held' | 'held-split' | 'per-line',
  who: string,
  asUid?: number,
): Promise<Appender> {
  const argv = [APPENDER, file, kind, who];
  const child =
    asUid === undefined
      ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('setpriv', [`--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', process.execPath, ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += String(d);
      if (err.includes('ready')) resolve();
    });
    child.on('close', (code) => reject(new Error(`appender ended early (${code}): ${err}`)));
  });
  await new Promise((r) => setTimeout(r, 100)); // some lines before the run
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return (JSON.parse(out.trim()) as { written: number }).written;
    },
  };
}

/** Every line of the live file and the archives, each a whole JSON object, each (who, seq) exactly once. */
function expectEveryLineOnce(dir: string, expected: Readonly<Record<string, number>>): void {
  const lines = allEventLines(dir);
  const seen = new Map<string, Set<number>>();
  for (const line of lines) {
    let e: { who: string; seq: number };
    try {
      e = JSON.parse(line) as { who: string; seq: number };
    } catch {
      throw new Error(`a torn or malformed line: ${JSON.stringify(line.slice(0, 120))}`);
    }
    const s = seen.get(e.who) ?? new Set<number>();
    expect(s.has(e.seq), `${e.who} line ${e.seq} found twice`).toBe(false);
    s.add(e.seq);
    seen.set(e.who, s);
  }
  for (const [who, n] of Object.entries(expected)) {
    const s = seen.get(who) ?? new Set<number>();
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !s.has(i));
    expect(
      missing.length,
      `${who}: ${missing.length} of ${n} lines lost (first ${missing.slice(0, 5).join(', ')})`,
    ).toBe(0);
    expect(s.size, `${who}: lines that were never written`).toBe(n);
  }
  expect(lines).toHaveLength(Object.values(expected).reduce((a, n) => a + n, 0));
}

/** The mini brain's config with events.afterSwapCommand sending SIGHUP (the appender then reopens) to `pid`. */
function withReopenHook(b: MiniBrain, pid: number): void {
  writeConfig(b.dir, {
    databases: { tier1: { path: 'tier1.db' }, tier2: { path: 'tier2.db' } },
    conversations: { database: 'tier1' },
    patterns: { database: 'tier2' },
    events: { path: 'events.jsonl', afterSwapCommand: `kill -HUP ${pid}` },
    logs: { dir: 'logs' },
  });
}

/** The real CLI as uid 65534 (setpriv), clock pinned. */
function cliAsNobody(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      path.join(ROOT, 'bin', 'db-maintenance.js'),
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, DB_MAINTENANCE_NOW: NOW.toISOString() } },
  );
}

const archives = (dir: string): string[] =>
  fs.readdirSync(dir).filter((n) => /^events_archive_\d{6}\.jsonl\.gz$/.test(n));

interface Item {
  readonly type: string;
  readonly status: string;
  readonly rowsAffected: number;
  readonly message: string;
}
const itemOf = (stdout: string, type: string): Item =>
  (JSON.parse(stdout) as { items: Item[] }).items.find((i) => i.type === type)!;

describe('events.jsonl while the application appends', () => {
  it('open-append-close per line: compressed, every line exactly once', async () => {
    const b = eventsBrain();
    const app = await startAppender(b.events, 'per-line', 'app');
    const r = cli(['--config', b.config, '--compress-events', '--json']);
    const written = await app.stop();
    expect(r.status, r.stderr).toBe(0);
    expect(itemOf(r.stdout, 'COMPRESS_EVENTS')).toMatchObject({ status: 'ok', rowsAffected: SEED_LINES });
    expect(archives(b.dir).length).toBeGreaterThan(0);
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, app: written });
  });

  it('a descriptor held for its whole life: its head is removed in place (the inode kept), up to a block-aligned line boundary', async () => {
    const b = eventsBrain({}, 128);
    const ino = fs.statSync(b.events).ino;
    const app = await startAppender(b.events, 'held', 'app');
    const r = cli(['--config', b.config, '--compress-events', '--json']);
    await new Promise((res) => setTimeout(res, 200)); // it keeps writing after the run
    const written = await app.stop();
    expect(r.status, r.stderr).toBe(0);
    const item = itemOf(r.stdout, 'COMPRESS_EVENTS');
    expect(item.status, item.message).toBe('ok');
    expect(item.rowsAffected).toBe(Math.floor(SEED_LINES / 32) * 32); // whole 4096-byte blocks of 128-byte lines
    expect(item.message).toMatch(new RegExp(`in place: it is held open by pid ${app.child.pid}`));
    expect(fs.statSync(b.events).ino).toBe(ino);
    expect(archives(b.dir).length).toBeGreaterThan(0);
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, app: written });
  });

  it('a descriptor held for its whole life, no line boundary on a block boundary: left as it is, saying who holds it, nothing lost', async () => {
    const b = eventsBrain({}, 127);
    const app = await startAppender(b.events, 'held', 'app');
    const r = cli(['--config', b.config, '--compress-events', '--json']);
    await new Promise((res) => setTimeout(res, 200)); // it keeps writing after the run
    const written = await app.stop();
    expect(r.status, r.stderr).toBe(0);
    const item = itemOf(r.stdout, 'COMPRESS_EVENTS');
    expect(item.status).toBe('skipped');
    expect(item.message).toMatch(new RegExp(`held open by pid ${app.child.pid}`));
    expect(r.stderr).toMatch(/^warning: COMPRESS_EVENTS skipped: not compressed: .* is held open by pid \d+/m);
    expect(archives(b.dir)).toEqual([]);
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, app: written });
  });

  it('a held descriptor with lines in two writes, and events.afterSwapCommand to reopen: --enforce-retention compresses, nothing lost or torn', async () => {
    const b = eventsBrain();
    const app = await startAppender(b.events, 'held-split', 'app');
    withReopenHook(b, app.child.pid!);
    const r = cli(['--config', b.config, '--enforce-retention', '--json']);
    await new Promise((res) => setTimeout(res, 200));
    const written = await app.stop();
    expect(r.status, r.stderr).toBe(0);
    const item = itemOf(r.stdout, 'COMPRESS_EVENTS');
    expect(item).toMatchObject({ status: 'ok', rowsAffected: SEED_LINES });
    expect(item.message).toMatch(/events.afterSwapCommand ran/);
    expect(fs.existsSync(`${b.events}.dbm-old`), 'the previous file was released and removed').toBe(false);
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, app: written });
  });

  it.skipIf(!canSetpriv)('a held descriptor of another user (uid 65534): left as it is, nothing lost', async () => {
    const b = eventsBrain({}, 127);
    fs.chmodSync(path.dirname(b.dir), 0o755);
    fs.chmodSync(b.dir, 0o755);
    fs.chownSync(b.events, NOBODY, NOBODY);
    const app = await startAppender(b.events, 'held', 'other', NOBODY);
    const r = cli(['--config', b.config, '--compress-events', '--json']);
    const written = await app.stop();
    expect(r.status, r.stderr).toBe(0);
    expect(itemOf(r.stdout, 'COMPRESS_EVENTS')).toMatchObject({ status: 'skipped' });
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, other: written });
    // Looked at by a user who cannot see the other user's descriptors: "cannot tell" is "held".
    const asNobody = cliAsNobody(['--config', b.config, '--compress-events', '--dry-run', '--json']);
    expect(asNobody.status, asNobody.stderr).toBe(0);
    expect(itemOf(asNobody.stdout, 'COMPRESS_EVENTS').message).toMatch(
      /held open by .*perhaps processes of other users.*a run now would remove its old head in place/,
    );
  });

  it('a line whose timestamp a Date cannot hold (Go zero time in ns) is a malformed line: kept, counted, no crash', () => {
    const b = eventsBrain();
    fs.appendFileSync(
      b.events,
      '{"timestamp":-6795364578871345152,"who":"go","seq":0}\n{"timestamp":"275760-09-14T00:00:00Z","who":"go","seq":1}\n',
    );
    const r = cli(['--config', b.config, '--compress-events', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const item = itemOf(r.stdout, 'COMPRESS_EVENTS') as Item & { counts: Record<string, number> };
    expect(item).toMatchObject({ status: 'ok', rowsAffected: SEED_LINES });
    expect(item.counts['malformed']).toBe(2); // the year 275760 is not a 4-digit ISO year either
    expect(fs.readFileSync(b.events, 'utf8')).toContain('-6795364578871345152');
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, go: 2 });
  });
});

describe('logs a process holds open', () => {
  it('a daemon holding its log: --rotate-logs leaves it (naming the pid) and every later line is kept', async () => {
    const b = eventsBrain();
    const log = path.join(b.logs, 'daemon.log');
    fs.writeFileSync(log, 'line 0\n');
    const daemon = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(log)},'a');let n=1;process.stdin.on('data',()=>{fs.writeSync(fd,'line '+(n++)+'\\n');process.stdout.write('ok\\n')});`,
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    await new Promise((r) => setTimeout(r, 300));
    const old = new Date(NOW.getTime() - 200 * DAY);
    fs.utimesSync(log, old, old);
    const other = path.join(b.logs, 'old.log');
    fs.writeFileSync(other, 'nobody holds me\n');
    fs.utimesSync(other, old, old);
    try {
      const r = cli(['--config', b.config, '--rotate-logs', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const item = itemOf(r.stdout, 'ROTATE_LOGS');
      expect(item.rowsAffected).toBe(1); // old.log only
      expect(item.message).toMatch(new RegExp(`daemon.log is held open by pid ${daemon.pid}`));
      expect(fs.existsSync(other)).toBe(false);
      for (let i = 0; i < 3; i++) {
        daemon.stdin!.write('x');
        await new Promise<void>((resolve) => daemon.stdout!.once('data', () => resolve()));
      }
      expect(fs.readFileSync(log, 'utf8')).toBe('line 0\nline 1\nline 2\nline 3\n');
    } finally {
      daemon.kill();
    }
  });
});

const mode = (f: string): number => fs.statSync(f).mode & 0o777;

/** Every file and directory below `dir` (the tool's state included). */
function walk(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f));
}

describe('owners and modes of what the tool creates', () => {
  function privateBrain(): MiniBrain {
    const b = miniBrain({
      started: Array.from({ length: 40 }, (_, i) => new Date(NOW.getTime() - (100 - i) * DAY).toISOString()),
      config: { conversations: { database: 'tier1', keepNewest: 5 } },
    });
    const lines = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ timestamp: new Date(NOW.getTime() - (60 - i) * DAY).toISOString(), seq: i }),
    );
    fs.writeFileSync(b.events, `${lines.join('\n')}\n`);
    const log = path.join(b.logs, 'old.log');
    fs.writeFileSync(log, 'old\n');
    const old = new Date(NOW.getTime() - 200 * DAY);
    fs.utimesSync(log, old, old);
    for (const f of [b.tier1, b.tier2, b.events, log]) fs.chmodSync(f, 0o600);
    return b;
  }

  it('0600 sources: backups, archive databases, event archives, the new live file, rotated logs and the state are never more permissive', () => {
    const b = privateBrain();
    const before = new Set(walk(b.dir));
    const vac = cli(['--config', b.config, '--vacuum', '--db', 'tier1']);
    expect(vac.status, vac.stderr).toBe(0);
    const ret = cli(['--config', b.config, '--enforce-retention', '--json']);
    expect(ret.status, ret.stderr).toBe(0);
    const created = walk(b.dir).filter((f) => !before.has(f));
    // What must have been created for this to mean anything:
    expect(created.map((c) => path.basename(c))).toContain('conversation_archive.db');
    expect(created.some((f) => /events_archive_\d{6}\.jsonl\.gz$/.test(f))).toBe(true);
    expect(created.some((f) => /old-\d{8}-\d{6}\.log\.gz$/.test(f))).toBe(true);
    expect(created.some((f) => f.includes(`${path.sep}backups${path.sep}`) && f.endsWith('.db'))).toBe(true);
    for (const f of [...created, b.events]) {
      const st = fs.statSync(f);
      if (st.isDirectory()) expect(mode(f), `${path.relative(b.dir, f)} (directory)`).toBe(0o700);
      else expect(mode(f) & 0o077, `${path.relative(b.dir, f)} is ${mode(f).toString(8)}`).toBe(0);
    }
  });

  it.skipIf(!isRoot)(
    "run as root on a brain owned by uid 65534: what it creates inside the brain stays the owner's",
    () => {
      const b = privateBrain();
      for (const f of [b.dir, ...walk(b.dir)]) fs.chownSync(f, NOBODY, NOBODY);
      const before = new Set(walk(b.dir));
      const ret = cli(['--config', b.config, '--enforce-retention', '--json']);
      expect(ret.status, ret.stderr).toBe(0);
      const state = path.join(b.dir, '.db-maintenance');
      const created = walk(b.dir).filter((f) => !before.has(f) && !f.startsWith(state));
      expect(created.length).toBeGreaterThan(3);
      for (const f of [...created, b.events]) {
        const st = fs.statSync(f);
        expect(`${path.relative(b.dir, f)} ${st.uid}:${st.gid}`).toBe(`${path.relative(b.dir, f)} ${NOBODY}:${NOBODY}`);
      }
    },
  );
});

describe('in-place compression killed at its commit point and after its collapse', () => {
  for (const point of ['inplace-journal', 'inplace-collapsed']) {
    it(`SIGKILL at ${point}, then a re-run: every line exactly once`, async () => {
      const b = eventsBrain({}, 128);
      const app = await startAppender(b.events, 'held', 'app');
      const killed = cli(['--config', b.config, '--compress-events'], {
        env: { DB_MAINTENANCE_INJECT: `kill-at:${point}` },
      });
      expect(killed.status).toBe(-1); // killed by the signal
      expect(fs.existsSync(`${b.events}.dbm-journal`)).toBe(true);
      const again = cli(['--config', b.config, '--compress-events', '--json']);
      const written = await app.stop();
      expect(again.status, again.stderr).toBe(0);
      expect(fs.existsSync(`${b.events}.dbm-journal`)).toBe(false);
      expectEveryLineOnce(b.dir, { seed: SEED_LINES, app: written });
      expect(fs.readdirSync(b.dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    });
  }
});

describe('a swap killed before its afterSwapCommand ran', () => {
  it('the next run runs the hook, the application reopens, the previous file is released: every line once', async () => {
    const b = eventsBrain();
    const app = await startAppender(b.events, 'held', 'app');
    withReopenHook(b, app.child.pid!);
    const killed = cli(['--config', b.config, '--compress-events'], {
      env: { DB_MAINTENANCE_INJECT: 'kill-at:swap-renamed' },
    });
    expect(killed.status).toBe(-1);
    expect(fs.existsSync(`${b.events}.dbm-old`)).toBe(true);
    const again = cli(['--config', b.config, '--compress-events', '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(fs.existsSync(`${b.events}.dbm-old`), 'released and removed').toBe(false);
    expect(fs.existsSync(`${b.events}.dbm-journal`)).toBe(false);
    const written = await app.stop();
    expectEveryLineOnce(b.dir, { seed: SEED_LINES, app: written });
  });
});

describe('the run lock fails closed', () => {
  it.skipIf(!canSetpriv)(
    'a run.lock this user may not write (left by root) is not "taken": exit 3 naming the file, nothing changed',
    () => {
      const b = eventsBrain();
      for (const d of [path.dirname(b.dir), b.dir]) fs.chmodSync(d, 0o777);
      for (const f of walk(b.dir)) fs.chmodSync(f, fs.statSync(f).isDirectory() ? 0o777 : 0o666);
      const state = path.join(b.dir, '.db-maintenance');
      fs.mkdirSync(state, { mode: 0o777 });
      fs.chmodSync(state, 0o777);
      fs.writeFileSync(path.join(state, 'run.lock'), '');
      fs.chmodSync(path.join(state, 'run.lock'), 0o644); // root's, as a root run leaves it
      const before = fs.readFileSync(b.events);
      const r = cliAsNobody(['--config', b.config, '--compress-events']);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(
        /^error: the run lock .*run\.lock\) is not writable by this user \(uid 65534\), so it cannot be taken \(give it/m,
      );
      expect(fs.readFileSync(b.events).equals(before)).toBe(true);
    },
  );
});

describe('results name what really happened', () => {
  it('a backup that cannot be kept after a verified VACUUM (fsync: ENOSPC) is "partial: done and verified, but its backup could not be kept", not "could not run"', () => {
    const b = eventsBrain();
    const r = cli(['--config', b.config, '--vacuum', '--db', 'tier1', '--json'], {
      env: { DB_MAINTENANCE_INJECT: 'fail-at:backup-commit' },
    });
    expect(r.status, r.stderr).toBe(6);
    const result = (JSON.parse(r.stdout) as { results: Array<{ status: string; message: string }> }).results[0]!;
    expect(result.status).toBe('partial');
    expect(result.message).toMatch(
      /^VACUUM done and verified \(vacuumed.*\), but its backup could not be kept: ENOSPC/,
    );
    expect(r.stderr).toMatch(/^error: VACUUM on tier1 partial: VACUUM done and verified/m);
  });
});

describe('what a holder does with the file', () => {
  const holdWith = async (file: string, flags: string): Promise<ChildProcess> => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('fs').openSync(${JSON.stringify(file)}, '${flags}'); process.stdout.write('open\\n'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    return child;
  };

  it('a writer at its own offsets (not O_APPEND) holding the file: not removed in place either, left as it is', async () => {
    const b = eventsBrain({}, 128);
    const before = fs.readFileSync(b.events);
    const holder = await holdWith(b.events, 'r+');
    try {
      const r = cli(['--config', b.config, '--compress-events', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const item = itemOf(r.stdout, 'COMPRESS_EVENTS');
      expect(item.status).toBe('skipped');
      expect(item.message).toMatch(new RegExp(`pid ${holder.pid} writes it at its own offsets \\(not O_APPEND\\)`));
      expect(fs.readFileSync(b.events).equals(before)).toBe(true);
    } finally {
      holder.kill();
    }
  });

  it('a reader holding the file (tail -f, a shipper) does not count: the file is swapped as usual', async () => {
    const b = eventsBrain();
    const holder = await holdWith(b.events, 'r');
    try {
      const r = cli(['--config', b.config, '--compress-events', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const item = itemOf(r.stdout, 'COMPRESS_EVENTS');
      expect(item).toMatchObject({ status: 'ok', rowsAffected: SEED_LINES });
      expect(item.message).not.toMatch(/in place/);
      expect(fs.existsSync(`${b.events}.dbm-old`)).toBe(false);
      expectEveryLineOnce(b.dir, { seed: SEED_LINES });
    } finally {
      holder.kill();
    }
  });
});

describe("a new live file must keep the old one's owner", () => {
  it.skipIf(!canSetpriv)(
    'run as uid 65534 on an events.jsonl of root (0666): not swapped (the application could lose it), nothing changed',
    () => {
      // 127-byte lines: no in-place removal either (as uid 65534, root's processes cannot be looked at: "held").
      const b = eventsBrain({}, 127);
      for (const d of [path.dirname(b.dir), b.dir]) fs.chmodSync(d, 0o777);
      for (const f of walk(b.dir)) fs.chmodSync(f, fs.statSync(f).isDirectory() ? 0o777 : 0o666);
      const before = fs.readFileSync(b.events);
      const r = cliAsNobody(['--config', b.config, '--compress-events', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const item = itemOf(r.stdout, 'COMPRESS_EVENTS');
      expect(item.status).toBe('skipped');
      expect(fs.statSync(b.events).uid).toBe(0);
      expect(fs.readFileSync(b.events).equals(before)).toBe(true);
    },
  );
});
