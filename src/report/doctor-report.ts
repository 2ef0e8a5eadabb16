/** Human form of `--doctor`. */
import { table } from '../util/format.js';
import type { DoctorReport } from './json.js';

export function formatDoctor(r: DoctorReport): string {
  return `db-maintenance doctor: ${r.configPath}\n\n${table(
    ['check', 'status', 'detail'],
    r.checks.map((c) => [c.check, c.status, c.detail]),
  )}\n`;
}
