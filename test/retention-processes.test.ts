/**
 * Retention with real child processes: a live writer during --archive, a live appender during
 * --compress-events, and SIGKILL at random moments during archive, compress-events and
 * rotate-logs, checked afterwards by independent readers (the sqlite3 tool, gzip -dc).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { exited, startCli } from './process-helpers.js';
import { CRASH_TRIALS, NOW, cli, tempDir } from './helpers.js';
import { integrityCheck, strayTempFiles } from './maintenance-helpers.js';
import { allEventLines, ids, miniBrain, type MiniBrain } from './retention-helpers.js';

// A campaign of real runs and kills (CRASH_TRIALS): its time depends on the machine's load, not on what it checks.
// A hang guard, not a target: --archive's 20 trials once took 126 s alone and over 180 s in a full CI run
// on the loaded 2-core machine.
const CAMPAIGN_TIMEOUT_MS = 600_000;

const require = createRequire(import.meta.url);
const SQLITE = require.resolve('better-sqlite3');
const DAY = 86_400_000;
const FILES_ONLY_CONFIG = {
  databases: { x: { path: 'x.db' } },
  conversations: { database: 'x' },
  patterns: { database: 'x' },
  events: { path: 'events.jsonl' },
  logs: { dir: 'logs' },
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A template brain built once and copied (at rest) for each trial. */
let archiveTemplate: MiniBrain;
let eventsTemplate: string;
let logsTemplate: string;
const templateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dbm-ret-template-'));

function copyOf(src: string): string {
  const dir = path.join(tempDir(), 'b');
  fs.cpSync(src, dir, { recursive: true, preserveTimestamps: true });
  return dir;
}

beforeAll(() => {
  // 600 old conversations, moved 10 per batch: about 60 transactions on each side.
  const b = miniBrain({
    started: Array.from({ length: 620 }, (_, i) => new Date(NOW.getTime() - (200 - i / 10) * DAY).toISOString()),
    messagesPer: 4,
    config: { conversations: { database: 'tier1', batchSize: 10 } },
  });
  const t = path.join(templateRoot, 'archive');
  archiveTemplate = {
    ...b,
    dir: t,
    config: path.join(t, 'maintenance.config.json'),
    tier1: path.join(t, 'tier1.db'),
    tier2: path.join(t, 'tier2.db'),
  };
  fs.cpSync(b.dir, archiveTemplate.dir, { recursive: true });

  eventsTemplate = path.join(templateRoot, 'events');
  fs.mkdirSync(eventsTemplate);
  const lines: string[] = [];
  for (let i = 0; i < 80_000; i++) {
    const t = new Date(Date.parse('2026-07-01T00:00:00Z') + i * 60_000).toISOString();
    lines.push(JSON.stringify({ timestamp: t, type: 'tool_call', i, payload: 'p'.repeat(i % 50) }));
    if (i % 10_000 === 5) lines.push('malformed line ' + i);
  }
  fs.writeFileSync(path.join(eventsTemplate, 'events.jsonl'), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(eventsTemplate, 'maintenance.config.json'), JSON.stringify(FILES_ONLY_CONFIG));

  logsTemplate = path.join(templateRoot, 'logs');
  fs.mkdirSync(path.join(logsTemplate, 'logs'), { recursive: true });
  for (let f = 0; f < 6; f++) {
    const file = path.join(logsTemplate, 'logs', `svc${f}.log`);
    fs.writeFileSync(
      file,
      Array.from({ length: 40_000 }, (_, i) => `2026-01-01 svc${f} line ${i} ${'x'.repeat(i % 40)}`).join('\n') + '\n',
    );
    const t = new Date(NOW.getTime() - (100 + f) * DAY);
    fs.utimesSync(file, t, t);
  }
  fs.writeFileSync(path.join(logsTemplate, 'maintenance.config.json'), JSON.stringify(FILES_ONLY_CONFIG));
  return () => fs.rmSync(templateRoot, { recursive: true, force: true });
});

/**
 * How long a complete run takes here, so the kills land across all of it: the fastest of three
 * runs (a span measured while other test files load the machine would put the kills after the end).
 */
function spanOf(template: string, args: readonly string[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const dir = copyOf(template);
    const t0 = Date.now();
    const r = cli(['--config', path.join(dir, 'maintenance.config.json'), ...args]);
    expect(r.status, r.stderr).toBe(0);
    best = Math.min(best, Date.now() - t0);
  }
  return Math.max(250, best);
}

async function killAtRandom(
  args: readonly string[],
  span: number,
): Promise<{ signal: NodeJS.Signals | null; delay: number }> {
  const delay = 30 + Math.floor(Math.random() * span * 0.8);
  const child = startCli(args);
  const done = exited(child);
  await sleep(delay);
  child.kill('SIGKILL');
  const res = await done;
  return { signal: res.signal, delay };
}

