import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileFilter, FilterRuleError } from '../../../src/filter/index';
import { mulberry32 as seededRandom } from '../helpers/random';

const TOKENS = ['model', 'layers', 'mlp', 'experts', 'shared_experts', 'gate_up_proj', 'down_proj', 'self_attn', 'language_model', '0', '1', '2', '3', '11', '12'];
const CLASSES = ['[abc]', '[a-f0-9]', '[^.]', '[._]', '[^a-z]', '[0-9]', '[ex]', '\\d', '\\w', '\\D', '\\W'];

/** Generates patterns in the common subset of JavaScript RegExp and PCRE, and module paths. */
class Generator {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  path(): string {
    const segments: string[] = [];
    const count = 2 + Math.floor(this.random() * 5);
    for (let index = 0; index < count; index += 1) {
      segments.push(this.chance(0.9) ? this.pick(TOKENS) : this.pick(['a', 'x_1', '9', 'e', '']));
    }
    return segments.join('.');
  }

  literal(): string {
    const token = this.pick(TOKENS);
    const start = Math.floor(this.random() * token.length);
    const text = this.chance(0.5) ? token : token.slice(start, start + 1 + Math.floor(this.random() * 4));
    return this.chance(0.3) ? `\\.${text}` : text;
  }

  quantifier(): string {
    const base = this.pick(['*', '+', '?', '{2}', '{1,}', '{0,2}', '{1,3}']);
    return this.chance(0.2) ? `${base}?` : base;
  }

  atom(depth: number): { text: string; repeatable: boolean } {
    const roll = this.random();
    if (roll < 0.35) {
      return { text: this.literal(), repeatable: false };
    }
    if (roll < 0.45) {
      return { text: '.', repeatable: true };
    }
    if (roll < 0.6) {
      return { text: this.pick(CLASSES), repeatable: true };
    }
    if (roll < 0.8 && depth < 3) {
      const open = this.pick(['(', '(?:']);
      return { text: `${open}${this.alternatives(depth + 1)})`, repeatable: true };
    }
    if (roll < 0.9 && depth < 3) {
      return { text: `${this.pick(['(?=', '(?!'])}${this.alternatives(depth + 1)})`, repeatable: false };
    }
    // Fixed-length lookbehind alternatives, possibly of different lengths.
    const branches = [this.pick(TOKENS), this.pick(TOKENS)].map((token) => token.replace(/_/g, '\\.'));
    return { text: `${this.pick(['(?<=', '(?<!'])}${branches.join(this.chance(0.5) ? '|' : '')}\\.)`, repeatable: false };
  }

  sequence(depth: number): string {
    let text = '';
    const count = 1 + Math.floor(this.random() * 3);
    for (let index = 0; index < count; index += 1) {
      const atom = this.atom(depth);
      // A quantifier after a multi-character literal applies to its last character in both dialects.
      const quantify = (atom.repeatable || !atom.text.endsWith('.')) && this.chance(0.3) && !atom.text.startsWith('(?<');
      text += quantify && (atom.repeatable || /\w$/.test(atom.text)) ? `${atom.text}${this.quantifier()}` : atom.text;
    }
    return text;
  }

  alternatives(depth: number): string {
    const count = this.chance(0.3) ? 2 + Math.floor(this.random() * 2) : 1;
    return Array.from({ length: count }, () => this.sequence(depth)).join('|');
  }

  pattern(): string {
    return `${this.chance(0.3) ? '^' : ''}${this.alternatives(0)}${this.chance(0.3) ? '$' : ''}`;
  }
}

describe('random patterns against JavaScript RegExp', () => {
  it('agree on random module paths', async () => {
    const generator = new Generator(20260601);
    const paths = Array.from({ length: 40 }, () => generator.path());
    let matched = 0;
    let compared = 0;
    for (let round = 0; round < 400; round += 1) {
      const pattern = generator.pattern();
      const oracle = new RegExp(pattern);
      const filter = await compileFilter([`+:${pattern}`]);
      for (const path of [...paths, generator.path()]) {
        const expected = oracle.test(path);
        assert.equal(filter.matches(0, path), expected, `${JSON.stringify(pattern)} on ${JSON.stringify(path)}`);
        matched += expected ? 1 : 0;
        compared += 1;
      }
    }
    // Guard against a generator that only produces patterns that never (or always) match.
    assert.ok(matched > compared * 0.1, `only ${matched} of ${compared} matched`);
    assert.ok(matched < compared * 0.9, `${matched} of ${compared} matched`);
  });
});

describe('random pattern text', () => {
  it('either compiles or raises a located FilterRuleError', async () => {
    const random = seededRandom(7);
    const alphabet = ['a', 'b', '(', ')', '{', '}', '[', ']', '*', '+', '?', '|', '^', '$', '\\', '.', '-', ':', '<', '>', '=', '!', 'P', 'k', 'g', 'Q', 'E', '0', '1', '2', 'x', 'i', '#', 'p', 'K', 'R', ',', "'", '&'];
    let rejected = 0;
    for (let round = 0; round < 3000; round += 1) {
      const length = 1 + Math.floor(random() * 12);
      const pattern = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      try {
        const filter = await compileFilter([pattern]);
        assert.equal(typeof filter.matches(0, 'model.layers.1.mlp.experts'), 'boolean');
      } catch (error) {
        assert.ok(error instanceof FilterRuleError, `${JSON.stringify(pattern)} threw ${String(error)}`);
        assert.ok(error.position !== null, `${JSON.stringify(pattern)} has no position: ${error.message}`);
        assert.ok(error.position >= 0, `${JSON.stringify(pattern)}: ${error.message}`);
        assert.ok(error.position <= pattern.length, `${JSON.stringify(pattern)}: ${error.message}`);
        rejected += 1;
      }
    }
    assert.ok(rejected > 0, 'no random pattern was rejected');
    assert.ok(rejected < 3000, 'every random pattern was rejected');
  });
});
