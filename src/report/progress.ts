/**
 * "Still alive" on a terminal: maintenance statements block Node's event loop, so a small
 * child process prints the elapsed time against the estimate on stderr until it is stopped.
 * Under cron (no TTY) nothing is printed; the logs say what happened.
 */
import { spawn } from 'node:child_process';
import type { ProgressStarter } from '../maintenance/types.js';

const TICKER = `
const [label, est] = process.argv.slice(1);
const t0 = Date.now();
const show = () => process.stderr.write('\\r' + label + ': ' + ((Date.now() - t0) / 1000).toFixed(0) + ' s of about ' + est + ' s   ');
const timer = setInterval(show, 1000);
process.on('SIGTERM', () => { clearInterval(timer); process.stderr.write('\\r\\x1b[K'); process.exit(0); });
`;

export function terminalProgress(): ProgressStarter {
  return (label, estimatedSeconds) => {
    const child = spawn(process.execPath, ['-e', TICKER, label, estimatedSeconds.toFixed(0)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.unref();
    return () => {
      child.kill('SIGTERM');
    };
  };
}
