/**
 * Keeps the documentation in step with the code: the README's flag table against the CLI's
 * options, docs/configuration.md against the zod config schema, the README's exit-code table
 * against EXIT, and every link of the README (and of docs/) to a docs page that exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { ConfigSchema } from '../src/config/schema.js';
import { EXIT } from '../src/errors.js';
import { ROOT } from './helpers.js';

const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const readme = read('README.md');

/** The lines of the markdown section under the heading `heading` (up to the next heading of the same or a higher level). */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The first cell of each body row of the markdown tables in `lines` (header and separator rows left out). */
function firstCells(lines: readonly string[]): string[] {
  const cells: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('|')) continue;
    if (/^\|[\s|:-]+\|$/.test(line)) continue; // separator
    if (lines[i + 1] !== undefined && /^\|[\s|:-]+\|$/.test(lines[i + 1]!)) continue; // header
    cells.push(line.split(/(?<!\\)\|/)[1]!.trim());
  }
  return cells;
}

/** The backticked spans of a markdown cell. */
const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('docs: README flag table', () => {
  const program = buildProgram();
  const fromOptions = program.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  const fromHelp = [...program.helpInformation().matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);
  const helpFlags = [...new Set([...fromOptions, ...fromHelp, '--help', '--version'])];
  // `--days N` documents --days; `--help`, `--version` documents both.
  const tableFlags = firstCells(section(readme, '## Commands')).flatMap((c) =>
    backticked(c).map((b) => b.split(' ')[0]!),
  );

  it('lists every long flag of --help, --help and --version included', () => {
    expect(fromOptions.length).toBeGreaterThan(20);
    expect(helpFlags).toEqual(expect.arrayContaining(['--help', '--version', '--dry-run', '--metrics-file']));
    for (const flag of helpFlags) {
      expect(tableFlags, `README's flag table has ${flag}`).toContain(flag);
      expect(readme, `README has \`${flag}`).toContain(`\`${flag}`);
    }
  });

  it('lists no flag the CLI does not have', () => {
    for (const flag of tableFlags)
      expect(helpFlags, `${flag} in README's flag table is a flag of the CLI`).toContain(flag);
  });
});

/** The zod 4 schema nodes the walk needs (def.type and the fields of wrappers, objects, arrays, records). */
interface ZodNode {
  readonly def: {
    readonly type: string;
    readonly innerType?: ZodNode;
    readonly in?: ZodNode;
    readonly element?: ZodNode;
    readonly valueType?: ZodNode;
    readonly shape?: Readonly<Record<string, ZodNode>>;
    readonly options?: readonly ZodNode[];
  };
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'nonoptional', 'readonly', 'catch']);

function unwrap(node: ZodNode): ZodNode {
  let n = node;
  for (;;) {
    if (WRAPPERS.has(n.def.type) && n.def.innerType) n = n.def.innerType;
    else if (n.def.type === 'pipe' && n.def.in) n = n.def.in;
    else return n;
  }
}

/**
 * Every key of the config schema as a dotted path: `thresholds.walRatio`, `databases`,
 * `databases.<name>.path`, `compaction`, `compaction[].vacuumEvery`, `compaction[].watermarks[].table`.
 * Objects are walked into (an object section is not itself a key); arrays and records are keys,
 * and walked into when their elements are objects. `sections` collects the object paths.
 */
function configKeys(node: ZodNode, prefix: string, keys: string[], sections: string[]): void {
  const n = unwrap(node);
  const { type } = n.def;
  if (type === 'object') {
    if (prefix) sections.push(prefix);
    const shape = n.def.shape ?? (n as unknown as { shape: Record<string, ZodNode> }).shape;
    for (const [k, v] of Object.entries(shape)) configKeys(v, prefix ? `${prefix}.${k}` : k, keys, sections);
    return;
  }
  keys.push(prefix);
  // An optional part (`events`: its section or false) is a key of its own, and its section is walked into.
  if (type === 'union')
    for (const o of n.def.options ?? []) if (unwrap(o).def.type === 'object') configKeys(o, prefix, keys, sections);
  if (type === 'array' && n.def.element && unwrap(n.def.element).def.type === 'object')
    configKeys(n.def.element, `${prefix}[]`, keys, sections);
  if (type === 'record' && n.def.valueType) configKeys(n.def.valueType, `${prefix}.<name>`, keys, sections);
}

