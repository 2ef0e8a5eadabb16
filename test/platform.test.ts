import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logArchivePattern } from '../src/archival/logs.js';
import { segmentRegex } from '../src/config/load.js';
import { sqliteTempDir } from '../src/maintenance/preflight.js';
import { accountOf, nameOfId } from '../src/util/accounts.js';
import { hasExtension, renameRetrying } from '../src/util/platform.js';
import { tempDir } from './helpers.js';

const fsError = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: operation failed, rename`), { code });

/** A rename that fails with `codes` in turn, then does the real rename. */
function flakyRename(codes: string[]): { rename: (a: string, b: string) => void; calls: () => number } {
  let n = 0;
  return {
    rename: (a, b) => {
      const code = codes[n++];
      if (code) throw fsError(code);
      fs.renameSync(a, b);
    },
    calls: () => n,
  };
}

describe('Windows code paths, run here with the platform as a parameter', () => {
  it('a rename that fails with EBUSY twice (a scanner holding the file) succeeds on the third try, after short waits', () => {
    const dir = tempDir();
    const from = path.join(dir, 'a.tmp');
    const to = path.join(dir, 'a');
    fs.writeFileSync(from, 'content');
    const flaky = flakyRename(['EBUSY', 'EBUSY']);
    const waits: number[] = [];
    renameRetrying(from, to, { rename: flaky.rename, platform: 'win32', sleep: (ms) => waits.push(ms) });
    expect(flaky.calls()).toBe(3);
    expect(waits).toEqual([20, 40]);
    expect(fs.readFileSync(to, 'utf8')).toBe('content');
    expect(fs.existsSync(from)).toBe(false);
  });

  it('EPERM and EACCES are retried too; one that always fails gives up after 5 attempts with a clear error', () => {
    const dir = tempDir();
    const from = path.join(dir, 'b.tmp');
    fs.writeFileSync(from, 'x');
    const mixed = flakyRename(['EPERM', 'EACCES']);
    renameRetrying(from, path.join(dir, 'b'), { rename: mixed.rename, platform: 'win32', sleep: () => undefined });
    expect(mixed.calls()).toBe(3);
    const always = flakyRename(Array(10).fill('EBUSY'));
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      renameRetrying('x.tmp', 'x', { rename: always.rename, platform: 'win32', sleep: () => undefined });
    } catch (err) {
      thrown = err as NodeJS.ErrnoException;
    }
    expect(always.calls()).toBe(5);
    expect(thrown?.code).toBe('EBUSY');
    expect(thrown?.message).toMatch(
      /^rename x\.tmp -> x failed 5 times \(EBUSY\): another program \(an antivirus scanner, .*\) holds one of them open; EBUSY: /,
    );
  });

  it('elsewhere, and for other errors, a rename is tried once: EBUSY on Linux and ENOENT on Windows are not retried', () => {
    const linux = flakyRename(['EBUSY']);
    expect(() => renameRetrying('a', 'b', { rename: linux.rename, platform: 'linux', sleep: () => undefined })).toThrow(
      /^EBUSY: operation failed/,
    );
    expect(linux.calls()).toBe(1);
    const missing = flakyRename(['ENOENT', 'ENOENT']);
    expect(() =>
      renameRetrying('a', 'b', { rename: missing.rename, platform: 'win32', sleep: () => undefined }),
    ).toThrow(/^ENOENT/);
    expect(missing.calls()).toBe(1);
  });

  it("the preflight's SQLite temp directory on win32 is TMP, then TEMP, then USERPROFILE (SQLITE_TMPDIR and TMPDIR are unix-only)", () => {
    const [tmp, temp, profile, unix] = [tempDir(), tempDir(), tempDir(), tempDir()];
    const env = { TMP: tmp, TEMP: temp, USERPROFILE: profile, SQLITE_TMPDIR: unix, TMPDIR: unix };
    expect(sqliteTempDir(env, 'win32')).toBe(tmp);
    expect(sqliteTempDir({ ...env, TMP: path.join(tmp, 'missing') }, 'win32')).toBe(temp);
    expect(sqliteTempDir({ ...env, TMP: undefined, TEMP: undefined }, 'win32')).toBe(profile);
    expect(sqliteTempDir(env, 'linux')).toBe(unix);
  });

  it('log extensions, their archives and fleet globs match in any case on win32, exactly elsewhere', () => {
    expect(hasExtension('APP.LOG', '.log', 'win32')).toBe(true);
    expect(hasExtension('app.Log', '.log', 'win32')).toBe(true);
    expect(hasExtension('APP.LOG', '.log', 'linux')).toBe(false);
    expect(hasExtension('app.log', '.log', 'linux')).toBe(true);
    expect(hasExtension('app.log.txt', '.log', 'win32')).toBe(false);
    const archive = 'APP-20261101-120000.LOG.GZ';
    expect(logArchivePattern('.log', 'win32').exec(archive)?.slice(1)).toEqual(['APP', '20261101-120000']);
    expect(logArchivePattern('.log', 'linux').test(archive)).toBe(false);
    expect(segmentRegex('*.db', 'win32').test('ACME.DB')).toBe(true);
    expect(segmentRegex('tenant-?.db', 'win32').test('TENANT-A.Db')).toBe(true);
    expect(segmentRegex('*.db', 'linux').test('ACME.DB')).toBe(false);
    expect(segmentRegex('*.db', 'linux').test('acme.db')).toBe(true);
  });
});

describe('accounts: ids to names for User=/Group=', () => {
  it('names an id from passwd/group text, the number where no entry has it', () => {
    const passwd = '# comment\nroot:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n';
    expect(nameOfId(passwd, 1000)).toBe('app');
    expect(nameOfId(passwd, 0)).toBe('root');
    expect(nameOfId(passwd, 4242)).toBeNull();
    expect(accountOf(4242, 'passwd', { passwd })).toEqual({ id: 4242, name: '4242' });
    expect(accountOf(1000, 'group', { group: 'staff:x:50:\napp:x:1000:\n' })).toEqual({ id: 1000, name: 'app' });
  });
});
