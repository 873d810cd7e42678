/** The cursor and state shared by the PCRE parser, its escape reader and its class reader. */
import type { EngineFlags, GroupReference } from './pcre-ast';
import { PatternSyntaxError } from './pattern-error';

/** Options in force at a point of the pattern. */
export interface ParseFlags extends EngineFlags {
  /** `x`: white space and `#` comments outside classes are ignored. */
  readonly extended: boolean;
  /** `xx`: space and tab inside classes are ignored too. */
  readonly extendedMore: boolean;
  /** `n`: plain `(...)` groups do not capture. */
  readonly noAutoCapture: boolean;
  /** `U`: quantifiers are lazy by default and `?` makes them greedy. */
  readonly ungreedy: boolean;
}

/** Options at the start of a pattern (PCRE2's defaults). */
export const DEFAULT_FLAGS: ParseFlags = {
  caseless: false,
  multiline: false,
  dotAll: false,
  extended: false,
  extendedMore: false,
  noAutoCapture: false,
  ungreedy: false,
};

/** A group reference to check once the whole pattern is known (PCRE allows forward references). */
export interface PendingReference {
  readonly target: GroupReference;
  readonly start: number;
  readonly end: number;
}

/** PCRE2's limit on the length of a group name, in code units. */
export const MAX_GROUP_NAME_LENGTH = 32;

/** Cursor over one pattern plus the parse state that escapes and groups update. */
export class PcreReader {
  readonly pattern: string;
  /** Current UTF-16 offset. */
  pos = 0;
  flags: ParseFlags = DEFAULT_FLAGS;
  /** Capture groups opened so far (PCRE numbers them by opening parenthesis). */
  groupCount = 0;
  readonly groupNames = new Map<string, number>();
  readonly references: PendingReference[] = [];
  /** Depth of lookahead and lookbehind groups around the cursor (`\K` is invalid inside them). */
  lookaroundDepth = 0;
  /** Inside `\Q...\E`, where every character is literal. */
  inQuote = false;

  constructor(pattern: string) {
    this.pattern = pattern;
  }

  atEnd(): boolean {
    return this.pos >= this.pattern.length;
  }

  /** The UTF-16 unit at `pos + ahead`, or '' past the end. */
  peek(ahead = 0): string {
    return this.pattern.charAt(this.pos + ahead);
  }

  /** Whether the text at the cursor starts with `text`. */
  lookingAt(text: string): boolean {
    return this.pattern.startsWith(text, this.pos);
  }

  /** Reads one code point (a surrogate pair counts as one) and advances past it. */
  readCodePoint(): number {
    const code = this.pattern.codePointAt(this.pos) ?? 0;
    this.pos += code > 0xffff ? 2 : 1;
    return code;
  }

  /** Reads the longest run of characters accepted by `accept`, starting at the cursor. */
  readWhile(accept: (char: string) => boolean): string {
    const start = this.pos;
    while (!this.atEnd() && accept(this.peek())) {
      this.pos += 1;
    }
    return this.pattern.slice(start, this.pos);
  }

  /** Throws a syntax error at `offset`. */
  fail(offset: number, reason: string): never {
    throw new PatternSyntaxError(offset, reason);
  }

  /** Reads a group name up to `terminator` and checks it against PCRE2's rules. */
  readGroupName(terminator: string, errorOffset: number): string {
    const nameStart = this.pos;
    const name = this.readWhile((char) => /[A-Za-z0-9_]/.test(char));
    if (name.length === 0) {
      if (/\d/.test(this.peek())) {
        this.fail(nameStart, 'a group name must start with a letter or underscore, not a digit');
      }
      this.fail(nameStart, 'a group name is expected here');
    }
    if (/^\d/.test(name)) {
      this.fail(nameStart, 'a group name must start with a letter or underscore, not a digit');
    }
    if (name.length > MAX_GROUP_NAME_LENGTH) {
      this.fail(nameStart, `the group name is longer than ${MAX_GROUP_NAME_LENGTH} characters`);
    }
    if (this.peek() !== terminator) {
      if (!this.atEnd() && /[^\x00-\x7f]/.test(this.peek())) {
        this.fail(this.pos, 'group names may contain only ASCII letters, digits and underscores');
      }
      this.fail(errorOffset, `the group name is missing its closing ${terminator}`);
    }
    this.pos += 1;
    return name;
  }

  /** Skips white space and `#` comments when the `x` option is on (outside classes and quotes). */
  skipExtendedSpace(): void {
    if (!this.flags.extended || this.inQuote) {
      return;
    }
    for (;;) {
      const char = this.peek();
      if (isPatternWhiteSpace(char)) {
        this.pos += 1;
      } else if (char === '#') {
        const newline = this.pattern.indexOf('\n', this.pos);
        this.pos = newline < 0 ? this.pattern.length : newline + 1;
      } else {
        return;
      }
    }
  }
}

/** Whether a character is Unicode Pattern_White_Space, which PCRE2's `x` option skips. */
export function isPatternWhiteSpace(char: string): boolean {
  return /^[\t\n\v\f\r \x85\u200e\u200f\u2028\u2029]$/.test(char);
}
