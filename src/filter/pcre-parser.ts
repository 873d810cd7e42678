/**
 * A parser for PCRE2 patterns (the dialect of PyPcre, which Defuser uses) that checks them the way
 * PCRE2 does and reports errors with offsets. Constructs that Oniguruma cannot run with the same
 * meaning are rejected here with a reason, so a pattern is never matched with a silently changed meaning.
 */
import type {
  ConditionalNode, EngineFlags, GroupNode, GroupReference, GroupType, Node, ParsedPattern, QuantifierMode, Sequence,
} from './pcre-ast';
import { readClass, rejectBarePosixClass } from './pcre-class';
import { readEscape, resolveNumber } from './pcre-escapes';
import { checkLookbehind } from './pcre-lookbehind';
import { type ParseFlags, PcreReader } from './pcre-reader';

/** PCRE2's largest repeat count in `{n,m}`. */
const MAX_REPEAT = 65535;

/** Alphabetic assertion names of PCRE2 10.34+ that map to classic group syntax. */
const ALPHA_ASSERTIONS: Readonly<Record<string, GroupType>> = {
  pla: 'lookahead', positive_lookahead: 'lookahead',
  nla: 'negative-lookahead', negative_lookahead: 'negative-lookahead',
  plb: 'lookbehind', positive_lookbehind: 'lookbehind',
  nlb: 'negative-lookbehind', negative_lookbehind: 'negative-lookbehind',
  atomic: 'atomic',
};

/** Parses and checks a PCRE pattern. Throws PatternSyntaxError with the offset of the first problem. */
export function parsePcre(pattern: string): ParsedPattern {
  const reader = new PcreReader(pattern);
  const alternatives = parseAlternatives(reader, null);
  checkReferences(reader);
  const referencedGroups = new Set(reader.references.map(({ target }) => ('number' in target ? target.number : reader.groupNames.get(target.name) ?? 0)));
  return { alternatives, groupCount: reader.groupCount, groupNames: reader.groupNames, referencedGroups };
}

/**
 * Parses alternatives up to the `)` that closes the group opened at `groupStart` (consumed), or to the
 * end of the pattern when `groupStart` is null. The caller restores the options after the group.
 */
function parseAlternatives(reader: PcreReader, groupStart: number | null): Sequence[] {
  const groupFlags = reader.flags;
  const alternatives: Sequence[] = [];
  let current: Node[] = [];

  for (;;) {
    reader.skipExtendedSpace();
    if (reader.atEnd()) {
      if (groupStart !== null) {
        reader.fail(groupStart, 'the group is missing its closing )');
      }
      break;
    }
    if (reader.inQuote) {
      if (reader.lookingAt('\\E')) {
        reader.inQuote = false;
        reader.pos += 2;
      } else {
        const start = reader.pos;
        current.push({ kind: 'literal', code: reader.readCodePoint(), start, end: reader.pos });
      }
      continue;
    }
    const char = reader.peek();
    if (char === '|') {
      reader.pos += 1;
      alternatives.push(current);
      current = [];
      // PCRE carries an option change into the following alternatives of the same group; stating the
      // options again keeps that meaning when the emitter splits alternatives (as in lookbehinds).
      if (!sameEngineFlags(reader.flags, groupFlags)) {
        current.push({ kind: 'set-flags', flags: engineFlags(reader.flags), start: reader.pos, end: reader.pos });
      }
      continue;
    }
    if (char === ')') {
      if (groupStart === null) {
        reader.fail(reader.pos, 'this ) has no matching (');
      }
      reader.pos += 1;
      break;
    }
    const quantifier = readQuantifier(reader);
    if (quantifier !== null) {
      applyQuantifier(reader, current, quantifier);
      continue;
    }
    const node = parseAtom(reader);
    if (node !== null) {
      current.push(node);
    }
  }
  alternatives.push(current);
  return alternatives;
}

