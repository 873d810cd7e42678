import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkRules, compileFilter, FilterRuleError, parseRule } from '../../../src/filter/index';

/** Compiles the rules and returns the error they must raise. */
async function compileError(rules: string[]): Promise<FilterRuleError> {
  const error = await compileFilter(rules).then(
    () => assert.fail(`compileFilter accepted ${JSON.stringify(rules)}`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof FilterRuleError, `expected FilterRuleError, got ${String(error)}`);
  return error;
}

/** An invalid pattern with the expected error position and reason. */
interface InvalidCase {
  readonly pattern: string;
  readonly position: number;
  readonly reason: RegExp;
}

async function checkInvalid(cases: readonly InvalidCase[]): Promise<void> {
  for (const { pattern, position, reason } of cases) {
    const error = await compileError([`+:${pattern}`]);
    assert.equal(error.position, position, `position for ${JSON.stringify(pattern)}: ${error.message}`);
    assert.match(error.reason, reason, `reason for ${JSON.stringify(pattern)}`);
  }
}

describe('FilterRuleError', () => {
  it('names the rule, its number, the position and the reason', async () => {
    const error = await compileError(['+:ok', '-:[a-']);
    assert.equal(error.name, 'FilterRuleError');
    assert.ok(error instanceof Error);
    assert.equal(error.rule, '-:[a-');
    assert.equal(error.index, 1);
    assert.equal(error.position, 0);
    assert.equal(error.reason, 'the character class is missing its closing ]');
    assert.equal(error.message, 'Invalid filter rule 2 "-:[a-" at pattern offset 0: the character class is missing its closing ]');
  });

  it('counts the position in the pattern after the prefix', async () => {
    for (const rule of ['-:ab)', '+:ab)', 'ab)']) {
      const error = await compileError([rule]);
      assert.equal(error.position, 2, rule);
      const prefixLength = rule.length - parseRule(rule, 0).pattern.length;
      assert.equal(rule.charAt(prefixLength + 2), ')', rule);
    }
  });

  it('reports the first invalid rule', async () => {
    const error = await compileError(['+:a', '+:(', '+:)']);
    assert.equal(error.index, 1);
    assert.equal(error.rule, '+:(');
  });
});

describe('invalid rules', () => {
  it('reports typical mistakes with their position', async () => {
    await checkInvalid([
      { pattern: '(abc', position: 0, reason: /^the group is missing its closing \)$/ },
      { pattern: 'a(b(c)', position: 1, reason: /missing its closing \)/ },
      { pattern: '[a-', position: 0, reason: /^the character class is missing its closing \]$/ },
      { pattern: 'x[^]', position: 1, reason: /missing its closing \]/ },
      { pattern: '*abc', position: 0, reason: /^the quantifier does not follow a repeatable item$/ },
      { pattern: 'a|+b', position: 2, reason: /does not follow a repeatable item/ },
      { pattern: 'a**', position: 2, reason: /does not follow a repeatable item/ },
      { pattern: '^*', position: 1, reason: /does not follow a repeatable item/ },
      { pattern: 'a{2,1}', position: 1, reason: /repeat range \{2,1\} is out of order/ },
      { pattern: 'a{70000}', position: 1, reason: /above PCRE2's limit of 65535/ },
      { pattern: 'ab)', position: 2, reason: /^this \) has no matching \($/ },
      { pattern: 'ab\\', position: 2, reason: /lone backslash/ },
      { pattern: '[z-a]', position: 2, reason: /range in the character class is out of order/ },
      { pattern: '[\\d-z]', position: 3, reason: /cannot start with a class/ },
      { pattern: '[a-\\d]', position: 2, reason: /cannot end with a class/ },
    ]);
  });

  it('rejects lookbehinds that PCRE2 rejects', async () => {
    await checkInvalid([
      { pattern: 'x(?<=a+)b', position: 1, reason: /lookbehind assertion has no maximum length/ },
      { pattern: '(?<!a*)b', position: 0, reason: /no maximum length/ },
      { pattern: '(?<=a{0,300}b)c', position: 0, reason: /longer than 255 characters/ },
      { pattern: '(?<=\\Ka)b', position: 4, reason: /\\K is not allowed inside lookahead or lookbehind/ },
      { pattern: '(?=a\\K)', position: 4, reason: /\\K is not allowed/ },
      { pattern: '(a)(?<=\\1)', position: 7, reason: /backreferences inside lookbehind assertions are not supported/ },
    ]);
  });

  it('rejects bad references and names', async () => {
    await checkInvalid([
      { pattern: '(a)\\2', position: 3, reason: /group 2 does not exist \(the pattern has 1 capture groups\)/ },
      { pattern: '\\8', position: 0, reason: /group 8 does not exist/ },
      { pattern: '\\k<nope>', position: 0, reason: /no group is named "nope"/ },
      { pattern: '(?P=nope)', position: 0, reason: /no group is named "nope"/ },
      { pattern: '(a)\\g{-2}', position: 3, reason: /points before the first group/ },
      { pattern: '\\g{0}', position: 0, reason: /group 0 is the whole match/ },
      { pattern: '(?(2)a|b)(c)', position: 2, reason: /group 2 does not exist/ },
      { pattern: '(?(1)a|b|c)(d)', position: 0, reason: /more than two alternatives/ },
      { pattern: 'x(?<y>a)(?<y>b)', position: 8, reason: /two groups are named "y"/ },
      { pattern: '(?<1a>x)', position: 3, reason: /must start with a letter or underscore/ },
      { pattern: '(?<a-b>x)', position: 0, reason: /missing its closing >/ },
      { pattern: `(?<${'n'.repeat(33)}>x)`, position: 3, reason: /longer than 32 characters/ },
    ]);
  });

  it('rejects bad escapes, options and classes', async () => {
    await checkInvalid([
      { pattern: 'a\\y', position: 1, reason: /^\\y is not a PCRE escape sequence$/ },
      { pattern: '\\u0041', position: 0, reason: /PCRE2 does not support \\u/ },
      { pattern: '\\c', position: 0, reason: /ends after \\c/ },
      { pattern: '\\x{110000}', position: 0, reason: /above U\+10FFFF/ },
      { pattern: '\\x{d800}', position: 0, reason: /surrogate/ },
      { pattern: '\\x{}', position: 0, reason: /digits are missing/ },
      { pattern: '\\o{8}', position: 3, reason: /expected octal digits/ },
      { pattern: '\\p', position: 0, reason: /must be followed by a property name/ },
      { pattern: '[\\R]', position: 1, reason: /\\R is not valid inside a character class/ },
      { pattern: '(?z)', position: 2, reason: /"z" is not a PCRE option letter/ },
      { pattern: '(?i', position: 0, reason: /missing its closing \)/ },
      { pattern: '(?#note', position: 0, reason: /comment \(\?# is missing its closing \)/ },
      { pattern: '[:alpha:]', position: 0, reason: /valid only inside a class/ },
      { pattern: '[[:foo:]]', position: 1, reason: /\[:foo:\] is not a POSIX class name/ },
      { pattern: '[[.a.]]', position: 1, reason: /collating elements/ },
    ]);
  });

  it('rejects PCRE constructs that Oniguruma cannot run with the same meaning', async () => {
    await checkInvalid([
      { pattern: '(?|(a)|(b))', position: 0, reason: /branch reset groups/ },
      { pattern: 'a(?1)', position: 1, reason: /recursion and subroutine calls/ },
      { pattern: '(?R)', position: 0, reason: /recursion/ },
      { pattern: '(?&n)', position: 0, reason: /subroutine calls/ },
      { pattern: '(?P>n)', position: 0, reason: /subroutine calls/ },
      { pattern: '(a)\\g<1>', position: 3, reason: /subroutine calls/ },
      { pattern: '(*SKIP)a', position: 0, reason: /backtracking verbs/ },
      { pattern: '(*UTF)a', position: 0, reason: /start-of-pattern options/ },
      { pattern: '(?C1)a', position: 0, reason: /callouts/ },
      { pattern: '(?J)(?<n>a)', position: 2, reason: /duplicate group names/ },
      { pattern: '(?(?=a)a|b)', position: 2, reason: /assertions/ },
      { pattern: '(?(DEFINE)a)', position: 2, reason: /not supported/ },
      { pattern: '\\C', position: 0, reason: /single code unit/ },
      { pattern: '[[:^punct:]]', position: 1, reason: /write the negated class \[\^\[:punct:\]\]/ },
      { pattern: 'a((?<=a)b?){2}\\1', position: 1, reason: /no backreference refers to a group inside it/ },
      { pattern: 'a(?:(?<=a)b?){17}', position: 1, reason: /only up to 16 times/ },
    ]);
  });

  it('rejects brace quantifiers whose meaning depends on the PCRE2 version', async () => {
    await checkInvalid([
      { pattern: 'a{,3}', position: 1, reason: /PCRE2 10\.43/ },
      { pattern: 'a{ 1 }', position: 1, reason: /PCRE2 10\.43/ },
      { pattern: '(?x)a{1, 2}', position: 5, reason: /PCRE2 10\.43/ },
    ]);
  });

  it('locates errors that only Oniguruma reports', async () => {
    await checkInvalid([
      // PCRE accepts both; Oniguruma rejects nested alternatives of different lengths and lookaheads
      // inside a lookbehind. The position is the start of the lookbehind.
      { pattern: 'ab(?<=x(?:a|bc))d', position: 2, reason: /Oniguruma engine cannot run this lookbehind/ },
      { pattern: '^(?<=a(?=b))b', position: 1, reason: /Oniguruma engine cannot run this lookbehind/ },
      { pattern: 'ab\\p{NoSuchProperty}c', position: 2, reason: /Unicode property name is not known/ },
      { pattern: '(x)[\\p{Foo}]', position: 3, reason: /Unicode property name is not known/ },
    ]);
  });

  it('accepts an empty pattern', async () => {
    assert.deepEqual(await checkRules(['+:', '-:', '']), [null, null, null]);
  });

  it('checks every rule independently', async () => {
    const results = await checkRules(['(', 'ok', ')', '+:[']);
    assert.deepEqual(results.map((result) => result?.index ?? null), [0, null, 2, 3]);
    assert.deepEqual(results.map((result) => result?.position ?? null), [0, null, 0, 0]);
  });
});
