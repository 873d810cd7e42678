/** Reading `config.json`: the model type and the sizes the registry needs, wherever they are nested. */
import { readFile } from 'node:fs/promises';
import { DefuserError } from '../errors';

/** A parsed `config.json` (any JSON object). */
export type ModelConfig = Readonly<Record<string, unknown>>;

/**
 * Sub-configs where multimodal and composite models keep their language-model sizes, searched after the
 * root. Order matters: the first section that has a field wins.
 */
const NESTED_SECTIONS: readonly (readonly string[])[] = [
  ['text_config'],
  ['thinker_config', 'text_config'],
  ['talker_config', 'text_config'],
  ['ffn_config'],
  ['llm_config'],
  ['language_config'],
];

/** Config field aliases: the same size goes by different names in different model types. */
export const CONFIG_ALIASES = {
  experts: ['num_local_experts', 'num_experts', 'n_routed_experts', 'moe_num_experts', 'ffn_num_experts'],
  expertIntermediate: ['moe_intermediate_size', 'expert_intermediate_size', 'ffn_hidden_size', 'intermediate_size'],
  intermediate: ['intermediate_size', 'ffn_hidden_size'],
  hidden: ['hidden_size', 'd_model', 'n_embd'],
} as const;

/** Reads and parses a `config.json`; a missing file returns null, invalid JSON is an error. */
export async function readModelConfig(file: string): Promise<ModelConfig | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DefuserError('io', `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DefuserError('invalid-config', `Invalid JSON in ${file}: ${(error as Error).message}. Fix or replace the file.`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DefuserError('invalid-config', `Invalid ${file}: expected a JSON object at the top level.`);
  }
  return value as ModelConfig;
}

function section(config: ModelConfig, path: readonly string[]): ModelConfig | null {
  let current: unknown = config;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return null;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'object' && current !== null && !Array.isArray(current) ? (current as ModelConfig) : null;
}

/** Returns the `model_type` of the root config, or null when absent. */
export function modelTypeOf(config: ModelConfig | null): string | null {
  const value = config?.['model_type'];
  return typeof value === 'string' ? value : null;
}

/**
 * Finds the first positive integer among `names`, looking in the root and then the nested sections
 * (or only in `sections` when given). Returns null when none is set.
 */
export function configInteger(
  config: ModelConfig | null,
  names: readonly string[],
  sections?: readonly (readonly string[])[],
): number | null {
  if (!config) return null;
  const places = sections ?? [[], ...NESTED_SECTIONS];
  for (const place of places) {
    const scope = place.length === 0 ? config : section(config, place);
    if (!scope) continue;
    for (const name of names) {
      const value = scope[name];
      if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
    }
  }
  return null;
}
