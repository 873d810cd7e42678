/**
 * A small JSON parser for safetensors headers. `JSON.parse` silently keeps the last of duplicate keys and
 * rounds integers above 2^53, so this parser keeps every object's entries in order and every number as
 * its source text, and leaves both checks to the header validation.
 */

/** A parsed JSON value. Objects keep their entries in source order, duplicates included. */
export type JsonValue =
  | { readonly type: 'object'; readonly entries: ReadonlyArray<readonly [string, JsonValue]> }
  | { readonly type: 'array'; readonly items: readonly JsonValue[] }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly text: string }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'null' };

/** A JSON syntax error at a character index of the header text. */
export class JsonSyntaxError extends Error {
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.position = position;
  }
}

// Tensor entries nest two levels deep, so this limit only stops a hostile header from exhausting the stack.
const MAX_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  position: number;

  constructor(readonly text: string, start: number) {
    this.position = start;
  }

  fail(message: string): never {
    throw new JsonSyntaxError(message, this.position);
  }

  skipWhitespace(): void {
    const text = this.text;
    while (this.position < text.length) {
      const c = text.charCodeAt(this.position);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.position++;
    }
  }

  expect(char: string): void {
    if (this.text[this.position] !== char) {
      this.fail(`expected "${char}" but found ${this.describeHere()}`);
    }
    this.position++;
  }

  describeHere(): string {
    if (this.position >= this.text.length) return 'the end of the header';
    return JSON.stringify(this.text[this.position]);
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`values nest deeper than ${MAX_DEPTH} levels`);
    this.skipWhitespace();
    const c = this.text[this.position];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return { type: 'string', value: this.string() };
      case 't':
        return this.literal('true', { type: 'boolean', value: true });
      case 'f':
        return this.literal('false', { type: 'boolean', value: false });
      case 'n':
        return this.literal('null', { type: 'null' });
      default:
        return this.number();
    }
  }

  literal(word: string, result: JsonValue): JsonValue {
    if (!this.text.startsWith(word, this.position)) this.fail(`unexpected ${this.describeHere()}`);
    this.position += word.length;
    return result;
  }

  number(): JsonValue {
    NUMBER.lastIndex = this.position;
    const match = NUMBER.exec(this.text);
    if (match === null) this.fail(`unexpected ${this.describeHere()}`);
    this.position += match[0].length;
    return { type: 'number', text: match[0] };
  }

  object(depth: number): JsonValue {
    this.expect('{');
    const entries: Array<readonly [string, JsonValue]> = [];
    this.skipWhitespace();
    if (this.text[this.position] === '}') {
      this.position++;
      return { type: 'object', entries };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.position] !== '"') this.fail(`expected a key string but found ${this.describeHere()}`);
      const key = this.string();
      this.skipWhitespace();
      this.expect(':');
      entries.push([key, this.value(depth + 1)]);
      this.skipWhitespace();
      if (this.text[this.position] === ',') {
        this.position++;
        continue;
      }
      this.expect('}');
      return { type: 'object', entries };
    }
  }

  array(depth: number): JsonValue {
    this.expect('[');
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.position] === ']') {
      this.position++;
      return { type: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipWhitespace();
      if (this.text[this.position] === ',') {
        this.position++;
        continue;
      }
      this.expect(']');
      return { type: 'array', items };
    }
  }

  string(): string {
    this.expect('"');
    const text = this.text;
    let result = '';
    let runStart = this.position;
    for (;;) {
      if (this.position >= text.length) this.fail('unterminated string');
      const c = text.charCodeAt(this.position);
      if (c === 0x22) {
        result += text.slice(runStart, this.position);
        this.position++;
        return result;
      }
      if (c < 0x20) this.fail(`control character U+${c.toString(16).padStart(4, '0')} inside a string`);
      if (c !== 0x5c) {
        this.position++;
        continue;
      }
      result += text.slice(runStart, this.position);
      result += this.escape();
      runStart = this.position;
    }
  }

  /** Decodes one backslash escape. A \u escape may be half of a surrogate pair, which a JavaScript string stores as is. */
  escape(): string {
    this.position++;
    const c = this.text[this.position];
    this.position++;
    switch (c) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const hex = this.text.slice(this.position, this.position + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`invalid \\u escape "\\u${hex}"`);
        this.position += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        this.position--;
        return this.fail(`invalid escape "\\${c ?? ''}"`);
    }
  }
}

/**
 * Parses one JSON value starting at `start` and returns it with the index just past it. The caller checks
 * what follows, because safetensors allows only space padding there.
 */
export function parseJsonValue(text: string, start: number): { value: JsonValue; end: number } {
  const parser = new Parser(text, start);
  const value = parser.value(0);
  return { value, end: parser.position };
}
