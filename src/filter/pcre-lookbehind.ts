/** PCRE2's length rules for lookbehind assertions. */
import type { GroupNode } from './pcre-ast';
import { findNode, sequenceBounds } from './pcre-analysis';
import type { PcreReader } from './pcre-reader';

/**
 * PCRE2's default limit on a variable-length lookbehind (its `max_varlookbehind`), in characters.
 * NOTE: PCRE2 before 10.43 requires each lookbehind alternative to have a fixed length. This follows
 * 10.43 and later, so Defuser on an older system PCRE2 rejects some lookbehinds accepted here.
 */
const MAX_VARIABLE_LOOKBEHIND = 255;

/** Checks each alternative of a lookbehind group against PCRE2's length rules. */
export function checkLookbehind(reader: PcreReader, group: GroupNode): void {
  const backreference = findNode(group, (node) => node.kind === 'backreference');
  if (backreference !== undefined) {
    reader.fail(backreference.start, 'backreferences inside lookbehind assertions are not supported');
  }
  for (const alternative of group.alternatives) {
    const bounds = sequenceBounds(alternative);
    if (bounds.max === Infinity) {
      reader.fail(group.start, 'the lookbehind assertion has no maximum length; PCRE2 requires a bounded lookbehind');
    }
    if (bounds.min !== bounds.max && bounds.max > MAX_VARIABLE_LOOKBEHIND) {
      reader.fail(group.start, `the variable-length lookbehind assertion can be longer than ${MAX_VARIABLE_LOOKBEHIND} characters`);
    }
  }
}
