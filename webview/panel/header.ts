/** The header of the panel: checkpoint, model type, layout families, totals, free space and plan warnings. */
import type { PlanSummary } from '../protocol/messages';
import { byId, el, replaceChildren } from './dom';
import { formatBytes, formatCount } from './format';

/** Builds the markup of the header section. */
export function headerSection(): HTMLElement {
  return el('header', { class: 'summary', 'aria-labelledby': 'panel-title' },
    el('h1', { id: 'panel-title' }, 'Defuse checkpoint'),
    el('p', { id: 'checkpoint-path', class: 'path' }),
    el('dl', { id: 'summary-facts', class: 'facts' }),
    el('p', { id: 'plan-stale', class: 'warning', role: 'status' }),
    el('ul', { id: 'plan-warnings', class: 'warnings', 'aria-label': 'Plan warnings' }),
  );
}

function fact(term: string, value: string, id?: string): HTMLElement[] {
  return [el('dt', {}, term), el('dd', id === undefined ? {} : { id }, value)];
}

/** Renders the header of a plan; `freeBytes` is undefined while it is being measured and null when unknown. */
export function renderHeader(summary: PlanSummary, freeBytes: number | null | undefined): void {
  byId('checkpoint-path').textContent = summary.checkpointPath;
  const totals = summary.totals;
  let free = 'unknown';
  if (freeBytes === undefined) {
    free = 'measuring…';
  } else if (freeBytes !== null) {
    free = formatBytes(freeBytes);
  }
  const tooSmall = typeof freeBytes === 'number' && freeBytes < totals.bytesToWrite;
  replaceChildren(byId('summary-facts'),
    ...fact('model_type', summary.modelType ?? 'unknown (no config.json model_type)'),
    ...fact('Layout', summary.families.length === 0 ? 'no fused weights found' : summary.families.join(', ')),
    ...fact('Shards', `${summary.shards.length}${summary.sharded ? ' (indexed)' : ''}`),
    ...fact('Tensors', `${formatCount(totals.tensorsBefore)} → ${formatCount(totals.tensorsAfter)}`, 'fact-tensors'),
    ...fact('Bytes', `${formatBytes(totals.bytesBefore)} → ${formatBytes(totals.bytesAfter)}`),
    ...fact('To write', formatBytes(totals.bytesToWrite)),
    ...fact('Free at output', tooSmall ? `${free} (not enough)` : free, 'fact-free'),
  );
  byId('fact-free').classList.toggle('error', tooSmall);
  replaceChildren(byId('plan-warnings'), ...summary.warnings.map((warning) => el('li', { class: 'warning' },
    el('span', { class: 'kind' }, warning.kind), ': ', warning.message)));
}

/** Marks the shown plan as out of date (rules invalid) or current. */
export function setPlanStale(message: string | null): void {
  byId('plan-stale').textContent = message ?? '';
}
