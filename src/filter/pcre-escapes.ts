/** Backslash escapes of PCRE2 (UTF and UCP mode, as PyPcre compiles text patterns), inside and outside classes. */
import type { ClassItem, Node } from './pcre-ast';
import type { PcreReader } from './pcre-reader';
import {
  HORIZONTAL_SPACE, MAX_CODE_POINT, VERTICAL_SPACE, type CodePointRange, codePointSource, complementRanges, rangeItems,
} from './pcre-sets';

/** The meaning of an escape inside a class: one character (usable in a range) or a set. */
export type ClassEscape = { readonly code: number } | { readonly items: readonly ClassItem[] } | null;

const SIMPLE_CHARACTERS: Readonly<Record<string, number>> = { a: 0x07, e: 0x1b, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 };

/** PCRE2's `\R` with its default (Unicode) newline set; an atomic group so that `\r\n` is not split. */
const NEWLINE_SEQUENCE = '(?>\\x{D}\\x{A}|[\\x{A}-\\x{D}\\x{85}\\x{2028}\\x{2029}])';

const UNSUPPORTED_CASE_ESCAPES = 'FLlUu';

/**
 * Reads an escape outside a class; the cursor is on the backslash. Returns null for escapes that match
 * nothing by themselves (`\E`, and `\Q`, which starts a quoted run).
 */
export function readEscape(reader: PcreReader): Node | null {
  const start = reader.pos;
  reader.pos += 1;
  if (reader.atEnd()) {
    reader.fail(start, 'the pattern ends with a lone backslash');
  }
  const letter = reader.peek();

  if (/[1-9]/.test(letter)) {
    const digits = reader.readWhile((char) => /\d/.test(char));
    const number = Number(digits);
    // PCRE2 reads a backreference when the number is below 10, starts with 8 or 9, or does not exceed
    // the groups opened so far. Anything else is up to three octal digits.
    if (number < 10 || /^[89]/.test(digits) || number <= reader.groupCount) {
      return backreference(reader, start, { number });
    }
    reader.pos = start + 1;
    return literal(start, reader, readOctalDigits(reader, 3));
  }
  const character = readCharacterEscape(reader, start, false);
  if (character !== undefined) {
    return literal(start, reader, character);
  }

  reader.pos += 1;
  switch (letter) {
    case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G':
      return { kind: 'assertion', source: `\\${letter}`, start, end: reader.pos };
    case 'K':
      if (reader.lookaroundDepth > 0) {
        reader.fail(start, '\\K is not allowed inside lookahead or lookbehind assertions');
      }
      return { kind: 'assertion', source: '\\K', start, end: reader.pos };
    case 'Q':
      reader.inQuote = true;
      return null;
    case 'E':
      return null;
    case 'N':
      // \N{U+hh} was handled as a character; a plain \N is any character but a newline.
      return raw(start, reader, '[^\\n]', 1, 1);
    case 'R':
      return raw(start, reader, NEWLINE_SEQUENCE, 1, 2);
    case 'X':
      return raw(start, reader, '\\X', 1, Infinity);
    case 'C':
      return reader.fail(start, '\\C (a single code unit) is not supported');
    case 'g':
      return readGReference(reader, start);
    case 'k':
      return readKReference(reader, start);
    default:
      break;
  }
  reader.pos -= 1;
  const set = readTypeEscape(reader, start, false);
  if (set !== null) {
    return raw(start, reader, set.outside, 1, 1);
  }
  return literal(start, reader, readOtherEscape(reader, start));
}

