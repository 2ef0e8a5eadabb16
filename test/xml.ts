/**
 * A small strict XML parser for the tests (no dependency): elements, attributes, text, the five
 * predefined entities and character references, comments and the XML declaration. It throws on
 * what a conforming parser rejects and a task definition could contain: an unescaped `<` or `&`,
 * an unknown entity, `--` in a comment, mismatched or unclosed tags, a duplicate attribute,
 * anything after the root element.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text (entities decoded), its children's left out. */
  readonly text: string;
}

const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/;

function decode(raw: string, at: number): string {
  if (raw.includes('<')) throw new Error(`unescaped < at ${at}`);
  return raw.replace(/&([^;]*);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`unescaped & at ${at}`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (ref in named) return named[ref]!;
    const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ref);
    if (num) return String.fromCodePoint(num[1]!.startsWith('x') ? parseInt(num[1]!.slice(1), 16) : Number(num[1]));
    throw new Error(`unknown entity &${ref}; at ${at}`);
  });
}

export function parseXml(doc: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${i}: ${JSON.stringify(doc.slice(i, i + 40))}`);
  };
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(i))![0];
      i += ws.length;
      if (doc.startsWith('<!--', i)) {
        const end = doc.indexOf('-->', i + 4);
        if (end < 0) fail('unclosed comment');
        if (doc.slice(i + 4, end).includes('--')) fail('-- inside a comment');
        i = end + 3;
      } else return;
    }
  };
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) fail('unclosed declaration');
    if (!/^<\?xml version="1\.[0-9]"( encoding="[A-Za-z0-9-]+")?\s*\?>$/.test(doc.slice(0, end + 2)))
      fail('malformed XML declaration');
    i = end + 2;
  }
  const element = (): XmlElement => {
    if (doc[i] !== '<') fail('expected <');
    i++;
    const name = NAME.exec(doc.slice(i))?.[0] ?? fail('expected an element name');
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(i))![0];
      i += ws.length;
      if (doc.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [], text: '' };
      }
      if (doc[i] === '>') {
        i++;
        break;
      }
      if (!ws) fail('expected whitespace before an attribute');
      const m = /^([A-Za-z_][\w.:-]*)\s*=\s*(["'])/.exec(doc.slice(i)) ?? fail('malformed attribute');
      i += m[0].length;
      const end = doc.indexOf(m[2]!, i);
      if (end < 0) fail('unclosed attribute value');
      if (m[1]! in attrs) fail(`duplicate attribute ${m[1]}`);
      attrs[m[1]!] = decode(doc.slice(i, end), i);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const lt = doc.indexOf('<', i);
      if (lt < 0) fail(`unclosed element ${name}`);
      text += decode(doc.slice(i, lt), i);
      i = lt;
      if (doc.startsWith('</', i)) {
        const close = `</${name}>`;
        if (!doc.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return { name, attrs, children, text };
      }
      if (doc.startsWith('<!--', i)) skipMisc();
      else children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== doc.length) fail('content after the root element');
  return root;
}

/** The one child of `el` named `name` (throws when there is none or several). */
export function child(el: XmlElement, name: string): XmlElement {
  const found = el.children.filter((c) => c.name === name);
  if (found.length !== 1) throw new Error(`${el.name} has ${found.length} <${name}> children, expected 1`);
  return found[0]!;
}

/** The text at a path of single children, e.g. `textAt(task, 'Triggers', 'TimeTrigger', 'Repetition', 'Interval')`. */
export function textAt(el: XmlElement, ...names: string[]): string {
  return names.reduce((e, n) => child(e, n), el).text;
}
