/**
 * The parts of Structured Field Values (RFC 8941) that WebTransport protocol negotiation uses
 * (draft-ietf-webtrans-http3 §3.3): `wt-available-protocols` is an sf-list of sf-strings, and
 * `wt-protocol` one sf-string. Parameters and members of other types are parsed (so the list
 * stays readable) and then left out. A field that does not parse is ignored as a whole
 * (RFC 8941 §4.2): the parsers return undefined.
 */

class SyntaxFailure extends Error {}

class Parser {
  offset = 0;
  constructor(readonly input: string) {}

  get done(): boolean {
    return this.offset >= this.input.length;
  }

  peek(): string {
    return this.input[this.offset] ?? '';
  }

  /** Matches a sticky pattern at the current offset (no copies of the input). */
  sticky(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.offset;
    return pattern.exec(this.input);
  }

  fail(): never {
    throw new SyntaxFailure();
  }

  skipSpaces(): void {
    while (this.peek() === ' ') this.offset++;
  }

  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.offset++;
  }

  /** §4.2.5 */
  string(): string {
    if (this.peek() !== '"') this.fail();
    this.offset++;
    let out = '';
    for (;;) {
      if (this.done) this.fail();
      const char = this.input[this.offset++]!;
      if (char === '\\') {
        const next = this.input[this.offset++];
        if (next !== '"' && next !== '\\') this.fail();
        out += next;
      } else if (char === '"') {
        return out;
      } else {
        const code = char.charCodeAt(0);
        if (code < 0x20 || code > 0x7e) this.fail();
        out += char;
      }
    }
  }

  /** §4.2.3.1 bare item: returns the string, or undefined for any other type. */
  bareItem(): string | undefined {
    const char = this.peek();
    if (char === '"') return this.string();
    if (char === '-' || (char >= '0' && char <= '9')) this.number();
    else if (char === ':') this.byteSequence();
    else if (char === '?') this.boolean();
    else if (char === '*' || /[A-Za-z]/.test(char)) this.token();
    else this.fail();
    return undefined;
  }

  number(): void {
    const match = this.sticky(/-?\d{1,15}(\.\d{1,3})?/y);
    if (!match) this.fail();
    this.offset += match[0].length;
  }

  byteSequence(): void {
    const match = this.sticky(/:[A-Za-z0-9+/=]*:/y);
    if (!match) this.fail();
    this.offset += match[0].length;
  }

  boolean(): void {
    const match = this.sticky(/\?[01]/y);
    if (!match) this.fail();
    this.offset += 2;
  }

  token(): void {
    const match = this.sticky(/[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y);
    if (!match) this.fail();
    this.offset += match[0].length;
  }

  key(): void {
    const match = this.sticky(/[a-z*][a-z0-9_\-.*]*/y);
    if (!match) this.fail();
    this.offset += match[0].length;
  }

  /** §4.2.3.2 */
  parameters(): void {
    while (this.peek() === ';') {
      this.offset++;
      this.skipSpaces();
      this.key();
      if (this.peek() === '=') {
        this.offset++;
        this.bareItem();
      }
    }
  }

  /** §4.2.1.1 item or inner list; the string value of an sf-string item, else undefined. */
  member(): string | undefined {
    if (this.peek() === '(') {
      this.offset++;
      for (;;) {
        this.skipSpaces();
        if (this.peek() === ')') {
          this.offset++;
          this.parameters();
          return undefined;
        }
        this.bareItem();
        this.parameters();
        const next = this.peek();
        if (next !== ' ' && next !== ')') this.fail();
      }
    }
    const value = this.bareItem();
    this.parameters();
    return value;
  }
}

/** The strings of an sf-list, in order; undefined when the field does not parse. */
export function parseStringList(field: string): string[] | undefined {
  const parser = new Parser(field);
  const strings: string[] = [];
  try {
    parser.skipSpaces();
    while (!parser.done) {
      const value = parser.member();
      if (value !== undefined) strings.push(value);
      parser.skipOws();
      if (parser.done) break;
      if (parser.peek() !== ',') parser.fail();
      parser.offset++;
      parser.skipOws();
      if (parser.done) parser.fail(); // §4.2.1: a trailing comma is a failure
    }
    return strings;
  } catch (error) {
    if (error instanceof SyntaxFailure) return undefined;
    throw error;
  }
}

/** One sf-string item (parameters allowed, ignored); undefined when it is not one. */
export function parseStringItem(field: string): string | undefined {
  const parser = new Parser(field);
  try {
    parser.skipSpaces();
    const value = parser.bareItem();
    parser.parameters();
    parser.skipSpaces();
    return parser.done ? value : undefined;
  } catch (error) {
    if (error instanceof SyntaxFailure) return undefined;
    throw error;
  }
}

/** §4.1.6: printable ASCII only; `"` and `\` escaped. Anything else is a RangeError. */
export function serializeString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError(`sf-string must be printable ASCII: ${JSON.stringify(value)}`);
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

export function serializeStringList(values: readonly string[]): string {
  return values.map(serializeString).join(', ');
}
