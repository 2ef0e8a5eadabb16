/**
 * Who owns a brain: the owner and group of a directory by name, from /etc/passwd and
 * /etc/group (what systemd's `User=`/`Group=` and `sudo -u` take), or the numeric id when the
 * id has no entry there (systemd accepts a numeric `User=` too). No NSS lookups (LDAP, sssd):
 * their ids print as numbers, which work just as well.
 */
import fs from 'node:fs';

export interface Account {
  readonly id: number;
  /** The name, or the id as a string when no entry names it. */
  readonly name: string;
}

export interface DirectoryOwner {
  readonly user: Account;
  readonly group: Account;
}

/** The name of `id` in a passwd- or group-format text (`name:x:id:...`), or null. */
export function nameOfId(text: string, id: number): string | null {
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length >= 3 && Number(fields[2]) === id && fields[2] !== '' && fields[0]) return fields[0];
  }
  return null;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface AccountFiles {
  readonly passwd?: string;
  readonly group?: string;
}

/** The owner of `dir` by name (the numeric id where no name is known). */
export function ownerOf(dir: string, files: AccountFiles = {}): DirectoryOwner {
  const st = fs.statSync(dir);
  return { user: accountOf(st.uid, 'passwd', files), group: accountOf(st.gid, 'group', files) };
}

/** An id as an account of /etc/passwd or /etc/group. */
export function accountOf(id: number, kind: 'passwd' | 'group', files: AccountFiles = {}): Account {
  const text = files[kind] ?? readOr(`/etc/${kind}`);
  return { id, name: nameOfId(text, id) ?? String(id) };
}
