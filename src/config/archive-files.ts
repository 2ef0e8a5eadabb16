/** The archive databases of the retention rules (a leaf: no zod, no Brain). */
import path from 'node:path';

/** The archive databases' file names beside the live database when `archivePath` is not set. */
export const DEFAULT_ARCHIVE_FILE = {
  conversations: 'conversation_archive.db',
  patterns: 'pattern_archive.db',
} as const;

/** A rule's archive database: the configured path (relative to the config file), else `fallback` beside the live one. */
export function archiveFile(
  baseDir: string,
  configured: string | undefined,
  livePath: string,
  fallback: string,
): string {
  return configured ? path.resolve(baseDir, configured) : path.join(path.dirname(livePath), fallback);
}
