/** Bracketed character classes of PCRE2, including POSIX classes and their UCP-mode meanings. */
import type { ClassItem, ClassNode } from './pcre-ast';
import { readClassEscape } from './pcre-escapes';
import type { PcreReader } from './pcre-reader';
import { HORIZONTAL_SPACE, complementRanges, rangeItems } from './pcre-sets';

/**
 * POSIX classes as Oniguruma class parts, following PCRE2's UCP mode (PyPcre's default for text
 * patterns): several become Unicode properties, which also keeps `(?i)[[:upper:]]` from matching
 * lower-case letters, and `[:punct:]` includes the ASCII symbols such as `$` that Oniguruma leaves out.
 * `null` marks a negated form that one class item cannot express, because Oniguruma classes have no
 * set operations in Perl syntax. The parser rejects it and suggests the `[^[:name:]]` spelling.
 */
const POSIX_CLASSES: Readonly<Record<string, { readonly positive: readonly ClassItem[]; readonly negative: readonly ClassItem[] | null }>> = {
  alpha: { positive: [raw('\\p{L}')], negative: [raw('\\P{L}')] },
  digit: { positive: [raw('\\p{Nd}')], negative: [raw('\\P{Nd}')] },
  lower: { positive: [raw('\\p{Ll}')], negative: [raw('\\P{Ll}')] },
  upper: { positive: [raw('\\p{Lu}')], negative: [raw('\\P{Lu}')] },
  cntrl: { positive: [raw('\\p{Cc}')], negative: [raw('\\P{Cc}')] },
  word: { positive: [raw('\\w')], negative: [raw('\\W')] },
  space: { positive: [raw('\\p{Z}'), raw('\\x{9}-\\x{D}')], negative: null },
  blank: { positive: rangeItems(HORIZONTAL_SPACE), negative: rangeItems(complementRanges(HORIZONTAL_SPACE)) },
  alnum: { positive: [raw('\\p{L}'), raw('\\p{N}')], negative: null },
  punct: { positive: [raw('\\p{P}'), raw('$+<=>^`|~'.split('').map((char) => `\\x{${char.charCodeAt(0).toString(16)}}`).join(''))], negative: null },
  ascii: { positive: [raw('[:ascii:]')], negative: [raw('[:^ascii:]')] },
  xdigit: { positive: [raw('0-9A-Fa-f')], negative: [raw('[:^xdigit:]')] },
  graph: { positive: [raw('[:graph:]')], negative: [raw('[:^graph:]')] },
  print: { positive: [raw('[:print:]')], negative: [raw('[:^print:]')] },
};

function raw(source: string): ClassItem {
  return { kind: 'raw', source };
}

/** Reads a class; the cursor is on the `[`. */
export function readClass(reader: PcreReader): ClassNode {
  const start = reader.pos;
  reader.pos += 1;
  const negated = reader.peek() === '^';
  if (negated) {
    reader.pos += 1;
  }
  const items: ClassItem[] = [];
  let first = true;

  for (;;) {
    const item = readClassAtom(reader, start, first);
    if (item === 'end') {
      break;
    }
    if (item === null) {
      // `\Q\E` and `\E` are ignored, so a `]` after them is still the first character and literal.
      continue;
    }
    first = false;
    skipQuoteEnds(reader);
    if ('code' in item && isRangeDash(reader)) {
      const dash = reader.pos;
      reader.pos += 1;
      const upper = readRangeEnd(reader, start);
      if (upper === 'end') {
        // Only `\E` or `\Q\E` stood between the dash and `]`, so PCRE2 reads the dash literally.
        items.push({ kind: 'char', code: item.code }, { kind: 'char', code: 0x2d });
        break;
      }
      if (!('code' in upper)) {
        reader.fail(dash, 'a range in a character class cannot end with a class such as \\d or [:alpha:]');
      }
      if (upper.code < item.code) {
        reader.fail(dash, 'the range in the character class is out of order (its start is above its end)');
      }
      items.push({ kind: 'range', from: item.code, to: upper.code });
      continue;
    }
    if (!('code' in item) && isRangeDash(reader)) {
      reader.fail(reader.pos, 'a range in a character class cannot start with a class such as \\d or [:alpha:]');
    }
    items.push(...('code' in item ? [{ kind: 'char' as const, code: item.code }] : item.items));
  }
  return { kind: 'class', negated, items, caseless: reader.flags.caseless, start, end: reader.pos };
}

