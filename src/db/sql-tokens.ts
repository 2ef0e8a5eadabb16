/** A small SQL tokenizer: enough to read CREATE TRIGGER statements (src/db/fts-triggers.ts). */

export type TokenKind = 'word' | 'ident' | 'string' | 'number' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** The identifier or string unquoted; words as written. */
  readonly value: string;
  /** Where it starts and ends in the source (end exclusive). */
  readonly start: number;
  readonly end: number;
}

/** Tokens of `sql`, without whitespace and comments. Quoted identifiers ("x", `x`, [x]) are kind 'ident'. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      i = e === -1 ? n : e + 2;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      let value = '';
      i++;
      while (i < n) {
        if (sql[i] === close) {
          if (close !== ']' && sql[i + 1] === close) {
            value += close;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += sql[i++];
      }
      out.push({ kind: ch === "'" ? 'string' : 'ident', value, start, end: i });
      continue;
    }
    if (/[A-Za-z_\u0080-\uffff]/.test(ch)) {
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i]!)) i++;
      out.push({ kind: 'word', value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i]!)) i++;
      out.push({ kind: 'number', value: sql.slice(start, i), start, end: i });
      continue;
    }
    const two = sql.slice(i, i + 2);
    const len = ['||', '<=', '>=', '<>', '!=', '==', '<<', '>>', '->'].includes(two) ? 2 : 1;
    i += len;
    out.push({ kind: 'punct', value: sql.slice(start, i), start, end: i });
  }
  return out;
}

/** A word token equal (case-insensitively) to `kw`. */
export function isWord(t: Token | undefined, kw: string): boolean {
  return t !== undefined && t.kind === 'word' && t.value.toLowerCase() === kw;
}

/** An identifier (bare or quoted) naming `name`, case-insensitively as SQLite compares names. */
export function isName(t: Token | undefined, name: string): boolean {
  return t !== undefined && (t.kind === 'word' || t.kind === 'ident') && t.value.toLowerCase() === name.toLowerCase();
}

/** Splits tokens at top-level occurrences of the punctuation `sep` (outside parentheses). */
export function splitTop(tokens: readonly Token[], sep: string): Token[][] {
  const parts: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'punct' && t.value === '(') depth++;
    if (t.kind === 'punct' && t.value === ')') depth--;
    if (depth === 0 && t.kind === 'punct' && t.value === sep) {
      parts.push(cur);
      cur = [];
      continue;
    }
    cur.push(t);
  }
  parts.push(cur);
  return parts;
}

/** The tokens inside the parentheses that open at index `open` (tokens[open] is '('), and the index after ')'. */
export function parenthesized(tokens: readonly Token[], open: number): [Token[], number] | undefined {
  if (tokens[open]?.value !== '(' || tokens[open]?.kind !== 'punct') return undefined;
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'punct') continue;
    if (t.value === '(') depth++;
    if (t.value === ')' && --depth === 0) return [tokens.slice(open + 1, i), i + 1];
  }
  return undefined;
}
