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
 * so cut-offs compare correctly whatever the stored format (the same rules as
 * src/util/time.ts's parseTimestampMs): numbers from 2,000,000 to 3,000,000 are julian days
 * (SQLite's julianday()), from 1e11 unix milliseconds, from 1e8 unix seconds, smaller ones no
 * time at all; text that is a number (digits, at most one dot inside) likewise; other text goes
 * through SQLite's date parser, which accepts ISO-8601 with `T` or a space, fractional seconds,
 * and a `Z` or `+HH:MM` zone (no zone means UTC). Text such as '.', '1.2.3' or '30.11.2026' is
 * not a number. Unparseable values give NULL and are never treated as old.
 */
export function epochSecondsExpr(column: string, table?: string): string {
  const c = table === undefined ? quoteIdent(column) : `${quoteIdent(table)}.${quoteIdent(column)}`;
  const num = (x: string): string =>
    `(CASE WHEN ${x} >= 2000000 AND ${x} < 3000000 THEN (${x} - 2440587.5) * 86400.0 ` +
    `WHEN ${x} >= 100000000000 THEN ${x} / 1000.0 WHEN ${x} < 100000000 THEN NULL ELSE ${x} * 1.0 END)`;
  const t = `trim(${c})`;
  const numericText = `${t} GLOB '[0-9]*' AND ${t} NOT GLOB '*[^0-9.]*' AND ${t} NOT GLOB '*.*.*' AND ${t} NOT GLOB '*.'`;
  return (
    `(CASE typeof(${c}) ` +
    `WHEN 'integer' THEN ${num(c)} ` +
    `WHEN 'real' THEN ${num(c)} ` +
    `WHEN 'text' THEN (CASE WHEN ${numericText} ` +
    `THEN ${num(`CAST(${t} AS REAL)`)} ` +
    // Only what looks like a date reaches the date parser: it would take '12.' for a julian day.
    `WHEN ${t} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' THEN unixepoch(${t}, 'subsec') ELSE NULL END) ` +
    `ELSE NULL END)`
  );
}
