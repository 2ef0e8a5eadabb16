/** The archive databases' file names beside the live database when `archivePath` is not set (a leaf: no zod). */
export const DEFAULT_ARCHIVE_FILE = {
  conversations: 'conversation_archive.db',
  patterns: 'pattern_archive.db',
} as const;