describe('docs: configuration.md', () => {
  const doc = read('docs/configuration.md');
  const keys: string[] = [];
  const sections: string[] = [];
  configKeys(ConfigSchema as unknown as ZodNode, '', keys, sections);
  const documented = firstCells(doc.split('\n')).flatMap(backticked);

  it('the schema walk finds the keys at every level', () => {
    expect(keys.length).toBeGreaterThan(70);
    expect(keys).toEqual(
      expect.arrayContaining([
        '$schema',
        'databases',
        'databases.<name>.path',
        'conversations.archiveAfterDays',
        'conversations.childTables[].references',
        'schedule.weekly.startDay',
        'compaction[].vacuumEvery',
        'compaction[].watermarks[].database',
        'probes[].params',
        'maintenance.workers',
        'stateDir',
      ]),
    );
  });

  it('documents every key of the schema, as a table row of its own', () => {
    for (const key of keys) expect(documented, `docs/configuration.md has a row for \`${key}\``).toContain(key);
  });

  it('documents no key the schema does not have', () => {
    const top = new Set(keys.map((k) => k.split(/[.[]/)[0]!));
    const known = new Set([...keys, ...sections]);
    const looksLikeKey = (s: string): boolean => top.has(s.split(/[.[]/)[0]!);
    const rowKeys = documented.filter(looksLikeKey);
    expect(rowKeys.length).toBeGreaterThan(70);
    for (const key of rowKeys)
      expect(known.has(key), `\`${key}\` of docs/configuration.md is in the schema`).toBe(true);
  });
});

describe('docs: README exit codes', () => {
  const rows = section(readme, '## Exit codes').filter((l) => /^\| \d+ \|/.test(l));
  const documented = rows.map((l) => Number(/^\| (\d+) \|/.exec(l)![1]));

  it('has a row for every code of EXIT and none other, each once', () => {
    const codes = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);
    expect(codes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...documented].sort((a, b) => a - b)).toEqual(codes);
  });
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (m) out.add(anchorOf(m[1]!));
  }
  return out;
}

describe('docs: links', () => {
  const docsDir = path.join(ROOT, 'docs');
  const readmeLinks = [...readme.matchAll(/\]\((docs\/[^)\s#]+\.md)(?:#([^)\s]+))?\)/g)].map((m) => ({
    file: m[1]!,
    anchor: m[2],
  }));

  it('every link of the README to docs/*.md points at a file that exists', () => {
    expect(readmeLinks.length).toBeGreaterThan(5);
    for (const l of readmeLinks) expect(fs.existsSync(path.join(ROOT, l.file)), `${l.file} exists`).toBe(true);
  });

  it('the README links every page of docs/, architecture.md included', () => {
    const linked = new Set(readmeLinks.map((l) => l.file));
    expect(linked.has('docs/architecture.md')).toBe(true);
    for (const f of fs.readdirSync(docsDir).filter((f) => f.endsWith('.md')))
      expect(linked.has(`docs/${f}`), `README links docs/${f}`).toBe(true);
  });

  it('the relative links of docs/*.md point at files (and headings) that exist', () => {
    for (const f of fs.readdirSync(docsDir).filter((f) => f.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(docsDir, f), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s#:]*\.md)?(?:#([^)\s]+))?\)/g)) {
        const target = m[1] ? path.resolve(docsDir, m[1]) : path.join(docsDir, f);
        expect(fs.existsSync(target), `${f}: link to ${m[1]} exists`).toBe(true);
        // Anchors into architecture.md are not checked: the page is written elsewhere.
        if (m[2] && fs.existsSync(target) && path.basename(target) !== 'architecture.md') {
          expect(anchorsOf(fs.readFileSync(target, 'utf8')), `${f}: ${m[1] ?? f}#${m[2]} is a heading`).toContain(m[2]);
        }
      }
    }
  });
});