describe('crash safety of retention: SIGKILL at random moments, then a re-run', () => {
  it(
    `--archive, ${CRASH_TRIALS} trials: every conversation and message exactly once, in the live database or the archive`,
    async () => {
      const span = spanOf(archiveTemplate.dir, ['--archive']);
      const convs = ids(archiveTemplate.tier1, 'conversations');
      const msgs = ids(archiveTemplate.tier1, 'messages');
      let mid = 0;
      for (let trial = 0; trial < CRASH_TRIALS; trial++) {
        const dir = copyOf(archiveTemplate.dir);
        const config = path.join(dir, 'maintenance.config.json');
        const [live, arc] = [path.join(dir, 'tier1.db'), path.join(dir, 'conversation_archive.db')];
        const k = await killAtRandom(['--config', config, '--archive'], span);
        if (k.signal === 'SIGKILL') mid++;
        const where = `trial ${trial} (kill at ${k.delay} ms)`;
        // Right after the kill: nothing is lost (a row may be in both until the re-run).
        expect(new Set([...ids(live, 'messages'), ...ids(arc, 'messages')]).size, where).toBe(msgs.length);
        const rerun = cli(['--config', config, '--archive']);
        expect(rerun.status, `${where} re-run: ${rerun.stderr}`).toBe(0);
        expect(
          [...ids(live, 'conversations'), ...ids(arc, 'conversations')].sort((a, b) => a - b),
          where,
        ).toEqual(convs);
        expect(
          [...ids(live, 'messages'), ...ids(arc, 'messages')].sort((a, b) => a - b),
          where,
        ).toEqual(msgs);
        expect(ids(live, 'conversations')).toHaveLength(20);
        expect(integrityCheck(live)).toBe('ok');
        expect(integrityCheck(arc)).toBe('ok');
      }
      expect(mid, `kills mid-run (span ${span} ms)`).toBeGreaterThanOrEqual(CRASH_TRIALS / 2);
    },
    CAMPAIGN_TIMEOUT_MS,
  );

  it(
    `--compress-events, ${CRASH_TRIALS} trials: every line exactly once in the live file or an archive (gzip -dc)`,
    async () => {
      const span = spanOf(eventsTemplate, ['--compress-events']);
      const original = allEventLines(eventsTemplate).sort();
      let mid = 0;
      for (let trial = 0; trial < CRASH_TRIALS; trial++) {
        const dir = copyOf(eventsTemplate);
        const config = path.join(dir, 'maintenance.config.json');
        const k = await killAtRandom(['--config', config, '--compress-events'], span);
        if (k.signal === 'SIGKILL') mid++;
        const where = `trial ${trial} (kill at ${k.delay} ms)`;
        const rerun = cli(['--config', config, '--compress-events']);
        expect(rerun.status, `${where} re-run: ${rerun.stderr}`).toBe(0);
        const after = allEventLines(dir).sort();
        expect(after.length, where).toBe(original.length);
        expect(after, where).toEqual(original);
        expect(strayTempFiles(dir), where).toEqual([]);
        expect(
          fs.readdirSync(dir).filter((f) => f.includes('.dbm-')),
          where,
        ).toEqual([]);
      }
      expect(mid, `kills mid-run (span ${span} ms)`).toBeGreaterThanOrEqual(CRASH_TRIALS / 2);
    },
    CAMPAIGN_TIMEOUT_MS,
  );

  it(
    `--rotate-logs, ${CRASH_TRIALS} trials: every log exactly once, as itself or inside one archive`,
    async () => {
      const span = spanOf(logsTemplate, ['--rotate-logs']);
      const contents = fs
        .readdirSync(path.join(logsTemplate, 'logs'))
        .map((f) => fs.readFileSync(path.join(logsTemplate, 'logs', f), 'utf8'))
        .sort();
      const found = (dir: string): string[] =>
        fs
          .readdirSync(path.join(dir, 'logs'))
          .filter((f) => !f.startsWith('.'))
          .map((f) => {
            const file = path.join(dir, 'logs', f);
            return f.endsWith('.gz')
              ? execFileSync('gzip', ['-dc', file], { encoding: 'utf8', maxBuffer: 1 << 28 })
              : fs.readFileSync(file, 'utf8');
          })
          .sort();
      let mid = 0;
      for (let trial = 0; trial < CRASH_TRIALS; trial++) {
        const dir = copyOf(logsTemplate);
        const config = path.join(dir, 'maintenance.config.json');
        const k = await killAtRandom(['--config', config, '--rotate-logs'], span);
        if (k.signal === 'SIGKILL') mid++;
        const where = `trial ${trial} (kill at ${k.delay} ms)`;
        const rerun = cli(['--config', config, '--rotate-logs']);
        expect(rerun.status, `${where} re-run: ${rerun.stderr}`).toBe(0);
        expect(found(dir), where).toEqual(contents);
        expect(
          fs.readdirSync(path.join(dir, 'logs')).every((f) => f.endsWith('.log.gz')),
          where,
        ).toBe(true);
      }
      expect(mid, `kills mid-run (span ${span} ms)`).toBeGreaterThanOrEqual(CRASH_TRIALS / 2);
    },
    CAMPAIGN_TIMEOUT_MS,
  );
});

