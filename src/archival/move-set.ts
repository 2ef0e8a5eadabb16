/**
 * The move set of a root table: which tables' rows move with a parent row, which stay live
 * unlinked, which forbid the move, and which tables the moved rows refer to (mover.ts moves them).
 */
import type Database from 'better-sqlite3';
import type { ChildTable } from '../assess/retention.js';
import { ordinaryTables } from '../db/schema.js';

export interface Edge {
  /** Column of this table ... */
  readonly column: string;
  /** ... referring to this table of the move set ... */
  readonly parent: string;
  /** ... and this column of it. */
  readonly references: string;
}

/** ON DELETE of a foreign key, as PRAGMA foreign_key_list spells it. */
export type FkAction = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'NO ACTION' | 'RESTRICT';

export interface MoveNode {
  readonly table: string;
  /** Empty for the root. */
  readonly edges: readonly Edge[];
  /**
   * 'move': the rows leave with their parent (ON DELETE CASCADE, or configured in childTables).
   * 'link': ON DELETE SET NULL / SET DEFAULT: the rows outlive the parent and stay live with
   * the action applied to their link; the archive gets a copy that keeps the link.
   */
  readonly kind: 'move' | 'link';
  /** For 'link': what the link column becomes. */
  readonly action?: 'SET NULL' | 'SET DEFAULT';
}

/** Rows that forbid their parent's delete (ON DELETE NO ACTION / RESTRICT): the parent stays live. */
export interface Blocker {
  readonly table: string;
  readonly edge: Edge;
  readonly action: FkAction;
}

/**
 * A table outside the move set that rows of the set refer to (conversations -> sessions): the
 * archive gets a copy of the referred rows, so its foreign keys hold there too. `edges` are
 * the references to it, from tables of the set or from other reference tables.
 */
export interface RefNode {
  readonly table: string;
  readonly edges: ReadonlyArray<{ readonly child: string; readonly column: string; readonly references: string }>;
}

/** The root table and its descendants, parents before children. */
export interface MoveSet {
  readonly root: string;
  readonly key: string;
  readonly nodes: readonly MoveNode[];
  readonly blockers: readonly Blocker[];
  readonly refs: readonly RefNode[];
}

interface Fk {
  readonly parent: string;
  readonly col: string;
  readonly ref: string | null;
  readonly onDelete: FkAction;
}

function fkList(db: Database.Database, table: string): Fk[] {
  return (
    db
      .prepare(
        'SELECT "table" AS parent, "from" AS col, "to" AS ref, on_delete AS onDelete FROM pragma_foreign_key_list(?)',
      )
      .all(table) as Array<{ parent: string; col: string; ref: string | null; onDelete: string }>
  ).map((f) => ({ ...f, onDelete: f.onDelete.toUpperCase() as FkAction }));
}

function primaryKeyOf(db: Database.Database, table: string): string {
  const pk = db
    .prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk')
    .pluck()
    .all(table) as string[];
  return pk.length === 1 ? pk[0]! : 'rowid';
}

/**
 * The move set of `root`, following the schema's declared foreign-key actions: a table with a
 * foreign key to a moving table moves with it when the key is ON DELETE CASCADE (or the table
 * is in `children`, from config), stays live with its link cleared when SET NULL / SET DEFAULT
 * ('link' nodes), and keeps its parent live when NO ACTION / RESTRICT (a blocker). Then,
 * recursively, the same for tables referring to moving ones. Tables the set refers to are the
 * archive's reference tables.
 */
export function discoverMoveSet(
  db: Database.Database,
  root: string,
  key: string,
  children?: readonly ChildTable[],
): MoveSet {
  const lower = (s: string): string => s.toLowerCase();
  const tables = ordinaryTables(db);
  const canonical = (name: string): string => tables.find((t) => lower(t) === lower(name)) ?? name;
  const nodes: MoveNode[] = [{ table: canonical(root), edges: [], kind: 'move' }];
  const blockers: Blocker[] = [];
  const nodeOf = (t: string): MoveNode | undefined => nodes.find((n) => lower(n.table) === lower(t));
  const configured = (t: string): ChildTable | undefined => children?.find((c) => lower(c.table) === lower(t));
  for (const c of children ?? []) {
    const existing = nodeOf(c.table);
    const edge = { column: c.column, parent: nodes[0]!.table, references: c.references };
    if (existing) (existing.edges as Edge[]).push(edge);
    else nodes.push({ table: canonical(c.table), edges: [edge], kind: 'move' });
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const t of tables) {
      if (nodeOf(t) || blockers.some((b) => lower(b.table) === lower(t))) continue;
      const moving: Edge[] = [];
      const linking: Array<{ edge: Edge; action: 'SET NULL' | 'SET DEFAULT' }> = [];
      const blocking: Array<{ edge: Edge; action: FkAction }> = [];
      for (const fk of fkList(db, t)) {
        const parent = nodeOf(fk.parent);
        if (lower(fk.parent) === lower(t) || !parent || parent.kind !== 'move') continue;
        const edge = { column: fk.col, parent: parent.table, references: fk.ref ?? primaryKeyOf(db, parent.table) };
        if (fk.onDelete === 'CASCADE' || configured(t)) moving.push(edge);
        else if (fk.onDelete === 'SET NULL' || fk.onDelete === 'SET DEFAULT')
          linking.push({ edge, action: fk.onDelete });
        else blocking.push({ edge, action: fk.onDelete });
      }
      if (blocking.length) {
        blockers.push(...blocking.map((b) => ({ table: t, ...b })));
        continue;
      }
      if (moving.length) nodes.push({ table: t, edges: moving, kind: 'move' });
      else if (linking.length)
        nodes.push({ table: t, edges: linking.map((l) => l.edge), kind: 'link', action: linking[0]!.action });
      else continue;
      grew = true;
    }
  }
  return { root: nodes[0]!.table, key, nodes, blockers, refs: referenceTables(db, nodes, tables) };
}

/** Tables outside the move set its rows refer to, and recursively the tables those refer to. */
function referenceTables(db: Database.Database, nodes: readonly MoveNode[], tables: readonly string[]): RefNode[] {
  const lower = (s: string): string => s.toLowerCase();
  const inSet = new Set(nodes.map((n) => lower(n.table)));
  const refs: Array<{ table: string; edges: Array<{ child: string; column: string; references: string }> }> = [];
  const queue = nodes.map((n) => n.table);
  while (queue.length) {
    const child = queue.shift()!;
    for (const fk of fkList(db, child)) {
      const parent = tables.find((t) => lower(t) === lower(fk.parent));
      if (!parent || inSet.has(lower(parent)) || lower(parent) === lower(child)) continue;
      let ref = refs.find((r) => lower(r.table) === lower(parent));
      if (!ref) {
        ref = { table: parent, edges: [] };
        refs.push(ref);
        queue.push(parent);
      }
      ref.edges.push({ child, column: fk.col, references: fk.ref ?? primaryKeyOf(db, parent) });
    }
  }
  return refs;
}
