import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileFilter } from '../../../src/filter/index';

/** A pattern with subjects it must match and subjects it must not match. */
interface Case {
  readonly pattern: string;
  readonly matches: readonly string[];
  readonly rejects: readonly string[];
}

/** Checks every subject of every case against a one-rule filter. */
async function checkCases(cases: readonly Case[]): Promise<void> {
  for (const { pattern, matches, rejects } of cases) {
    const filter = await compileFilter([`+:${pattern}`]);
    for (const subject of matches) {
      assert.equal(filter.matches(0, subject), true, `${JSON.stringify(pattern)} must match ${JSON.stringify(subject)}`);
    }
    for (const subject of rejects) {
      assert.equal(filter.matches(0, subject), false, `${JSON.stringify(pattern)} must not match ${JSON.stringify(subject)}`);
    }
  }
}

describe('PCRE constructs', () => {
  it('resets the match start with \\K', async () => {
    await checkCases([
      { pattern: '^model\\.layers\\.\\K1\\.mlp\\.experts$', matches: ['model.layers.1.mlp.experts'], rejects: ['model.layers.11.mlp.experts', 'model.layers.1.mlp.experts.x'] },
      { pattern: '(?:a\\K)+b', matches: ['aab'], rejects: ['aa'] },
    ]);
  });

  it('supports lookbehind', async () => {
    await checkCases([
      { pattern: '(?<=layers\\.)1\\.', matches: ['model.layers.1.mlp'], rejects: ['model.layers.11.mlp', 'model.1.mlp'] },
      { pattern: '(?<!shared_)experts$', matches: ['mlp.experts'], rejects: ['mlp.shared_experts'] },
      { pattern: '(?<=\\d{1,3}\\.)mlp', matches: ['layers.12.mlp'], rejects: ['layers.x.mlp'] },
    ]);
  });

  it('supports lookbehind alternatives of different lengths', async () => {
    await checkCases([
      { pattern: '(?<=ab|c)d', matches: ['abd', 'cd'], rejects: ['bd', 'd'] },
      { pattern: '(?<!ab|c)d', matches: ['xd', 'bd', 'd'], rejects: ['abd', 'cd'] },
      { pattern: '(?<=layers\\.(?:1|2)\\.)mlp', matches: ['layers.1.mlp', 'layers.2.mlp'], rejects: ['layers.3.mlp'] },
    ]);
  });

  it('supports lookahead', async () => {
    await checkCases([
      { pattern: '^(?!.*shared).*experts$', matches: ['model.layers.0.mlp.experts'], rejects: ['model.layers.0.mlp.shared_experts'] },
      { pattern: 'layers\\.(?=1)', matches: ['layers.1'], rejects: ['layers.2'] },
    ]);
  });

  it('supports atomic groups', async () => {
    await checkCases([
      { pattern: '^(?>a+)a', matches: [], rejects: ['aaa', 'a'] },
      { pattern: '^(?>a+)b', matches: ['aab'], rejects: ['aa'] },
      { pattern: '(?>layers\\.\\d+)\\.mlp', matches: ['layers.12.mlp'], rejects: ['layers.12x.mlp'] },
    ]);
  });

  it('supports possessive quantifiers', async () => {
    await checkCases([
      { pattern: '^a++a', matches: [], rejects: ['aaa'] },
      { pattern: '^a*+b', matches: ['aab', 'b'], rejects: ['aa'] },
      { pattern: '^a?+a', matches: ['aa'], rejects: ['a'] },
      { pattern: '^a{1,2}+a', matches: ['aaa'], rejects: ['aa'] },
      { pattern: '^\\d++\\.', matches: ['12.'], rejects: ['12'] },
    ]);
  });

  it('supports lazy quantifiers', async () => {
    await checkCases([
      { pattern: '^a{1,2}?a$', matches: ['aa', 'aaa'], rejects: ['a'] },
      { pattern: '^a{2}?$', matches: ['aa'], rejects: ['a', 'aaa'] },
      { pattern: '^.*?experts$', matches: ['mlp.experts'], rejects: ['mlp.expert'] },
    ]);
  });

  it('supports inline flags', async () => {
    await checkCases([
      { pattern: '(?i)EXPERTS', matches: ['mlp.experts', 'mlp.Experts'], rejects: ['mlp.expert'] },
      { pattern: '(?i:M)lp', matches: ['mlp', 'Mlp'], rejects: ['MLP'] },
      { pattern: '(?i)a(?-i)b', matches: ['Ab', 'ab'], rejects: ['AB', 'aB'] },
      { pattern: '(?i)a(?^)b', matches: ['Ab'], rejects: ['AB'] },
      { pattern: '(?^i)A', matches: ['a'], rejects: ['b'] },
      { pattern: '(?i-i)A', matches: ['A'], rejects: ['a'] },
      { pattern: '(?s)a.b', matches: ['a\nb'], rejects: ['ab'] },
      { pattern: '(?s:a.)b', matches: ['a\nb'], rejects: ['a\n\nb'] },
      { pattern: '(?m)^b', matches: ['a\nb'], rejects: ['a\nc'] },
      { pattern: '(?m)a$', matches: ['a\nb'], rejects: ['ab'] },
    ]);
  });

  it('carries an isolated flag into later alternatives as PCRE does', async () => {
    await checkCases([
      { pattern: 'a(?i)b|c', matches: ['aB', 'C', 'c'], rejects: ['AB', 'b'] },
      { pattern: '(a(?i)b|c)', matches: ['C'], rejects: ['A'] },
      { pattern: '(?<=a(?i)b|c)d', matches: ['aBd', 'Cd'], rejects: ['ABd'] },
    ]);
  });

  it('supports named groups in every PCRE spelling', async () => {
    await checkCases([
      { pattern: '(?<n>a)\\k<n>', matches: ['aa'], rejects: ['ab'] },
      { pattern: "(?'n'a)\\k'n'", matches: ['aa'], rejects: ['ab'] },
      { pattern: '(?P<n>a)(?P=n)', matches: ['aa'], rejects: ['ab'] },
      { pattern: '(?<n>a)\\k{n}', matches: ['aa'], rejects: ['ab'] },
      { pattern: '(?<n>a)\\g{n}', matches: ['aa'], rejects: ['ab'] },
      { pattern: '(?<n>a)(b)\\2', matches: ['abb'], rejects: ['aba'] },
      { pattern: '(?<layer>\\d+)\\.mlp\\.\\k<layer>', matches: ['12.mlp.12'], rejects: ['12.mlp.13'] },
    ]);
  });

  it('supports numbered and relative backreferences', async () => {
    await checkCases([
      { pattern: '(a)\\1', matches: ['aa'], rejects: ['ab'] },
      { pattern: '(a)\\g1', matches: ['aa'], rejects: ['ab'] },
      { pattern: '(a)\\g{1}', matches: ['aa'], rejects: ['ab'] },
      { pattern: '(a)(b)\\g{-2}', matches: ['aba'], rejects: ['abb'] },
      { pattern: '(a)(b)\\g-1', matches: ['abb'], rejects: ['aba'] },
      { pattern: '(?i)(a)\\1', matches: ['aA'], rejects: ['ab'] },
    ]);
  });

  it('reads \\NN as octal until that many groups exist', async () => {
    const eleven = '(a)'.repeat(11);
    await checkCases([
      { pattern: '\\11', matches: ['\t'], rejects: ['a'] },
      { pattern: `${eleven}\\11`, matches: ['a'.repeat(12)], rejects: [`${'a'.repeat(11)}\t`] },
      { pattern: `\\11${eleven}`, matches: [`\t${'a'.repeat(11)}`], rejects: ['a'.repeat(12)] },
      { pattern: '\\101', matches: ['A'], rejects: ['a'] },
      { pattern: '\\0101', matches: ['\b1'], rejects: ['A'] },
    ]);
  });

  it('supports conditional groups', async () => {
    await checkCases([
      { pattern: '^(a)?(?(1)b|c)$', matches: ['ab', 'c'], rejects: ['ac', 'b'] },
      { pattern: '^(?<x>a)?(?(<x>)b|c)$', matches: ['ab', 'c'], rejects: ['ac'] },
      { pattern: '^(?<x>a)?(?(x)b|c)$', matches: ['ab', 'c'], rejects: ['ac'] },
      { pattern: '^(a)?(?(-1)b|c)$', matches: ['ab', 'c'], rejects: ['ac'] },
    ]);
  });

  it('keeps PCRE anchors', async () => {
    await checkCases([
      // PCRE's `$` also matches before a final newline, but not before an inner one.
      { pattern: 'a$', matches: ['a', 'a\n'], rejects: ['a\nb', 'ab'] },
      { pattern: '^b', matches: ['b'], rejects: ['a\nb'] },
      { pattern: 'a\\Z', matches: ['a', 'a\n'], rejects: ['a\nb'] },
      { pattern: 'a\\z', matches: ['a'], rejects: ['a\n'] },
      { pattern: '\\Aa', matches: ['ab'], rejects: ['ba', 'b\na'] },
      { pattern: '\\bexperts\\b', matches: ['mlp.experts'], rejects: ['mlp.shared_experts'] },
      { pattern: '\\Bexperts', matches: ['mlp.shared_experts'], rejects: ['mlp.experts'] },
      { pattern: '\\Gmodel', matches: ['model.x'], rejects: ['a.model'] },
    ]);
  });

  it('keeps the dot away from newlines', async () => {
    await checkCases([
      { pattern: '^.$', matches: ['a', '\u00e9', '\u{1F600}'], rejects: ['\n', 'ab'] },
      { pattern: '(?s)^.$', matches: ['a', '\n'], rejects: ['ab'] },
    ]);
  });

  it('repeats the dot after a lookaround', async () => {
    // Oniguruma alone finds no match for `(?<=1).+` in `x1.12`.
    await checkCases([
      { pattern: '(?<=1).+', matches: ['x1.12'], rejects: ['x2.22', 'x1'] },
      { pattern: '(?<=layers\\.).*experts', matches: ['model.layers.3.mlp.experts'], rejects: ['model.3.mlp.experts'] },
      { pattern: '(?=\\.).+', matches: ['a.b'], rejects: ['ab'] },
      { pattern: '(?<=1).*+$', matches: ['x1.12'], rejects: ['x2'] },
    ]);
  });

  it('quotes text between \\Q and \\E', async () => {
    await checkCases([
      { pattern: 'a\\Qb.c\\Ed', matches: ['ab.cd'], rejects: ['abxcd'] },
      { pattern: '\\Q(a)*', matches: ['(a)*'], rejects: ['a'] },
      { pattern: '^\\Qab\\E+$', matches: ['abb', 'ab'], rejects: ['a', 'abab'] },
      { pattern: '[\\Qa-z\\E]', matches: ['-', 'a', 'z'], rejects: ['m'] },
      { pattern: '[\\Qa\\E-z]', matches: ['m'], rejects: ['-'] },
      { pattern: '[\\Q\\E]]', matches: [']'], rejects: ['a'] },
      { pattern: '^[a-\\E]$', matches: ['a', '-'], rejects: ['b'] },
      { pattern: 'a\\Eb', matches: ['ab'], rejects: ['aEb'] },
    ]);
  });

  it('ignores white space and comments with x', async () => {
    await checkCases([
      { pattern: '(?x) model \\. layers # a comment', matches: ['model.layers'], rejects: ['model .layers'] },
      { pattern: '(?x)a #(\nb', matches: ['ab'], rejects: ['a'] },
      { pattern: '(?x)a *b', matches: ['b', 'aab'], rejects: ['a'] },
      { pattern: '(?x)a\\ b', matches: ['a b'], rejects: ['ab'] },
      { pattern: '(?x)[ ]', matches: [' '], rejects: ['a'] },
      { pattern: '(?xx)[ a]', matches: ['a'], rejects: [' '] },
      { pattern: 'a(?#comment)*b', matches: ['b', 'aab'], rejects: ['a'] },
    ]);
  });

  it('applies the n and U options', async () => {
    await checkCases([
      { pattern: '(?n)(a)(?<x>b)\\1', matches: ['abb'], rejects: ['aba'] },
      { pattern: '(?U)^a+', matches: ['a'], rejects: ['b'] },
      { pattern: '(?U)^(a+)b\\1$', matches: ['aba'], rejects: ['ab'] },
      { pattern: '(?U)^a+?$', matches: ['aaa'], rejects: [''] },
    ]);
  });

  it('spells PCRE escapes that Oniguruma reads differently', async () => {
    await checkCases([
      // In Oniguruma \h is a hex digit and \v only the vertical tab.
      { pattern: '^\\h$', matches: [' ', '\t', '\u00a0', '\u3000'], rejects: ['h', 'a', '0', '\n'] },
      { pattern: '^\\H$', matches: ['a', 'h', '\n'], rejects: [' ', '\t'] },
      { pattern: '^[\\h]$', matches: [' '], rejects: ['a'] },
      { pattern: '^[\\H]$', matches: ['a'], rejects: [' '] },
      { pattern: '^\\v$', matches: ['\n', '\r', '\u000b', '\u2028'], rejects: ['v', ' '] },
      { pattern: '^\\V$', matches: ['v', ' '], rejects: ['\n'] },
      { pattern: '\\A\\R\\z', matches: ['\n', '\r\n', '\r'], rejects: ['R', '\n\n', '\n\r'] },
      { pattern: '^\\N$', matches: ['a'], rejects: ['\n'] },
      // Oniguruma reads \pL as `p` plus `L`; PCRE reads it as \p{L}.
      { pattern: '^\\pL$', matches: ['a', '\u00e9'], rejects: ['1', 'pL'] },
      { pattern: '^\\p{L&}$', matches: ['a', 'A'], rejects: ['1'] },
      { pattern: '^\\p{^L}$', matches: ['1'], rejects: ['a'] },
      { pattern: '^\\P{^L}$', matches: ['a'], rejects: ['1'] },
      { pattern: '^\\p{Xan}+$', matches: ['a1'], rejects: ['_'] },
      { pattern: '^\\p{Greek}$', matches: ['\u03b1'], rejects: ['a'] },
    ]);
  });

  it('reads character escapes', async () => {
    await checkCases([
      { pattern: '^\\x41\\x{42}\\o{103}\\N{U+44}$', matches: ['ABCD'], rejects: ['abcd'] },
      { pattern: '^\\x4$', matches: ['\u0004'], rejects: ['x4'] },
      { pattern: '^\\x{1F600}$', matches: ['\u{1F600}'], rejects: ['x'] },
      { pattern: '^\\cA\\e\\t$', matches: ['\u0001\u001b\t'], rejects: ['cAet'] },
      { pattern: '^\\$\\.\\-$', matches: ['$.-'], rejects: ['$a-'] },
      { pattern: '^[\\b]$', matches: ['\b'], rejects: ['b'] },
      { pattern: '^[\\8\\9]$', matches: ['8', '9'], rejects: ['7'] },
    ]);
  });

  it('reads character classes', async () => {
    await checkCases([
      { pattern: '^[]a]$', matches: [']', 'a'], rejects: ['b'] },
      { pattern: '^[^]a]$', matches: ['b'], rejects: [']', 'a'] },
      { pattern: '^[a-]$', matches: ['a', '-'], rejects: ['b'] },
      { pattern: '^[-a]$', matches: ['a', '-'], rejects: ['b'] },
      { pattern: '^[\\w-]+$', matches: ['a-b_1'], rejects: ['a.b'] },
      // In Oniguruma `[` inside a class could start a nested class and `&&` an intersection.
      { pattern: '^[a[b]$', matches: ['a', '[', 'b'], rejects: [']'] },
      { pattern: '^[a&&b]$', matches: ['a', '&', 'b'], rejects: ['c'] },
      { pattern: '^[.\\d]+$', matches: ['1.2'], rejects: ['1a'] },
    ]);
  });

  it('reads POSIX classes as PCRE2 does in UCP mode', async () => {
    await checkCases([
      { pattern: '^[[:alpha:]]$', matches: ['a', '\u00e9'], rejects: ['1'] },
      { pattern: '^[[:^alpha:]]$', matches: ['1'], rejects: ['a'] },
      { pattern: '^[[:digit:][:upper:]]+$', matches: ['A1'], rejects: ['a1'] },
      // PCRE2 maps [:upper:] to \p{Lu}, which (?i) does not widen.
      { pattern: '(?i)^[[:upper:]]$', matches: ['A'], rejects: ['a'] },
      { pattern: '(?i)^[[:lower:]x]$', matches: ['a', 'x', 'X'], rejects: ['A'] },
      // PCRE2 counts ASCII symbols such as $ as punctuation; Oniguruma alone does not.
      { pattern: '^[[:punct:]]$', matches: ['$', '.', '_', '~'], rejects: ['a', ' '] },
      { pattern: '^[^[:punct:]]$', matches: ['a'], rejects: ['$'] },
      { pattern: '^[[:space:]]$', matches: ['\t', ' '], rejects: ['a'] },
      { pattern: '^[[:blank:]]$', matches: ['\t', ' '], rejects: ['\n'] },
      { pattern: '^[[:xdigit:]]+$', matches: ['0fA'], rejects: ['g'] },
      { pattern: '^[[:word:]]+$', matches: ['a_1'], rejects: ['-'] },
      { pattern: '^[[:alnum:]]+$', matches: ['a1'], rejects: ['_'] },
    ]);
  });

  it('keeps properties in classes case-sensitive under (?i)', async () => {
    await checkCases([
      { pattern: '(?i)^[\\p{Lu}]$', matches: ['A'], rejects: ['a'] },
      { pattern: '(?i)^[\\p{Ll}x]$', matches: ['a', 'x', 'X'], rejects: ['A'] },
      { pattern: '(?i)^[^\\p{Lu}]$', matches: ['a', '\n', '1'], rejects: ['A'] },
      { pattern: '(?i)^[^\\p{Lu}x]$', matches: ['b'], rejects: ['A', 'x', 'X'] },
      { pattern: '(?i)^\\p{Lu}$', matches: ['A'], rejects: ['a'] },
      { pattern: '(?i)(?<=[\\p{Lu}])b', matches: ['Ab', 'AB'], rejects: ['ab'] },
      { pattern: '(?i)^[a-c]$', matches: ['B'], rejects: ['d'] },
    ]);
  });

  it('reads literal braces that are not quantifiers', async () => {
    await checkCases([
      { pattern: '^x{$', matches: ['x{'], rejects: ['x'] },
      { pattern: '^x{a}$', matches: ['x{a}'], rejects: ['xa'] },
      { pattern: '^x{1,2$', matches: ['x{1,2'], rejects: ['x'] },
      { pattern: '^a{2}$', matches: ['aa'], rejects: ['a', 'aaa'] },
      { pattern: '^a{2,}$', matches: ['aa', 'aaaa'], rejects: ['a'] },
      { pattern: '^a{0}b$', matches: ['b'], rejects: ['ab'] },
    ]);
  });

  it('repeats assertions the way PCRE2 does', async () => {
    await checkCases([
      { pattern: '(?=b)*a', matches: ['a'], rejects: ['b'] },
      { pattern: '(?=b)+a', matches: [], rejects: ['a', 'ba'] },
      { pattern: '^(?=b){0}a', matches: ['a'], rejects: ['b'] },
      { pattern: '^(?!a)?a', matches: ['a'], rejects: ['b'] },
    ]);
  });

  it('counts empty iterations of a repeated group as PCRE does', async () => {
    await checkCases([
      // The first iteration matches nothing after `11.`, the second matches `11`; Oniguruma alone
      // would end the loop after the empty iteration.
      { pattern: '(?:(?<=1\\.)1{0,2}){2}$', matches: ['11.11', '11.1'], rejects: ['11.111'] },
      { pattern: '(?:(?<=1\\.)1{0,2}?){2}\\D', matches: ['11.11.0.experts'], rejects: ['11.111'] },
      { pattern: '((?<=1\\.)1{0,2}){2}$', matches: ['11.11'], rejects: ['11.111'] },
      { pattern: '^x(?:(?<=x)y?){2,}z', matches: ['xyz', 'xz'], rejects: ['xyyz'] },
      { pattern: '((?<=a)|(?<=b)){2}c', matches: ['ac', 'bc'], rejects: ['cc'] },
    ]);
  });

  it('supports (*FAIL) and alphabetic assertions', async () => {
    await checkCases([
      { pattern: '(*FAIL)|a', matches: ['a'], rejects: ['b'] },
      { pattern: 'a(*F)', matches: [], rejects: ['a'] },
      { pattern: '(*pla:a)a', matches: ['a'], rejects: ['b'] },
      { pattern: '(*nlb:a)b', matches: ['b', 'cb'], rejects: ['ab'] },
      { pattern: '(*atomic:a+)b', matches: ['ab'], rejects: ['a'] },
    ]);
  });

  it('matches literal non-ASCII text', async () => {
    await checkCases([
      { pattern: '^caf\u00e9$', matches: ['caf\u00e9'], rejects: ['cafe'] },
      { pattern: '^\u{1F600}+$', matches: ['\u{1F600}\u{1F600}'], rejects: ['\u{1F601}'] },
      { pattern: '(?<=\u{1F600})b', matches: ['\u{1F600}b'], rejects: ['ab'] },
    ]);
  });
});