/** A quantifier read at the cursor. */
interface Quantifier {
  readonly start: number;
  readonly end: number;
  readonly min: number;
  readonly max: number;
  readonly mode: QuantifierMode;
}

/** Reads a quantifier at the cursor, or returns null when there is none (a `{` that is literal text). */
function readQuantifier(reader: PcreReader): Quantifier | null {
  const start = reader.pos;
  const char = reader.peek();
  let min: number;
  let max: number;
  if (char === '*' || char === '+' || char === '?') {
    reader.pos += 1;
    [min, max] = char === '*' ? [0, Infinity] : char === '+' ? [1, Infinity] : [0, 1];
  } else if (char === '{') {
    const bounds = readBraces(reader);
    if (bounds === null) {
      return null;
    }
    [min, max] = bounds;
  } else {
    return null;
  }
  let mode: QuantifierMode = reader.flags.ungreedy ? 'lazy' : 'greedy';
  if (reader.peek() === '+') {
    reader.pos += 1;
    mode = 'possessive';
  } else if (reader.peek() === '?') {
    reader.pos += 1;
    mode = reader.flags.ungreedy ? 'greedy' : 'lazy';
  }
  return { start, end: reader.pos, min, max, mode };
}

/** Reads `{n}`, `{n,}` or `{n,m}` at the cursor; returns null (cursor unchanged) for a literal `{`. */
function readBraces(reader: PcreReader): [number, number] | null {
  const start = reader.pos;
  const rest = reader.pattern.slice(start);
  const match = /^\{(\d+)(?:(,)(\d*))?\}/.exec(rest);
  if (match === null) {
    // PCRE2 10.43 and later read `{,n}` and braces with spaces as quantifiers, older versions as
    // literal text, so Defuser's meaning depends on the installed PCRE2: reject instead of guessing.
    if (/^\{[ \t]*\d*[ \t]*(?:,[ \t]*\d*[ \t]*)?\}/.test(rest) && /\d/.test(rest.slice(0, rest.indexOf('}')))) {
      reader.fail(start, 'this brace quantifier means {0,n} in PCRE2 10.43+ but literal text before; write {0,n} without spaces, or \\{ for a literal brace');
    }
    return null;
  }
  const [text, minText, comma, maxText] = match as unknown as [string, string, string | undefined, string | undefined];
  const min = Number(minText);
  const max = comma === undefined ? min : maxText === '' || maxText === undefined ? Infinity : Number(maxText);
  if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
    reader.fail(start, `the repeat count in ${text} is above PCRE2's limit of ${MAX_REPEAT}`);
  }
  if (max < min) {
    reader.fail(start, `the repeat range ${text} is out of order (minimum above maximum)`);
  }
  reader.pos += text.length;
  return [min, max];
}

/** Attaches a quantifier to the last node of the alternative, as PCRE does. */
function applyQuantifier(reader: PcreReader, current: Node[], quantifier: Quantifier): void {
  const target = current[current.length - 1];
  if (target === undefined || !isRepeatable(target)) {
    reader.fail(quantifier.start, 'the quantifier does not follow a repeatable item');
  }
  current[current.length - 1] = {
    kind: 'quantified', target, min: quantifier.min, max: quantifier.max, mode: quantifier.mode,
    start: target.start, end: quantifier.end,
  };
}

/** Whether PCRE accepts a quantifier after the node. */
function isRepeatable(node: Node): boolean {
  switch (node.kind) {
    case 'literal': case 'raw': case 'class': case 'backreference': case 'group': case 'conditional':
      return true;
    case 'assertion': case 'fail': case 'set-flags': case 'quantified':
      return false;
  }
}

