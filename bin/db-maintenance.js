#!/usr/bin/env node
// Entry point: loads the compiled CLI (dist/, built by `npm install` through the prepare script).
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('error: db-maintenance is not built (run npm install, or npm run build)\n');
  process.exit(1);
}
const { run } = await import(pathToFileURL(cli).href);
process.exitCode = await run(process.argv.slice(2));