/** Reads an escape inside a class; the cursor is on the backslash. */
export function readClassEscape(reader: PcreReader): ClassEscape {
  const start = reader.pos;
  reader.pos += 1;
  if (reader.atEnd()) {
    reader.fail(start, 'the pattern ends with a lone backslash');
  }
  const letter = reader.peek();
  if (letter === '8' || letter === '9') {
    // Inside a class PCRE2 reads \8 and \9 as the digits themselves.
    reader.pos += 1;
    return { code: letter.charCodeAt(0) };
  }
  if (/[1-7]/.test(letter)) {
    return { code: readOctalDigits(reader, 3) };
  }
  if (letter === 'b') {
    reader.pos += 1;
    return { code: 0x08 };
  }
  const character = readCharacterEscape(reader, start, true);
  if (character !== undefined) {
    return { code: character };
  }
  if (letter === 'Q') {
    reader.pos += 1;
    reader.inQuote = true;
    return null;
  }
  if (letter === 'E') {
    reader.pos += 1;
    return null;
  }
  if (letter === 'N') {
    reader.fail(start, '\\N is not supported inside a character class');
  }
  const set = readTypeEscape(reader, start, true);
  if (set !== null) {
    return { items: set.inside };
  }
  if ('BRXAzZGKgkC'.includes(letter)) {
    reader.fail(start, `the escape \\${letter} is not valid inside a character class`);
  }
  return { code: readOtherEscape(reader, start) };
}