/** Parses one atom at the cursor; returns null for text that matches nothing (comments, `\Q`, `\E`). */
function parseAtom(reader: PcreReader): Node | null {
  const start = reader.pos;
  const char = reader.peek();
  switch (char) {
    case '(':
      return parseGroup(reader);
    case '[':
      rejectBarePosixClass(reader);
      return readClass(reader);
    case '\\':
      return readEscape(reader);
    case '.': {
      reader.pos += 1;
      // Written as a class because Oniguruma 6.9 (vscode-oniguruma 2.0.1) mishandles `.*` and `.+`
      // after a lookaround: `(?<=1).+` finds no match in `x1.2`, seemingly because it then only tries
      // positions at line starts. Classes are not affected.
      const source = reader.flags.dotAll ? '[\\x{0}-\\x{10FFFF}]' : '[^\\x{A}]';
      return { kind: 'raw', source, length: { min: 1, max: 1 }, start, end: reader.pos };
    }
    case '^': case '$':
      reader.pos += 1;
      return { kind: 'assertion', source: char, start, end: reader.pos };
    default:
      return { kind: 'literal', code: reader.readCodePoint(), start, end: reader.pos };
  }
}

/** Parses a group; the cursor is on the `(`. Returns null for a comment or an isolated option. */
function parseGroup(reader: PcreReader): Node | null {
  const start = reader.pos;
  reader.pos += 1;
  if (reader.peek() === '*') {
    return parseStarGroup(reader, start);
  }
  if (reader.peek() !== '?') {
    if (reader.flags.noAutoCapture) {
      return parseGroupBody(reader, start, 'non-capture', null, null, null);
    }
    reader.groupCount += 1;
    return parseGroupBody(reader, start, 'capture', reader.groupCount, null, null);
  }
  reader.pos += 1;
  const char = reader.peek();
  switch (char) {
    case ':':
      reader.pos += 1;
      return parseGroupBody(reader, start, 'non-capture', null, null, null);
    case '>':
      reader.pos += 1;
      return parseGroupBody(reader, start, 'atomic', null, null, null);
    case '=':
      reader.pos += 1;
      return parseGroupBody(reader, start, 'lookahead', null, null, null);
    case '!':
      reader.pos += 1;
      return parseGroupBody(reader, start, 'negative-lookahead', null, null, null);
    case '|':
      return reader.fail(start, 'branch reset groups (?|...) are not supported');
    case '#':
      return skipComment(reader, start);
    case '(':
      return parseConditional(reader, start);
    case '<': {
      const next = reader.peek(1);
      if (next === '=' || next === '!') {
        reader.pos += 2;
        return parseGroupBody(reader, start, next === '=' ? 'lookbehind' : 'negative-lookbehind', null, null, null);
      }
      reader.pos += 1;
      return parseNamedGroup(reader, start, '>');
    }
    case "'":
      reader.pos += 1;
      return parseNamedGroup(reader, start, "'");
    case 'P':
      return parsePythonGroup(reader, start);
    case '&':
      return reader.fail(start, 'subroutine calls such as (?&name) are not supported');
    case 'C':
      return reader.fail(start, 'callouts (?C...) are not supported');
    case 'R':
      return reader.fail(start, 'recursion (?R) is not supported');
    default:
      break;
  }
  if (/\d/.test(char) || ((char === '+' || char === '-') && /\d/.test(reader.peek(1)))) {
    return reader.fail(start, 'recursion and subroutine calls such as (?1) are not supported');
  }
  return parseOptions(reader, start);
}

/** Parses the alternatives of a group whose opening syntax has been read, and builds the node. */
function parseGroupBody(
  reader: PcreReader,
  start: number,
  type: GroupType,
  number: number | null,
  name: string | null,
  flags: ParseFlags | null,
): GroupNode {
  const outerFlags = reader.flags;
  const isLookaround = type === 'lookahead' || type === 'negative-lookahead' || type === 'lookbehind' || type === 'negative-lookbehind';
  if (flags !== null) {
    reader.flags = flags;
  }
  if (isLookaround) {
    reader.lookaroundDepth += 1;
  }
  const alternatives = parseAlternatives(reader, start);
  if (isLookaround) {
    reader.lookaroundDepth -= 1;
  }
  reader.flags = outerFlags;
  const group: GroupNode = {
    kind: 'group', type, number, name, flags: flags === null ? null : engineFlags(flags), alternatives, start, end: reader.pos,
  };
  if (type === 'lookbehind' || type === 'negative-lookbehind') {
    checkLookbehind(reader, group);
  }
  return group;
}