describe('live processes', () => {
  it('a writer keeps writing to tier1 during --archive: nothing it wrote is lost, its conversations are not archived', async () => {
    const dir = copyOf(archiveTemplate.dir);
    const live = path.join(dir, 'tier1.db');
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(SQLITE)});
         const db = new D(${JSON.stringify(live)}, { timeout: 5000 });
         const conv = db.prepare("INSERT INTO conversations(session_id, conversation_id, started_at) VALUES ('s1', ?, ?)");
         const msg = db.prepare("INSERT INTO messages(conversation_id, role, content) VALUES (?, 'user', ?)");
         let stop = false, current = null, n = 0;
         process.on('SIGTERM', () => { stop = true; });
         const tick = () => {
           if (stop) { db.close(); process.stdout.write(JSON.stringify({ done: true }) + '\\n'); return; }
           try {
             if (n % 5 === 0) current = Number(conv.run('w' + n, ${JSON.stringify(NOW.toISOString())}).lastInsertRowid);
             const id = Number(msg.run(current, 'live message ' + n).lastInsertRowid);
             process.stdout.write(JSON.stringify({ conv: current, msg: id }) + '\\n');
           } catch (e) { process.stdout.write(JSON.stringify({ error: String(e.code) + ': ' + e.message }) + '\\n'); }
           n++;
           setTimeout(tick, 1);
         };
         tick();`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const writerDone = exited(writer);
    await sleep(200);
    const run = await exited(startCli(['--config', path.join(dir, 'maintenance.config.json'), '--archive', '--json']));
    await sleep(100);
    writer.kill('SIGTERM');
    const w = await writerDone;
    expect(run.code, run.stderr).toBe(0);
    const events = w.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { conv?: number; msg?: number; error?: string });
    expect(events.filter((e) => e.error)).toEqual([]);
    const written = events.filter((e) => e.msg !== undefined);
    expect(written.length).toBeGreaterThan(20);
    const liveMsgs = new Set(ids(live, 'messages'));
    expect(written.filter((e) => !liveMsgs.has(e.msg!))).toEqual([]);
    const archived = new Set(ids(path.join(dir, 'conversation_archive.db'), 'conversations'));
    expect(written.filter((e) => archived.has(e.conv!))).toEqual([]);
    expect(JSON.parse(run.stdout).summary.conversations_archived).toBeGreaterThanOrEqual(600);
    // The index stayed right through the application's own triggers: no rebuild of the live index
    // (counting its rows and its content's in two snapshots while the writer commits used to differ
    // and rebuild it, holding the write lock for as long as a rebuild takes).
    expect(JSON.parse(run.stdout).items[0].message).not.toContain('rebuilt the live FTS index');
  });

  it('an appender keeps appending to events.jsonl during --compress-events: lines written = lines found, none twice', async () => {
    const dir = copyOf(eventsTemplate);
    const file = path.join(dir, 'events.jsonl');
    const before = allEventLines(dir);
    const appender = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs');
         let stop = false, n = 0;
         process.on('SIGTERM', () => { stop = true; });
         const tick = () => {
           if (stop) { process.stdout.write(String(n)); return; }
           const fd = fs.openSync(${JSON.stringify(file)}, 'a');
           fs.writeSync(fd, JSON.stringify({ timestamp: new Date().toISOString(), live: n }) + '\\n');
           fs.closeSync(fd);
           n++;
           setImmediate(tick);
         };
         tick();`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const appenderDone = exited(appender);
    await sleep(150);
    const run = await exited(startCli(['--config', path.join(dir, 'maintenance.config.json'), '--compress-events']));
    await sleep(100);
    appender.kill('SIGTERM');
    const a = await appenderDone;
    expect(run.code, run.stderr).toBe(0);
    const appended = Number(a.stdout);
    expect(appended).toBeGreaterThan(100);
    const after = allEventLines(dir);
    const liveLines = after.filter((l) => l.includes('"live":'));
    expect(liveLines.length).toBe(appended);
    expect(new Set(liveLines).size).toBe(appended);
    expect(after.filter((l) => !l.includes('"live":')).sort()).toEqual(before.sort());
    // The appended lines are new: they stay in the live file, except those written to the old
    // file during the swap while the live one was held the whole time, which go to this month's
    // archive by design (never appended into a file the application is writing: a torn line).
    // Those are one run of consecutive lines: the swap's window.
    const n = (l: string): number => (JSON.parse(l) as { live: number }).live;
    const inLive = new Set(
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"live":'))
        .map(n),
    );
    const carried = liveLines.map(n).filter((x) => !inLive.has(x));
    if (carried.length > 0) {
      const [lo, hi] = [Math.min(...carried), Math.max(...carried)];
      expect(hi - lo + 1).toBe(carried.length);
    }
    expect(inLive.size + carried.length).toBe(appended);
  });
});
