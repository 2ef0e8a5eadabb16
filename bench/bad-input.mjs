#!/usr/bin/env node
// The bad-input campaign (issue 14): every case of bench/bad-input-cases.mjs against a fresh copy
// of a demo brain, as root and as an unprivileged user (the way cron runs it), through the real
// CLI. Prints per-case problems and the totals.
//
//   npm run build && node bench/bad-input.mjs [--users root,nobody] [--only SUBSTRING]
import fs from 'node:fs';
import { arg } from './lib.mjs';
import { CASES, baseDir, makeTemplate, runCase } from './bad-input-cases.mjs';

const users = arg('--users', 'root,nobody').split(',');
const only = arg('--only', '');
const base = baseDir();
const template = makeTemplate(base);
const totals = {
  tried: 0,
  clean: 0,
  'data changed': 0,
  'stack trace': 0,
  hang: 0,
  'undocumented code': 0,
  'no hint': 0,
  'wrong code': 0,
};
for (const user of users) {
  for (const c of CASES) {
    if (only && !c.name.includes(only)) continue;
    const r = await runCase(c, { template, base, user });
    totals.tried++;
    const kinds = new Set(r.problems.map((p) => (p === 'accepted' || p.startsWith('exit ') ? 'wrong code' : p)));
    if (kinds.size === 0) totals.clean++;
    for (const k of kinds) totals[k]++;
    if (kinds.size)
      console.log(
        `${user.padEnd(6)} ${c.name}: ${[...kinds].join(', ')} (exit ${r.code}) ${r.changed.length ? `changed ${r.changed.join(', ')} ` : ''}:: ${r.stderr}`,
      );
  }
}
fs.rmSync(base, { recursive: true, force: true });
console.log(`\ncases: ${CASES.length} (${users.join(' and ')})`);
console.log(
  Object.entries(totals)
    .map(([k, v]) => `${k} ${v}`)
    .join(' / '),
);
