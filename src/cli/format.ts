/** Text output of the command line: plans, headers and progress. */
import path from 'node:path';
import { formatBytes } from '../convert/output';
import type { ConvertProgress } from '../convert/convert';
import { collapseExpertNames } from '../plan/collapse';
import type { Decision, Plan } from '../plan/types';
import type { SafetensorsHeader } from '../safetensors/types';
import { DTYPE_BITS } from '../safetensors';

/** Describes a decision in words, with 1-based rule numbers as users count them. */
export function describeDecision(decision: Decision, rules: readonly string[] | null): string {
  const ruleText = (index: number): string => `rule ${index + 1} ("${rules?.[index] ?? ''}")`;
  switch (decision.kind) {
    case 'defuse':
      return decision.rule === null ? 'defuse' : `defuse, matched by ${ruleText(decision.rule)}`;
    case 'excluded':
      return `keep fused, excluded by ${ruleText(decision.rule)}`;
    case 'not-matched':
      return 'keep fused, no positive rule matches';
    case 'empty-filter':
      return 'keep fused, the filter list is empty';
    case 'beyond-max-layers':
      return `keep fused, layer is not below max layers ${decision.maxLayers}`;
    default: {
      const unreachable: never = decision;
      return String(unreachable);
    }
  }
}

function shape(values: readonly number[]): string {
  return `[${values.join(', ')}]`;
}

/** Formats a plan as a human-readable report with the tensor diff. */
export function formatPlan(plan: Plan, showUnchanged: boolean): string {
  const lines: string[] = [];
  const source = plan.checkpoint;
  lines.push(`Checkpoint: ${source.path}`);
  lines.push(`Model type: ${source.modelType ?? '(none in config.json)'}`);
  lines.push(`Layout: ${source.families.length > 0 ? source.families.join(', ') : '(no fused modules found)'}`);
  lines.push(`Files: ${source.shards.length} safetensors file(s)${source.sharded ? ' with an index' : ''}`);
  if (plan.filter !== null) lines.push(`Filter: ${plan.filter.length === 0 ? '(empty list: selects nothing)' : plan.filter.map((rule, index) => `${index + 1}. ${rule} (${plan.ruleStats[index]?.matches ?? 0} match)`).join('  ')}`);
  if (plan.maxLayers !== null) lines.push(`Max layers: ${plan.maxLayers}`);

  const defused = plan.candidates.filter((candidate) => candidate.decision.kind === 'defuse').length;
  lines.push('', `Candidates: ${plan.candidates.length} fused module(s), ${defused} to defuse`);
  for (const candidate of plan.candidates) {
    const experts = candidate.experts === null ? 'dense MLP' : `${candidate.experts} experts`;
    lines.push(`  ${candidate.modulePath}  [${candidate.family}, ${experts}]  ${describeDecision(candidate.decision, plan.filter)}`);
  }

  lines.push('', `Removed: ${plan.removed.length} fused tensor(s)`);
  for (const tensor of plan.removed) lines.push(`  - ${tensor.name}  ${tensor.dtype} ${shape(tensor.shape)}  ${formatBytes(tensor.bytes)}`);

  lines.push('', `Added: ${plan.added.length} tensor(s)`);
  const addedByName = new Map(plan.added.map((tensor) => [tensor.name, tensor]));
  for (const group of collapseExpertNames(plan.added.map((tensor) => tensor.name))) {
    const first = addedByName.get(group.template.replace('{}', String(group.indices[0] ?? '')))!;
    const sourceText = group.indices.length > 1 ? first.source.text.replace(/\[\d+/, '[e') : first.source.text;
    lines.push(`  + ${group.text}  ${first.dtype} ${shape(first.shape)}  <- ${first.source.tensor.slice(first.source.tensor.lastIndexOf('.') + 1)}: ${sourceText}`);
  }

  lines.push('', `Unchanged: ${plan.unchanged.length} tensor(s), ${formatBytes(plan.unchanged.reduce((sum, tensor) => sum + tensor.bytes, 0))}`);
  if (showUnchanged) {
    for (const group of collapseExpertNames(plan.unchanged.map((tensor) => tensor.name))) lines.push(`  = ${group.text}`);
  }

  const totals = plan.totals;
  lines.push('', `Totals: ${totals.tensorsBefore} -> ${totals.tensorsAfter} tensors, ${formatBytes(totals.bytesBefore)} -> ${formatBytes(totals.bytesAfter)}`);
  for (const warning of plan.warnings) lines.push(`Warning: ${warning.message}`);
  return lines.join('\n');
}

/** Formats one header for `defuser inspect`. */
export function formatHeader(header: SafetensorsHeader, relativeTo: string): string {
  const lines: string[] = [];
  lines.push(`File: ${path.relative(relativeTo, header.file) || header.file}  (${formatBytes(header.fileSize)}, header ${header.headerLength} bytes)`);
  if (header.metadata) lines.push(`Metadata: ${Object.entries(header.metadata).map(([key, value]) => `${key}=${value}`).join(', ')}`);
  const byDtype = new Map<string, { tensors: number; parameters: number; bytes: number }>();
  for (const tensor of header.tensors) {
    const entry = byDtype.get(tensor.dtype) ?? { tensors: 0, parameters: 0, bytes: 0 };
    entry.tensors += 1;
    entry.parameters += ((tensor.end - tensor.begin) * 8) / DTYPE_BITS[tensor.dtype];
    entry.bytes += tensor.end - tensor.begin;
    byDtype.set(tensor.dtype, entry);
  }
  for (const [dtype, entry] of byDtype) lines.push(`  ${dtype}: ${entry.tensors} tensors, ${entry.parameters} parameters, ${formatBytes(entry.bytes)}`);
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  for (const group of collapseExpertNames(header.tensors.map((tensor) => tensor.name))) {
    const first = byName.get(group.template.replace('{}', String(group.indices[0] ?? '')))!;
    lines.push(`  ${group.text}  ${first.dtype} ${shape(first.shape)}  offset ${first.begin}`);
  }
  return lines.join('\n');
}

/** Renders progress as a one-line bar for terminals, or as a plain line for logs. */
export function formatProgress(progress: ConvertProgress, startedAt: number, terminal: boolean): string {
  const fraction = progress.bytesTotal > 0 ? progress.bytesDone / progress.bytesTotal : 1;
  const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
  const rate = `${(progress.bytesDone / seconds / 1e6).toFixed(0)} MB/s`;
  const counts = `${(progress.bytesDone / 2 ** 30).toFixed(2)}/${(progress.bytesTotal / 2 ** 30).toFixed(2)} GiB, ${progress.tensorsDone}/${progress.tensorsTotal} tensors, ${rate}`;
  if (!terminal) return `${(fraction * 100).toFixed(0)}% ${counts}`;
  const width = 24;
  const filled = Math.round(fraction * width);
  const tensor = progress.currentTensor ?? '';
  const shortTensor = tensor.length > 40 ? `…${tensor.slice(-39)}` : tensor;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${counts} ${shortTensor}`;
}
