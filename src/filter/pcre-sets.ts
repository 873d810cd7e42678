/** Code point sets of PCRE escapes that Oniguruma spells differently or not at all. */
import type { ClassItem } from './pcre-ast';

/** An inclusive code point range. */
export type CodePointRange = readonly [number, number];

/** The last Unicode code point. */
export const MAX_CODE_POINT = 0x10ffff;

/** PCRE's `\h` (horizontal white space); in Oniguruma `\h` is a hexadecimal digit instead. */
export const HORIZONTAL_SPACE: readonly CodePointRange[] = [
  [0x09, 0x09], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x180e, 0x180e],
  [0x2000, 0x200a], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];

/** PCRE's `\v` (vertical white space); in Oniguruma `\v` is only the vertical tab. */
export const VERTICAL_SPACE: readonly CodePointRange[] = [
  [0x0a, 0x0d], [0x85, 0x85], [0x2028, 0x2029],
];

/** Returns the code points outside `ranges` (which must be sorted and disjoint). */
export function complementRanges(ranges: readonly CodePointRange[]): CodePointRange[] {
  const result: CodePointRange[] = [];
  let next = 0;
  for (const [from, to] of ranges) {
    if (from > next) {
      result.push([next, from - 1]);
    }
    next = to + 1;
  }
  if (next <= MAX_CODE_POINT) {
    result.push([next, MAX_CODE_POINT]);
  }
  return result;
}

/** Writes a code point in Oniguruma syntax that means the same character inside and outside classes. */
export function codePointSource(code: number): string {
  const isPlain = (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
  // Braces matter: in Oniguruma `\xHH` without braces is one UTF-8 byte, not a code point.
  return isPlain ? String.fromCodePoint(code) : `\\x{${code.toString(16).toUpperCase()}}`;
}

/** Turns ranges into class items. */
export function rangeItems(ranges: readonly CodePointRange[]): ClassItem[] {
  return ranges.map(([from, to]) => (from === to ? { kind: 'char', code: from } : { kind: 'range', from, to }));
}
