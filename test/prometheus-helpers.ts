/** Reading and checking Prometheus textfile metrics in tests: a strict parser, and promtool when it is installed. */
import { spawnSync } from 'node:child_process';

export interface Parsed {
  readonly types: Map<string, string>;
  readonly samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

/** A strict parser of the Prometheus text exposition format (what node_exporter's textfile collector accepts). */
export function parsePrometheus(text: string): Parsed {
  if (!text.endsWith('\n')) throw new Error('does not end with a newline');
  const types = new Map<string, string>();
  const samples: Parsed['samples'] = [];
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      if (types.has(t[1]!)) throw new Error(`TYPE twice for ${t[1]}`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let consumed = 0;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      if (consumed !== m[3].length) throw new Error(`bad labels: ${m[3]}`);
    }
    if (!NAME.test(m[1]!) || !types.has(m[1]!)) throw new Error(`sample before its TYPE: ${line}`);
    const value = Number(m[4]);
    if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

/** promtool's path, or null when it is not installed (Debian: apt-get install prometheus). */
export function promtool(): string | null {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'promtool' : null;
}

/** `promtool check metrics` of a textfile: its complaints (lint included), '' when it has none. */
export function promtoolCheckMetrics(text: string): { status: number; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}
