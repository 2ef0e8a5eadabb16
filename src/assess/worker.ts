/** A worker thread of the assessment pool (pool.ts): assesses the chunks of databases it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import type { BrainDatabase } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { assessOne } from './assess-one.js';

const { config, now, deep } = workerData as { config: Config; now: string; deep: boolean };
const at = new Date(now);
parentPort!.on('message', (m: { from: number; targets: BrainDatabase[] }) => {
  parentPort!.postMessage({ from: m.from, results: m.targets.map((t) => assessOne(t, config, at, deep)) });
});
