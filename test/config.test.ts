import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from '../src/config/json-schema.js';
import { configPathFrom, parseConfig } from '../src/config/load.js';
import { selectDatabases } from '../src/config/select.js';
import { ConfigSchema } from '../src/config/schema.js';
import { DbmError } from '../src/errors.js';
import { ROOT, cli, demoBrain, tempDir } from './helpers.js';

describe('config', () => {
  it('the committed JSON Schema is the one generated from the zod schema (run npm run schema)', () => {
    expect(fs.readFileSync(path.join(ROOT, JSON_SCHEMA_FILE), 'utf8')).toBe(configJsonSchemaText());
  });

  it('the bundled maintenance.config.json is valid and matches the demo brain defaults', () => {
    const rc = parseConfig(
      fs.readFileSync(path.join(ROOT, 'maintenance.config.json'), 'utf8'),
      path.join(ROOT, 'maintenance.config.json'),
    );
    expect(rc.databases.map((d) => d.name)).toEqual(['tier1', 'tier2', 'tier3', 'state']);
    expect(rc.config.thresholds.fragmentationRatio).toBe(0.2);
    expect(rc.config.thresholds.analyzeScaleFactor).toBe(0.1);
  });

  it('defaults fill a config naming its databases; thresholds are 20% fragmentation, 10% + base for statistics', () => {
    const c = ConfigSchema.parse({ databases: { a: { path: 'a.db' } } });
    expect(c.thresholds).toMatchObject({ fragmentationRatio: 0.2, analyzeScaleFactor: 0.1, analyzeBaseRows: 50 });
    const rules = ConfigSchema.parse({
      databases: { a: { path: 'a.db' } },
      conversations: { database: 'a' },
      patterns: { database: 'a' },
    });
    expect(rules.conversations).toMatchObject({ table: 'conversations', keepNewest: 20, archiveAfterDays: 30 });
    expect(rules.patterns).toMatchObject({
      table: 'patterns',
      confidenceColumn: 'confidence',
      lastUsedColumn: 'last_used',
    });
  });

  it('no demo paths as defaults: the databases are named, and a part without its section (or false) is not managed', () => {
    expect(() => ConfigSchema.parse({})).toThrow(/databases/);
    const c = ConfigSchema.parse({ databases: { a: { path: 'a.db' } }, events: false, logs: false });
    expect([c.conversations, c.patterns, c.events, c.logs]).toEqual([undefined, undefined, undefined, undefined]);
    const brain = parseConfig(JSON.stringify({ databases: { a: { path: 'a.db' } }, patterns: false }), '/b/c.json');
    expect([brain.eventsPath, brain.logsDir]).toEqual([undefined, undefined]);
    // A section that is there names what it is about: no path is guessed.
    expect(() => ConfigSchema.parse({ databases: { a: { path: 'a.db' } }, events: {} })).toThrow(/path/);
    expect(() => ConfigSchema.parse({ databases: { a: { path: 'a.db' } }, logs: {} })).toThrow(/dir/);
    expect(() => ConfigSchema.parse({ databases: { a: { path: 'a.db' } }, conversations: {} })).toThrow(/database/);
    expect(() => ConfigSchema.parse({ databases: { a: { path: 'a.db' } }, events: true })).toThrow();
  });

  it('every path resolves against the config file directory, never the current directory', () => {
    const rc = parseConfig(
      JSON.stringify({
        databases: { a: { path: 'x/a.db' } },
        conversations: { database: 'a' },
        patterns: { database: 'a' },
        events: { path: '../ev.jsonl' },
      }),
      '/srv/brain/conf/maintenance.config.json',
    );
    expect(rc.databases[0]!.path).toBe(path.resolve('/srv/brain/conf/x/a.db'));
    expect(rc.eventsPath).toBe(path.resolve('/srv/brain/ev.jsonl'));
    expect(rc.stateDir).toBe(path.resolve('/srv/brain/conf/.db-maintenance'));
  });

  it('the CLI run from another directory (as cron does) finds the brain through the config file', () => {
    const demo = demoBrain();
    const r = cli(['--config', demo.configPath, '--assess', '--json'], { cwd: '/' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { databases: Array<{ path: string; status: string }> };
    expect(out.databases.every((d) => d.status === 'ok' && d.path.startsWith(demo.dir))).toBe(true);
  });

  it('--config beats $DB_MAINTENANCE_CONFIG, which beats ./maintenance.config.json', () => {
    expect(configPathFrom('a.json', { DB_MAINTENANCE_CONFIG: '/e.json' }, '/cwd')).toBe(path.resolve('/cwd/a.json'));
    expect(configPathFrom(undefined, { DB_MAINTENANCE_CONFIG: '/e.json' }, '/cwd')).toBe(path.resolve('/e.json'));
    expect(configPathFrom(undefined, {}, '/cwd')).toBe(path.resolve('/cwd/maintenance.config.json'));
    const demo = demoBrain();
    const r = cli(['--assess', '--db', 'tier3'], { cwd: tempDir(), env: { DB_MAINTENANCE_CONFIG: demo.configPath } });
    expect(r.status, r.stderr).toBe(0);
  });

  it('schema names can be anything the deployment uses', () => {
    const rc = parseConfig(
      JSON.stringify({
        databases: { memory: { path: 'm.db' }, graph: { path: 'g.db' } },
        conversations: { database: 'memory', table: 'chat threads', keyColumn: 'thread id', timestampColumn: 'opened' },
        patterns: { database: 'graph', table: 'facts', confidenceColumn: 'score', lastUsedColumn: 'seen' },
      }),
      '/b/c.json',
    );
    expect(rc.config.conversations.table).toBe('chat threads');
    expect(selectDatabases(rc, 'graph').map((d) => d.name)).toEqual(['graph']);
  });

  it('a rule that names a database missing from "databases" is rejected with its key', () => {
    expect(() =>
      parseConfig(
        JSON.stringify({ databases: { a: { path: 'a.db' } }, conversations: { database: 'tier1' } }),
        '/b/c.json',
      ),
    ).toThrow(/conversations\.database: "tier1" is not a key of databases/);
  });

  it('stateDir may not hold a brain database', () => {
    const err = (() => {
      try {
        parseConfig(
          JSON.stringify({
            databases: { a: { path: 's/a.db' } },
            conversations: { database: 'a' },
            patterns: { database: 'a' },
            stateDir: 's',
          }),
          '/b/c.json',
        );
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(DbmError);
    expect((err as DbmError).exitCode).toBe(2);
  });
});
