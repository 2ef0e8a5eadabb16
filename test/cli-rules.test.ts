/** The declared CLI rules (src/commands/rules.ts): each one's message is the error, and --help lists them all. */
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import type { CliIo } from '../src/commands/context.js';
import { ACTIONS, RULES } from '../src/commands/rules.js';

async function cliInProcess(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
    cwd: '/nonexistent-dbm-cwd',
    isTTY: false,
    stderrIsTTY: false,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

/** One invocation breaking each rule (and no earlier one), in the order of RULES. */
const BREAKING: readonly (readonly string[])[] = [
  ['--run', '--fail-on', 'high'],
  ['--history', '--deep'],
  ['--history', '--dry-run'],
  ['--assess', '--days', '3'],
  ['--archive', '--force'],
  ['--restore-conversation', '1', '--archive'],
  ['--archive', '--db', 'tier1'],
  ['--doctor', '--metrics-file', 'x.prom'],
  ['--print-schedule', 'cron', '--quiet'],
  ['--scheduled', '--db', 'tier1'],
  ['--archive', '--rotate-logs', '--days', '3'],
  ['--init-config', 'x', '--db', 'tier1'],
];

const HELP = 'see db-maintenance --help';

describe('declared CLI rules', () => {
  it('each rule is the usage error (exit 2, one line) of an invocation that breaks it, before any config is read', async () => {
    expect(BREAKING).toHaveLength(RULES.length);
    for (const [i, argv] of BREAKING.entries()) {
      const rule = RULES[i]!;
      const r = await cliInProcess(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      // A rule without a hint of its own points at the flags: every error line names its fix.
      expect(r.stderr, argv.join(' ')).toBe(`error: ${rule.message} (${rule.hint ?? HELP})\n`);
      expect(r.stdout).toBe('');
    }
  });

  it('two actions are refused by their labels; an operation flag counts as --run', async () => {
    const r = await cliInProcess(['--assess', '--vacuum', '--doctor']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: choose one action, not --assess and --run and --doctor (${HELP})\n`);
  });

  it('--help lists every action and every rule', async () => {
    const r = await cliInProcess(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nRules:\n/);
    for (const a of ACTIONS) expect(r.stdout).toContain(a.label);
    for (const rule of RULES) expect(r.stdout).toContain(rule.message);
  });

  it('values are checked as the flags are parsed: --days, --scale, --seed, --print-schedule', async () => {
    for (const [argv, message] of [
      [['--archive', '--days', '-1'], `error: --days must be a positive number of days, not "-1" (${HELP})\n`],
      [
        ['--init-demo', 'x', '--scale', 'big'],
        'error: --scale must be a positive number (got "big") (e.g. --scale 1 for about 5 MB, --scale 240 for about 1 GB)\n',
      ],
      [
        ['--init-demo', 'x', '--seed', '1.5'],
        `error: --seed must be a whole number from 0 to 4294967295 (got "1.5") (${HELP})\n`,
      ],
      [['--assess', '--fail-on', 'low'], `error: --fail-on takes one of critical, high, medium, not "low" (${HELP})\n`],
      [
        ['--print-schedule', 'launchd'],
        `error: --print-schedule takes one of cron, systemd, windows, not "launchd" (${HELP})\n`,
      ],
    ] as const) {
      const r = await cliInProcess(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toBe(message);
    }
  });
});