/** Reads the code point of a character escape at `reader.pos` (the letter after `\`), if it is one. */
function readCharacterEscape(reader: PcreReader, start: number, inClass: boolean): number | undefined {
  const letter = reader.peek();
  const simple = SIMPLE_CHARACTERS[letter];
  if (simple !== undefined) {
    reader.pos += 1;
    return simple;
  }
  switch (letter) {
    case '0':
      reader.pos += 1;
      return readOctalDigits(reader, 2, 0);
    case 'x':
      reader.pos += 1;
      return readHex(reader, start);
    case 'o':
      reader.pos += 1;
      if (reader.peek() !== '{') {
        reader.fail(start, '\\o must be followed by an octal number in braces, as in \\o{101}');
      }
      reader.pos += 1;
      return readBracedNumber(reader, start, 8);
    case 'c':
      return readControl(reader, start);
    case 'N':
      if (reader.lookingAt('N{U+')) {
        reader.pos += 4;
        return readBracedNumber(reader, start, 16);
      }
      if (reader.peek(1) === '{' && (inClass || !/^\{\d+(,\d*)?\}/.test(reader.pattern.slice(reader.pos + 1)))) {
        reader.fail(start, 'PCRE2 does not support \\N{name}; write the character as \\x{...} or \\N{U+...}');
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Reads up to `limit` octal digits after the cursor, starting from `initial`. */
function readOctalDigits(reader: PcreReader, limit: number, initial = 0): number {
  let value = initial;
  for (let count = 0; count < limit && /[0-7]/.test(reader.peek()); count += 1) {
    value = value * 8 + Number(reader.peek());
    reader.pos += 1;
  }
  return value;
}

/** Reads `\xhh` (zero to two hex digits) or `\x{h...}`; the cursor is after the `x`. */
function readHex(reader: PcreReader, start: number): number {
  if (reader.peek() === '{') {
    reader.pos += 1;
    return readBracedNumber(reader, start, 16);
  }
  const digits = reader.pattern.slice(reader.pos).match(/^[0-9A-Fa-f]{0,2}/)?.[0] ?? '';
  reader.pos += digits.length;
  return digits.length === 0 ? 0 : parseInt(digits, 16);
}

/** Reads `digits}` in base 8 or 16 and checks the code point; the cursor is after the `{`. */
function readBracedNumber(reader: PcreReader, start: number, base: 8 | 16): number {
  const digitPattern = base === 16 ? /[0-9A-Fa-f]/ : /[0-7]/;
  const digits = reader.readWhile((char) => digitPattern.test(char));
  if (reader.peek() !== '}') {
    const kind = base === 16 ? 'hexadecimal' : 'octal';
    reader.fail(reader.atEnd() ? start : reader.pos, `expected ${kind} digits and a closing brace`);
  }
  if (digits.length === 0) {
    reader.fail(start, 'digits are missing inside the braces');
  }
  reader.pos += 1;
  const value = parseInt(digits, base);
  if (value > MAX_CODE_POINT) {
    reader.fail(start, `the code point ${digits} is above U+10FFFF`);
  }
  if (value >= 0xd800 && value <= 0xdfff) {
    reader.fail(start, `the code point ${digits} is a UTF-16 surrogate, which is not a character`);
  }
  return value;
}

/** Reads `\cX`; the cursor is on the `c`. */
function readControl(reader: PcreReader, start: number): number {
  reader.pos += 1;
  if (reader.atEnd()) {
    reader.fail(start, 'the pattern ends after \\c');
  }
  const char = reader.peek();
  const code = char.charCodeAt(0);
  if (code < 0x20 || code > 0x7e) {
    reader.fail(start, '\\c must be followed by a printable ASCII character');
  }
  reader.pos += 1;
  return char.toUpperCase().charCodeAt(0) ^ 0x40;
}

/** The two spellings of a set escape: a standalone atom and class items. */
interface SetEscape {
  readonly outside: string;
  readonly inside: readonly ClassItem[];
}

/** Reads `\d \D \w \W \s \S \h \H \v \V \p \P`; the cursor is on the letter. Returns null for others. */
function readTypeEscape(reader: PcreReader, start: number, inClass: boolean): SetEscape | null {
  const letter = reader.peek();
  if ('dDwWsS'.includes(letter)) {
    reader.pos += 1;
    return { outside: `\\${letter}`, inside: [{ kind: 'raw', source: `\\${letter}` }] };
  }
  if ('hHvV'.includes(letter)) {
    reader.pos += 1;
    const base = letter.toLowerCase() === 'h' ? HORIZONTAL_SPACE : VERTICAL_SPACE;
    const ranges: readonly CodePointRange[] = letter === letter.toUpperCase() ? complementRanges(base) : base;
    const items = rangeItems(ranges);
    return { outside: classSource(items), inside: items };
  }
  if (letter === 'p' || letter === 'P') {
    reader.pos += 1;
    return readProperty(reader, start, letter === 'P', inClass);
  }
  return null;
}

/** Reads the property after `\p` or `\P`. */
function readProperty(reader: PcreReader, start: number, negatedEscape: boolean, inClass: boolean): SetEscape {
  let name: string;
  if (reader.peek() === '{') {
    const close = reader.pattern.indexOf('}', reader.pos);
    if (close < 0) {
      reader.fail(start, 'the property name after \\p or \\P is missing its closing brace');
    }
    name = reader.pattern.slice(reader.pos + 1, close);
    reader.pos = close + 1;
  } else if (/[A-Za-z]/.test(reader.peek())) {
    name = reader.peek();
    reader.pos += 1;
  } else {
    return reader.fail(start, '\\p and \\P must be followed by a property name, as in \\p{L} or \\pL');
  }
  let negated = negatedEscape;
  if (name.startsWith('^')) {
    negated = !negated;
    name = name.slice(1);
  }
  if (!/^[A-Za-z0-9_ &-]+$/.test(name)) {
    reader.fail(start, `the property name "${name}" is not valid`);
  }
  const compact = name.replace(/[ _-]/g, '').toLowerCase();
  // PCRE2's own compound properties have no Oniguruma name, so they are spelled out as sets.
  const special = SPECIAL_PROPERTIES[compact];
  if (special !== undefined) {
    if (!negated) {
      return { outside: `[${special.join('')}]`, inside: special.map((source) => ({ kind: 'raw', source })) };
    }
    if (inClass) {
      reader.fail(start, `the negated property ${name} is not supported inside a character class`);
    }
    return { outside: `[^${special.join('')}]`, inside: [] };
  }
  // `L&` is PCRE's name for cased letters, which Oniguruma calls `LC`.
  const engineName = compact === 'l&' || compact === 'lc' ? 'LC' : name;
  const source = `\\${negated ? 'P' : 'p'}{${engineName}}`;
  return { outside: source, inside: [{ kind: 'raw', source }] };
}

/** PCRE2's compound properties as Oniguruma class parts, keyed by the name in lower case. */
const SPECIAL_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  xan: ['\\p{L}', '\\p{N}'],
  xps: ['\\p{Z}', '\\x{9}-\\x{D}'],
  xsp: ['\\p{Z}', '\\x{9}-\\x{D}'],
  xwd: ['\\p{L}', '\\p{N}', '_'],
};

/** Reads `\g` references; the cursor is after the `g`. */
function readGReference(reader: PcreReader, start: number): Node {
  const char = reader.peek();
  if (char === '<' || char === "'") {
    reader.fail(start, 'subroutine calls such as \\g<name> are not supported');
  }
  let text: string;
  if (char === '{') {
    const close = reader.pattern.indexOf('}', reader.pos);
    if (close < 0) {
      reader.fail(start, '\\g{ is missing its closing brace');
    }
    text = reader.pattern.slice(reader.pos + 1, close);
    reader.pos = close + 1;
  } else {
    const sign = char === '+' || char === '-' ? char : '';
    reader.pos += sign.length;
    text = sign + reader.readWhile((digit) => /\d/.test(digit));
  }
  if (/^[+-]?\d+$/.test(text)) {
    return backreference(reader, start, { number: resolveNumber(reader, start, text) });
  }
  if (/^[A-Za-z_]\w*$/.test(text)) {
    return backreference(reader, start, { name: text });
  }
  return reader.fail(start, '\\g must be followed by a group number or a name in braces, as in \\g{1} or \\g{-1}');
}

/** Reads `\k<name>`, `\k'name'` or `\k{name}`; the cursor is after the `k`. */
function readKReference(reader: PcreReader, start: number): Node {
  const terminators: Readonly<Record<string, string>> = { '<': '>', "'": "'", '{': '}' };
  const terminator = terminators[reader.peek()];
  if (terminator === undefined) {
    reader.fail(start, "\\k must be followed by a group name in <>, '' or {}");
  }
  reader.pos += 1;
  const name = reader.readGroupName(terminator, start);
  return backreference(reader, start, { name });
}

/** Turns a group number, absolute or relative (`-1` is the last group opened), into an absolute one. */
export function resolveNumber(reader: PcreReader, start: number, text: string): number {
  const value = Number(text);
  if (text.startsWith('-')) {
    const number = reader.groupCount + 1 + value;
    if (value === 0 || number < 1) {
      reader.fail(start, `the relative group reference ${text} points before the first group`);
    }
    return number;
  }
  if (text.startsWith('+')) {
    if (value === 0) {
      reader.fail(start, 'a relative group reference must not be +0');
    }
    return reader.groupCount + value;
  }
  if (value === 0) {
    reader.fail(start, 'group 0 is the whole match and cannot be referenced');
  }
  return value;
}

/** Reads any other escaped character: punctuation is literal, letters and digits are errors. */
function readOtherEscape(reader: PcreReader, start: number): number {
  const code = reader.readCodePoint();
  const char = String.fromCodePoint(code);
  if (UNSUPPORTED_CASE_ESCAPES.includes(char)) {
    reader.fail(start, `PCRE2 does not support \\${char}; write characters as \\x{...}`);
  }
  if (/[A-Za-z0-9]/.test(char)) {
    reader.fail(start, `\\${char} is not a PCRE escape sequence`);
  }
  return code;
}

function literal(start: number, reader: PcreReader, code: number): Node {
  return { kind: 'literal', code, start, end: reader.pos };
}

function raw(start: number, reader: PcreReader, source: string, min: number, max: number): Node {
  return { kind: 'raw', source, length: { min, max }, start, end: reader.pos };
}

function backreference(reader: PcreReader, start: number, target: { number: number } | { name: string }): Node {
  reader.references.push({ target, start, end: reader.pos });
  return { kind: 'backreference', target, start, end: reader.pos };
}

/** Writes class items as one bracketed Oniguruma class. */
export function classSource(items: readonly ClassItem[], negated = false): string {
  const parts = items.map((item) => {
    switch (item.kind) {
      case 'char':
        return codePointSource(item.code);
      case 'range':
        return `${codePointSource(item.from)}-${codePointSource(item.to)}`;
      case 'raw':
        return item.source;
    }
  });
  return `[${negated ? '^' : ''}${parts.join('')}]`;
}
