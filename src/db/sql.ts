/** SQL text helpers. Identifiers are always double-quoted, string literals single-quoted. */

/** `"name"` with embedded double quotes doubled: safe for any table or column name. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'` with embedded single quotes doubled. */
export function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * SQL expression turning a timestamp column of any common format into unix seconds (REAL),
 * so cut-offs compare correctly whatever the stored format:
 * integers/reals are unix seconds, or milliseconds when >= 1e11 (after 1973 in ms, year 5138 in s);
 * digit-only text likewise; other text goes through SQLite's date parser, which accepts ISO-8601
 * with `T` or a space, fractional seconds, and a `Z` or `+HH:MM` zone (no zone means UTC).
 * Unparseable values give NULL and are never treated as old.
 */
export function epochSecondsExpr(column: string, table?: string): string {
  const c = table === undefined ? quoteIdent(column) : `${quoteIdent(table)}.${quoteIdent(column)}`;
  const num = (x: string): string => `(CASE WHEN abs(${x}) >= 100000000000 THEN ${x} / 1000.0 ELSE ${x} * 1.0 END)`;
  return (
    `(CASE typeof(${c}) ` +
    `WHEN 'integer' THEN ${num(c)} ` +
    `WHEN 'real' THEN ${num(c)} ` +
    `WHEN 'text' THEN (CASE WHEN trim(${c}) <> '' AND trim(${c}) NOT GLOB '*[^0-9.]*' ` +
    `THEN ${num(`CAST(trim(${c}) AS REAL)`)} ELSE unixepoch(trim(${c}), 'subsec') END) ` +
    `ELSE NULL END)`
  );
}