/** Parses `(?<name>...)` or `(?'name'...)`; the cursor is on the name. */
function parseNamedGroup(reader: PcreReader, start: number, terminator: string): GroupNode {
  const name = reader.readGroupName(terminator, start);
  if (reader.groupNames.has(name)) {
    reader.fail(start, `two groups are named "${name}"; PCRE2 requires unique group names`);
  }
  reader.groupCount += 1;
  reader.groupNames.set(name, reader.groupCount);
  return parseGroupBody(reader, start, 'capture', reader.groupCount, name, null);
}

/** Parses the Python-style `(?P<name>...)`, `(?P=name)` and `(?P>name)`; the cursor is on the `P`. */
function parsePythonGroup(reader: PcreReader, start: number): Node {
  reader.pos += 1;
  const char = reader.peek();
  if (char === '<') {
    reader.pos += 1;
    return parseNamedGroup(reader, start, '>');
  }
  if (char === '=') {
    reader.pos += 1;
    const name = reader.readGroupName(')', start);
    const target: GroupReference = { name };
    reader.references.push({ target, start, end: reader.pos });
    return { kind: 'backreference', target, start, end: reader.pos };
  }
  if (char === '>') {
    return reader.fail(start, 'subroutine calls such as (?P>name) are not supported');
  }
  return reader.fail(start, '(?P must be followed by <name>, =name) or >name)');
}

/** Skips `(?#...)`; the cursor is on the `#`. */
function skipComment(reader: PcreReader, start: number): null {
  const close = reader.pattern.indexOf(')', reader.pos);
  if (close < 0) {
    reader.fail(start, 'the comment (?# is missing its closing )');
  }
  reader.pos = close + 1;
  return null;
}

/** Parses `(*VERB)` and alphabetic assertions such as `(*pla:...)`; the cursor is on the `*`. */
function parseStarGroup(reader: PcreReader, start: number): Node | null {
  reader.pos += 1;
  const name = reader.readWhile((char) => /[A-Za-z_]/.test(char));
  if (name.length === 0) {
    return reader.fail(start + 1, 'the quantifier does not follow a repeatable item');
  }
  const assertion = ALPHA_ASSERTIONS[name];
  if (assertion !== undefined && reader.peek() === ':') {
    reader.pos += 1;
    return parseGroupBody(reader, start, assertion, null, null, null);
  }
  if ((name === 'FAIL' || name === 'F') && reader.peek() === ')') {
    reader.pos += 1;
    return { kind: 'fail', start, end: reader.pos };
  }
  return reader.fail(start, `(*${name}...) is not supported: backtracking verbs and start-of-pattern options cannot be translated`);
}

