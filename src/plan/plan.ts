/**
 * Header-only planning: candidates, decisions, the tensor diff, output shards and totals. No tensor data
 * is read, so the plan is cheap enough to recompute on every keystroke of a filter edit.
 */
import type { Checkpoint } from '../checkpoint/open';
import { compileFilter, withinMaxLayers, layerIndexOf, type CompiledFilter } from '../filter';
import { compareModulePaths, findFusedModules, looksFused, type FusedModule, type LocatedTensor } from '../models/modules';
import { modelSpec, supportedModelTypes } from '../models/registry';
import type {
  AddedTensor, Candidate, Decision, LayoutFamily, OutputShard, Plan, PlanWarning, RemovedTensor, RuleStats, UnchangedTensor,
} from './types';

/** Filter rules and the layer limit of a plan. */
export interface PlanOptions {
  /** Defuser filter rules; null or undefined selects every candidate, an empty list selects none. */
  readonly filter?: readonly string[] | null;
  /** Keep only modules whose `layers.<n>` index is below this; null for no limit. */
  readonly maxLayers?: number | null;
}

const PER_EXPERT_NAME = /\.experts\.\d+\.(gate_proj|up_proj|down_proj|w1|w2|w3)\.weight$/;

function collectTensors(checkpoint: Checkpoint): Map<string, LocatedTensor> {
  const tensors = new Map<string, LocatedTensor>();
  for (const shard of checkpoint.shards) {
    for (const info of checkpoint.headers.get(shard)!.tensors) tensors.set(info.name, { info, shard });
  }
  return tensors;
}

