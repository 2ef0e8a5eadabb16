/**
 * What an install needs, checked without installing (the real pack + global install runs in
 * .ci/install-check): the Node versions package.json, CI and the README agree on; every
 * dependency imported; the licence; and an install whose native build did not run failing
 * cleanly with the way to fix it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeSupport } from '../src/doctor/doctor.js';
import { BIN, ROOT, tempDir } from './helpers.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  files: string[];
  allowScripts?: Record<string, boolean>;
};

/** Whether `version` (x.y.z) satisfies a range of `^x.y.z` alternatives, the only form `engines` uses. */
function satisfies(version: string, range: string): boolean {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return range.split('||').some((alt) => {
    const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(alt);
    if (!m) throw new Error(`engines alternative "${alt}" is not of the form ^x.y.z`);
    const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return major === a && (minor > b || (minor === b && patch >= c));
  });
}

describe('install: Node versions, dependencies, licence', () => {
  it('engines names exactly the Node majors CI tests, this Node among them, and @types/node is the lowest', () => {
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const majors = /DBM_CI_NODES:-([\d ]+)\}/.exec(ci)?.[1]?.trim().split(/\s+/).map(Number);
    expect(majors).toEqual([20, 22, 24]);
    const inRange = pkg.engines.node.split('||').map((alt) => Number(/\^(\d+)\./.exec(alt)?.[1]));
    expect(inRange).toEqual(majors);
    expect(satisfies(process.versions.node, pkg.engines.node), `Node ${process.version}`).toBe(true);
    expect(satisfies('20.18.0', pkg.engines.node)).toBe(false); // vite and rolldown need 20.19
    expect(satisfies('25.0.0', pkg.engines.node)).toBe(false);
    expect(pkg.devDependencies['@types/node']).toMatch(/^\^20\./);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('Node 20.19+, 22.13+ or 24');
    expect(readme).toContain('On a fresh machine with Node 20, 22 or 24 and npm');
  });

  it("--doctor's node check follows engines: ok, a warning for an untested version, a failure below 20", () => {
    const e = pkg.engines.node;
    expect(nodeSupport(process.versions.node, e)).toBe('supported');
    const got = Object.fromEntries(
      ['20.19.0', '22.13.0', '24.0.0', '24.22.3', '20.18.3', '22.12.0', '23.1.0', '25.2.1', '19.9.0', '18.20.0'].map(
        (v) => [v, nodeSupport(v, e)],
      ),
    );
    expect(got).toEqual({
      '20.19.0': 'supported',
      '22.13.0': 'supported',
      '24.0.0': 'supported',
      '24.22.3': 'supported',
      '20.18.3': 'untested',
      '22.12.0': 'untested',
      '23.1.0': 'untested',
      '25.2.1': 'untested',
      '19.9.0': 'older',
      '18.20.0': 'older',
    });
  });

  it('every runtime dependency is imported by src/, and better-sqlite3 is the one whose install script is approved', () => {
    const sources: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) sources.push(fs.readFileSync(p, 'utf8'));
      }
    };
    walk(path.join(ROOT, 'src'));
    for (const dep of Object.keys(pkg.dependencies)) {
      const imported = sources.some((s) => s.includes(`from '${dep}'`) || s.includes(`from '${dep}/`));
      expect(imported, `${dep} is a dependency that nothing in src/ imports`).toBe(true);
    }
    expect(pkg.allowScripts).toEqual({ 'better-sqlite3': true });
  });

  it('LICENSE is the MIT licence package.json names, of the db-maintenance contributors', () => {
    expect(pkg.license).toBe('MIT');
    const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(license.split('\n')[0]).toBe('MIT License');
    expect(license).toContain('Copyright (c) 2026 db-maintenance contributors');
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it('an install whose native build did not run exits 3 with one line naming npm rebuild, changing nothing', () => {
    // The package as `npm install --ignore-scripts` leaves it: better-sqlite3 without build/.
    const dir = tempDir('dbm-install-');
    // Copies, not links: Node resolves a linked module from its real path, i.e. the real install.
    for (const f of ['bin', 'dist', 'migrations', 'package.json']) {
      fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
    }
    const modules = path.join(dir, 'node_modules');
    fs.mkdirSync(modules);
    for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
      if (name !== 'better-sqlite3') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
    }
    const copy = path.join(modules, 'better-sqlite3');
    fs.mkdirSync(copy);
    for (const f of ['package.json', 'lib']) {
      fs.cpSync(path.join(ROOT, 'node_modules', 'better-sqlite3', f), path.join(copy, f), { recursive: true });
    }
    const brain = path.join(dir, 'brain');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [path.join(dir, 'bin', path.basename(BIN)), ...args], {
        encoding: 'utf8',
        cwd: dir,
      });
    const r = run(['--init-demo', brain]);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: SQLite cannot be loaded \(better-sqlite3's native module: /);
    expect(lines[0]).toContain(`ABI ${process.versions.modules}`);
    expect(lines[0]).toContain('npm rebuild better-sqlite3');
    expect(fs.existsSync(brain)).toBe(false);
    // The same module, still loadable from the real install: the failure is the missing build.
    expect(spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).stdout.trim()).toBe('0.1.0');
  });
});