/** Parses an option setting `(?imnsxU-imnsxU)` or `(?^...)`, isolated or with `:`; the cursor is after `(?`. */
function parseOptions(reader: PcreReader, start: number): Node | null {
  let flags: { -readonly [K in keyof ParseFlags]: ParseFlags[K] } = { ...reader.flags };
  let negate = false;
  let letters = '';
  if (reader.peek() === '^') {
    reader.pos += 1;
    flags = { ...flags, caseless: false, multiline: false, dotAll: false, extended: false, extendedMore: false, noAutoCapture: false };
  }
  for (;;) {
    if (reader.atEnd()) {
      reader.fail(start, 'the group is missing its closing )');
    }
    const char = reader.peek();
    if (char === ')' || char === ':') {
      break;
    }
    reader.pos += 1;
    if (char === '-' && !negate) {
      negate = true;
      continue;
    }
    const on = !negate;
    switch (char) {
      case 'i': flags.caseless = on; break;
      case 'm': flags.multiline = on; break;
      case 's': flags.dotAll = on; break;
      case 'n': flags.noAutoCapture = on; break;
      case 'U': flags.ungreedy = on; break;
      case 'x':
        // `xx` (twice before any `-`) also ignores spaces in classes; `-x` turns both off.
        flags.extendedMore = on && letters.includes('x');
        flags.extended = on;
        break;
      case 'J':
        return reader.fail(reader.pos - 1, 'duplicate group names (?J) are not supported');
      default:
        return reader.fail(reader.pos - 1, `"${char}" is not a PCRE option letter (expected i, m, n, s, x or U)`);
    }
    if (on) {
      letters += char;
    }
  }
  if (reader.peek() === ':') {
    reader.pos += 1;
    return parseGroupBody(reader, start, 'non-capture', null, null, flags);
  }
  reader.pos += 1;
  const before = reader.flags;
  reader.flags = flags;
  if (sameEngineFlags(before, flags)) {
    return null;
  }
  return { kind: 'set-flags', flags: engineFlags(flags), start, end: reader.pos };
}

/** Parses a conditional group `(?(condition)yes|no)`; the cursor is on the second `(`. */
function parseConditional(reader: PcreReader, start: number): ConditionalNode {
  const conditionStart = reader.pos;
  reader.pos += 1;
  const close = reader.pattern.indexOf(')', reader.pos);
  const text = close < 0 ? '' : reader.pattern.slice(reader.pos, close);
  let condition: GroupReference;
  if (text.startsWith('?') || text.startsWith('*')) {
    return reader.fail(conditionStart, 'conditions that are assertions, as in (?(?=...)...), are not supported');
  } else if (/^[+-]?\d+$/.test(text)) {
    condition = { number: resolveNumber(reader, conditionStart, text) };
  } else if (/^<[A-Za-z_]\w*>$/.test(text) || /^'[A-Za-z_]\w*'$/.test(text)) {
    condition = { name: text.slice(1, -1) };
  } else if (/^R(\d+|&\w+)?$/.test(text) || text === 'DEFINE' || text.startsWith('VERSION')) {
    return reader.fail(conditionStart, `the condition (${text}) is not supported; only group numbers and names are`);
  } else if (/^[A-Za-z_]\w*$/.test(text)) {
    condition = { name: text };
  } else {
    return reader.fail(conditionStart, 'the condition must be a group number or name, as in (?(1)...) or (?(<name>)...)');
  }
  reader.pos = close + 1;
  const conditionEnd = reader.pos;
  reader.references.push({ target: condition, start: conditionStart, end: conditionEnd });
  const outerFlags = reader.flags;
  const alternatives = parseAlternatives(reader, start);
  reader.flags = outerFlags;
  if (alternatives.length > 2) {
    reader.fail(start, 'the conditional group has more than two alternatives');
  }
  const [yes = [], no = null] = alternatives;
  return { kind: 'conditional', condition, conditionStart, conditionEnd, yes, no, start, end: reader.pos };
}

/** Checks that every backreference and condition names a group that exists somewhere in the pattern. */
function checkReferences(reader: PcreReader): void {
  for (const reference of reader.references) {
    const target = reference.target;
    if ('number' in target) {
      if (target.number > reader.groupCount) {
        reader.fail(reference.start, `group ${target.number} does not exist (the pattern has ${reader.groupCount} capture groups)`);
      }
    } else if (!reader.groupNames.has(target.name)) {
      reader.fail(reference.start, `no group is named "${target.name}"`);
    }
  }
}

/** The options Oniguruma receives. */
function engineFlags(flags: EngineFlags): EngineFlags {
  return { caseless: flags.caseless, multiline: flags.multiline, dotAll: flags.dotAll };
}

function sameEngineFlags(left: EngineFlags, right: EngineFlags): boolean {
  return left.caseless === right.caseless && left.multiline === right.multiline && left.dotAll === right.dotAll;
}