function listNames(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function decide(module: FusedModule, filter: CompiledFilter, maxLayers: number | null): Decision {
  if (maxLayers !== null && !withinMaxLayers(module.modulePath, maxLayers)) return { kind: 'beyond-max-layers', maxLayers };
  const decision = filter.decide(module.modulePath);
  switch (decision.kind) {
    case 'defuse':
      return { kind: 'defuse', rule: decision.rule };
    case 'excluded':
      return { kind: 'excluded', rule: decision.rule ?? 0 };
    case 'not-matched':
      return { kind: 'not-matched' };
    case 'empty-filter':
      return { kind: 'empty-filter' };
    default: {
      const unreachable: never = decision.kind;
      throw new Error(`Unhandled filter decision ${String(unreachable)}`);
    }
  }
}

/** Finds every fused module the registry supports for this checkpoint's model type. */
export function findCandidates(checkpoint: Checkpoint): { modules: FusedModule[]; warnings: PlanWarning[] } {
  const tensors = collectTensors(checkpoint);
  const warnings: PlanWarning[] = [];
  const spec = modelSpec(checkpoint.modelType);
  const fusedLooking = [...tensors.values()].filter((tensor) => looksFused(tensor.info)).map((tensor) => tensor.info.name);

  if (!spec) {
    if (fusedLooking.length > 0) {
      const typeText = checkpoint.config === null ? 'has no config.json, so its model_type is unknown'
        : checkpoint.modelType === null ? 'has no model_type in config.json' : `has model_type "${checkpoint.modelType}"`;
      warnings.push({
        kind: 'unsupported-model-type',
        message: `The checkpoint ${typeText}, which Defuser does not support yet, and contains ${fusedLooking.length} tensor(s) that look fused: ${listNames(fusedLooking)}. Nothing will be split. Defuser supports ${supportedModelTypes().length} model types, for example qwen3_moe, qwen3_5_moe, mixtral, deepseek_v3, gpt_oss and llama4; the support table in this tool's docs/support.md lists them all.`,
        tensors: fusedLooking,
      });
    }
    return { modules: [], warnings };
  }

  const modules: FusedModule[] = [];
  const claimed = new Set<string>();
  const explained = new Set<string>();
  for (const rule of spec.rules) {
    const found = findFusedModules(tensors, rule, checkpoint.config);
    warnings.push(...found.warnings);
    for (const name of found.explained) explained.add(name);
    for (const module of found.modules) {
      if (module.tensors.some((tensor) => claimed.has(tensor.info.name))) continue;
      modules.push(module);
      for (const tensor of module.tensors) claimed.add(tensor.info.name);
    }
  }
  modules.sort((a, b) => compareModulePaths(a.modulePath, b.modulePath));

  const unclaimed = fusedLooking.filter((name) => !claimed.has(name) && !explained.has(name));
  if (unclaimed.length > 0) {
    const quantized = unclaimed.filter((name) => /_blocks$|_scales$|scale_inv$|weight_scale$/.test(name));
    warnings.push(quantized.length > 0
      ? { kind: 'quantized', message: `${quantized.length} quantized fused tensor(s) are not split and are copied unchanged: ${listNames(quantized)}.`, tensors: quantized }
      : { kind: 'unknown-fused-tensor', message: `${unclaimed.length} tensor(s) look fused but match no layout known for model_type "${spec.modelType}"; they are copied unchanged: ${listNames(unclaimed)}.`, tensors: unclaimed });
  }
  if (modules.length === 0) {
    const perExpert = [...tensors.keys()].filter((name) => PER_EXPERT_NAME.test(name));
    if (perExpert.length > 0) {
      warnings.push({ kind: 'already-defused', message: `The checkpoint is already defused: it stores ${perExpert.length} per-expert tensor(s) such as ${perExpert[0]} and no fused ones.` });
    }
  }
  return { modules, warnings };
}

/**
 * Plans the defusion of an opened checkpoint from its headers. Throws FilterRuleError for an invalid
 * rule. The result is plain JSON-serialisable data.
 */
export async function planDefusion(checkpoint: Checkpoint, options: PlanOptions = {}): Promise<Plan> {
  const filter = await compileFilter(options.filter ?? null);
  return buildPlan(checkpoint, findCandidates(checkpoint), filter, options.maxLayers ?? null);
}

/** Builds a plan from already found candidates and a compiled filter (reused across keystrokes). */
export function buildPlan(
  checkpoint: Checkpoint,
  found: { modules: readonly FusedModule[]; warnings: readonly PlanWarning[] },
  filter: CompiledFilter,
  maxLayers: number | null,
): Plan {
  const warnings: PlanWarning[] = [...found.warnings];
  const candidates: Candidate[] = [];
  const splitSources = new Map<string, FusedModule>();
  const families = new Set<LayoutFamily>();

  for (const module of found.modules) {
    const decision = decide(module, filter, maxLayers);
    candidates.push({
      modulePath: module.modulePath,
      family: module.family,
      layer: layerIndexOf(module.modulePath),
      experts: module.experts,
      tensors: module.tensors.map((tensor) => tensor.info.name),
      decision,
    });
    families.add(module.family);
    if (decision.kind === 'defuse') for (const tensor of module.tensors) splitSources.set(tensor.info.name, module);
  }

  const ruleStats: RuleStats[] = (filter.rules ?? []).map((rule) => ({
    rule: rule.text,
    matches: found.modules.filter((module) => filter.matches(rule.index, module.modulePath)).length,
  }));
  for (const stats of ruleStats) {
    if (stats.matches === 0 && found.modules.length > 0) {
      warnings.push({ kind: 'unmatched-rule', message: `Filter rule "${stats.rule}" matches no candidate module.` });
    }
  }

  const removed: RemovedTensor[] = [];
  const added: AddedTensor[] = [];
  const unchanged: UnchangedTensor[] = [];
  const outputShards: OutputShard[] = [];
  let bytesBefore = 0;
  let tensorsBefore = 0;

  for (const shard of checkpoint.shards) {
    const header = checkpoint.headers.get(shard)!;
    // Write in source data order so that reading the source is sequential.
    const ordered = [...header.tensors].sort((a, b) => a.begin - b.begin || (a.name < b.name ? -1 : 1));
    const names: string[] = [];
    let dataBytes = 0;
    for (const info of ordered) {
      tensorsBefore += 1;
      bytesBefore += info.end - info.begin;
      const module = splitSources.get(info.name);
      if (!module) {
        unchanged.push({ name: info.name, dtype: info.dtype, shape: info.shape, bytes: info.end - info.begin, shard });
        names.push(info.name);
        dataBytes += info.end - info.begin;
        continue;
      }
      removed.push({ name: info.name, dtype: info.dtype, shape: info.shape, bytes: info.end - info.begin, shard, modulePath: module.modulePath });
      for (const split of module.outputs.get(info.name) ?? []) {
        added.push({ ...split, shard, modulePath: module.modulePath });
        names.push(split.name);
        dataBytes += split.bytes;
      }
    }
    outputShards.push({ file: shard, sourceShard: shard, tensors: names, dataBytes });
  }

  if (found.modules.length > 0 && added.length === 0) {
    warnings.push({ kind: 'nothing-selected', message: `None of the ${found.modules.length} fused module(s) is selected by the filter rules and max layers, so a conversion would write an unchanged copy.` });
  }

  const bytesAfter = outputShards.reduce((sum, shard) => sum + shard.dataBytes, 0);
  return {
    checkpoint: {
      path: checkpoint.root,
      modelType: checkpoint.modelType,
      families: [...families],
      shards: checkpoint.shards,
      sharded: checkpoint.sharded,
    },
    filter: filter.rules === null ? null : filter.rules.map((rule) => rule.text),
    maxLayers,
    ruleStats,
    candidates,
    removed,
    added,
    unchanged,
    outputShards,
    totals: {
      tensorsBefore,
      tensorsAfter: unchanged.length + added.length,
      bytesBefore,
      bytesAfter,
      bytesToWrite: bytesAfter,
    },
    warnings,
  };
}
