import { describe, expect, it } from 'vitest';
import { eventTime } from '../src/archival/events.js';
import { lastTimestampMs, scanObject } from '../src/archival/json-scan.js';
import { parseTimestampMs } from '../src/util/time.js';

/** The reference: JSON.parse, an object, its top-level field parsed by parseTimestampMs. */
function reference(line: Buffer, field: string): number | null | 'invalid' {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(line));
  } catch {
    return 'invalid';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'invalid';
  return parseTimestampMs((v as Record<string, unknown>)[field]);
}

function ours(line: Buffer, field: string): number | null | 'invalid' {
  return scanObject(line, 0, line.length, Buffer.from(field)) ? lastTimestampMs(line) : 'invalid';
}

// A small deterministic PRNG (mulberry32).
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the event-line scanner agrees with JSON.parse', () => {
  it('on hand-picked valid and invalid lines', () => {
    const cases = [
      '{"timestamp":"2026-09-01T00:00:00Z"}',
      '{"timestamp":"2026-09-01T00:00:00.123Z","x":[1,2,{"a":null}],"y":true,"z":false}',
      ' { "timestamp" : 1767225600 , "n": -1.5e+3 } \r',
      '{"timestamp":"2026-02-29T00:00:00Z"}',
      '{"timestamp":"2024-02-29T00:00:00Z"}',
      '{"timestamp":"2026-13-01T00:00:00Z"}',
      '{"timestamp":"2026-09-01 10:00:00"}',
      '{"timestamp":"2026-09-01T10:00:00+02:00"}',
      '{"a":{"timestamp":"2026-09-01T00:00:00Z"}}',
      '{"timestamp":"2026-09-01T00:00:00Z","timestamp":"2020-01-01T00:00:00Z"}',
      '{"t\\u0069mestamp":"2026-09-01T00:00:00Z"}',
      '{"timestamp":"\\u0032026-09-01T00:00:00Z"}',
      '{"timestamp":"2026-09-01T00:00:00Z",}',
      '{"timestamp":"2026-09-01T00:00:00Z"',
      '{"timestamp":01}',
      '{"timestamp":1.}',
      '{"timestamp":-}',
      '{"a":"tab\tinside"}',
      '{"a":"bad \\x escape"}',
      '{"a":tru}',
      '{"a":nul}',
      '[1,2]',
      '"str"',
      '{}',
      '{} {}',
      '{"a":[]}',
      '{"a":[,]}',
      '{"a":[1,]}',
      '',
      '   ',
    ];
    for (const c of cases) expect(ours(Buffer.from(c), 'timestamp'), c).toEqual(reference(Buffer.from(c), 'timestamp'));
  });

  it('on 20,000 generated lines and random corruptions of them', () => {
    const r = rng(42);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
    const value = (depth: number): unknown => {
      const k = r();
      if (depth > 3 || k < 0.3)
        return pick([
          'x',
          'é ü',
          'quote " and \\ slash',
          '\u0001ctl',
          12,
          -0.5,
          1e21,
          true,
          false,
          null,
          '2026-09-01T00:00:00Z',
        ]);
      if (k < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 4) }, (_, i) => [
          pick(['a', 'timestamp', 'b c', `k${i}`]),
          value(depth + 1),
        ]),
      );
    };
    const stamps = [
      '2026-09-01T00:00:00Z',
      '2026-09-01T00:00:00.5Z',
      '2026-09-01T23:59:59.999Z',
      1767225600,
      1767225600123,
      '1767225600',
      'nope',
      null,
    ];
    let invalid = 0;
    for (let n = 0; n < 20_000; n++) {
      const obj = { ...(value(0) as object), timestamp: pick(stamps), data: value(1) };
      let text = JSON.stringify(obj);
      if (r() < 0.5) {
        // Corrupt it: delete, insert or replace one character.
        const at = Math.floor(r() * text.length);
        const ch = pick(['"', '{', '}', '[', ']', ',', ':', '\\', ' ', 'a', '0', '-', '.', 'e', '\t']);
        const op = r();
        text =
          op < 0.33
            ? text.slice(0, at) + text.slice(at + 1)
            : op < 0.66
              ? text.slice(0, at) + ch + text.slice(at)
              : text.slice(0, at) + ch + text.slice(at + 1);
      }
      const line = Buffer.from(text);
      const want = reference(line, 'timestamp');
      if (want === 'invalid') invalid++;
      expect(ours(line, 'timestamp'), text).toEqual(want);
    }
    expect(invalid).toBeGreaterThan(3000); // the corruptions did make broken lines
  });

  it('eventTime: invalid UTF-8 is malformed', () => {
    expect(eventTime(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'timestamp')).toBeNull();
    expect(eventTime(Buffer.from('{"timestamp":"2026-09-01T00:00:00Z"}'), 'timestamp')).toBe(
      Date.parse('2026-09-01T00:00:00Z'),
    );
  });
});
