/** The Prometheus text exposition format (what node_exporter's textfile collector reads): families of gauges. */

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge';
  readonly samples: Sample[];
}

/** A label value as the format wants it: backslash, newline and double quote escaped. */
export const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** HELP text escaped as the format wants it: backslash and newline. */
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function formatPrometheus(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels);
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      out.push(`${f.name}${l} ${Number.isFinite(s.value) ? String(s.value) : 'NaN'}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function family(name: string, help: string): Family {
  return { name, help, type: 'gauge', samples: [] };
}