/** Skips `\E` at the cursor (leaving a quote, or ignored), so that `[\Qa\E-z]` is a range as in PCRE2. */
function skipQuoteEnds(reader: PcreReader): void {
  while (reader.lookingAt('\\E')) {
    reader.inQuote = false;
    reader.pos += 2;
  }
}

/** Whether the cursor is on a `-` that forms a range (not the last character before `]`). */
function isRangeDash(reader: PcreReader): boolean {
  return !reader.inQuote && reader.peek() === '-' && reader.peek(1) !== ']' && reader.peek(1) !== '';
}

type ClassAtom = { readonly code: number } | { readonly items: readonly ClassItem[] } | null | 'end';

/** Reads the end of a range, skipping `\E` and entering `\Q` as PCRE2 does; 'end' when `]` comes first. */
function readRangeEnd(reader: PcreReader, classStart: number): Exclude<ClassAtom, null> {
  for (;;) {
    const atom = readClassAtom(reader, classStart, false);
    if (atom !== null) {
      return atom;
    }
  }
}

/** Reads one class member, or returns 'end' after the closing `]`, or null for ignored text. */
function readClassAtom(reader: PcreReader, classStart: number, first: boolean): ClassAtom {
  if (reader.atEnd()) {
    reader.fail(classStart, 'the character class is missing its closing ]');
  }
  if (reader.inQuote) {
    if (reader.lookingAt('\\E')) {
      reader.inQuote = false;
      reader.pos += 2;
      return null;
    }
    return { code: reader.readCodePoint() };
  }
  const char = reader.peek();
  if (char === ']' && !first) {
    reader.pos += 1;
    return 'end';
  }
  if (reader.flags.extendedMore && (char === ' ' || char === '\t')) {
    reader.pos += 1;
    return null;
  }
  if (char === '\\') {
    return readClassEscape(reader);
  }
  if (char === '[') {
    const posix = readPosixClass(reader);
    if (posix !== null) {
      return { items: posix };
    }
  }
  return { code: reader.readCodePoint() };
}

/** Reads `[:name:]` or `[:^name:]` at the cursor, or returns null when the `[` is a literal. */
function readPosixClass(reader: PcreReader): readonly ClassItem[] | null {
  const match = /^\[([:.=])(\^?)([^\]\\[]*?)\1\]/.exec(reader.pattern.slice(reader.pos));
  if (match === null) {
    return null;
  }
  const start = reader.pos;
  const [text, delimiter, caret, name] = match as unknown as [string, string, string, string];
  if (delimiter !== ':') {
    reader.fail(start, 'POSIX collating elements such as [.a.] and [=a=] are not supported');
  }
  const posix = POSIX_CLASSES[name];
  if (posix === undefined) {
    reader.fail(start, `[:${name}:] is not a POSIX class name`);
  }
  reader.pos += text.length;
  if (caret === '') {
    return posix.positive;
  }
  if (posix.negative === null) {
    reader.fail(start, `[:^${name}:] is not supported; write the negated class [^[:${name}:]] instead`);
  }
  return posix.negative;
}

/**
 * Rejects `[:alpha:]` written outside brackets, which PCRE2 treats as an error because it is almost
 * always a class missing its outer brackets. The cursor is on the `[`.
 */
export function rejectBarePosixClass(reader: PcreReader): void {
  if (/^\[([:.=])\^?[^\]\\[]*?\1\]/.test(reader.pattern.slice(reader.pos))) {
    reader.fail(reader.pos, 'POSIX classes such as [:alpha:] are valid only inside a class, as in [[:alpha:]]');
  }
}
