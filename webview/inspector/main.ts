/**
 * The safetensors inspector webview. Every string from the file is shown with textContent, never as markup.
 * Rows arrive from the host in pages, and tensor bytes never reach this page.
 */
import './inspector.css';
import type { InspectorEvent, InspectorRequest, InspectorRow, InspectorSummary, StatsView } from './protocol';

interface VsCodeApi {
  postMessage(message: InspectorRequest): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const PAGE_SIZE = 500;
const SEARCH_DELAY_MS = 150;

const state = {
  requestId: 0,
  rowsRequest: -1,
  query: '',
  expanded: new Set<string>(),
  rows: [] as InspectorRow[],
  total: 0,
  statsRequest: -1,
  statsTensor: null as string | null,
  /** The file column is left out when every tensor comes from the one inspected file. */
  showFile: true,
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatNumber(value: number | null): string {
  if (value === null) return '–';
  return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(4) : value.toPrecision(6);
}

function cell(row: HTMLTableRowElement, text: string, className?: string): HTMLTableCellElement {
  const td = element('td', text, className);
  row.append(td);
  return td;
}

function requestRows(offset: number): void {
  state.rowsRequest = ++state.requestId;
  vscode.postMessage({ type: 'rows', requestId: state.rowsRequest, query: state.query, expanded: [...state.expanded], offset, limit: PAGE_SIZE });
}

function renderSummary(summary: InspectorSummary): void {
  const app = document.getElementById('app') as HTMLElement;
  app.replaceChildren();
  state.showFile = summary.files.length > 1;
  app.append(element('h1', summary.title));
  app.append(element('div', summary.path, 'muted'));

  const facts = element('table');
  const fact = (label: string, value: string): void => {
    const tr = element('tr');
    tr.append(element('th', label));
    cell(tr, value);
    facts.append(tr);
  };
  fact('Model type', summary.modelType ?? 'unknown');
  fact('Files', summary.files.join(', '));
  fact('Tensors', formatCount(summary.tensorCount));
  fact('Parameters', formatCount(summary.params));
  fact('Tensor bytes', `${formatBytes(summary.bytes)} (${formatCount(summary.bytes)} B), headers ${formatCount(summary.headerBytes)} B`);
  fact('Fused tensors', formatCount(summary.fusedCount));
  app.append(facts);
  if (summary.planNote) app.append(element('p', summary.planNote, 'note'));
  if (summary.fusedCount > 0) {
    const open = element('button', 'Open Defuse Plan…', 'primary');
    open.id = 'open-plan';
    open.addEventListener('click', () => vscode.postMessage({ type: 'openPlan' }));
    app.append(element('p'));
    app.lastElementChild?.append(open);
  }

  app.append(element('h2', 'Totals by dtype'));
  const totals = element('table');
  totals.id = 'totals';
  const head = element('tr');
  for (const title of ['dtype', 'tensors', 'parameters', 'bytes']) head.append(element('th', title, title === 'dtype' ? undefined : 'number'));
  totals.append(head);
  for (const total of summary.totals) {
    const tr = element('tr');
    cell(tr, total.dtype);
    cell(tr, formatCount(total.tensors), 'number');
    cell(tr, formatCount(total.params), 'number');
    cell(tr, formatBytes(total.bytes), 'number');
    totals.append(tr);
  }
  app.append(totals);

  if (summary.metadata && Object.keys(summary.metadata).length > 0) {
    app.append(element('h2', 'Metadata'));
    const metadata = element('table');
    for (const [key, value] of Object.entries(summary.metadata)) {
      const tr = element('tr');
      cell(tr, key);
      cell(tr, value);
      metadata.append(tr);
    }
    app.append(metadata);
  }

  app.append(element('h2', 'Tensors'));
  const search = element('input');
  search.type = 'search';
  search.id = 'search';
  search.placeholder = 'Search tensor names';
  let timer: number | undefined;
  search.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      state.query = search.value.trim();
      requestRows(0);
    }, SEARCH_DELAY_MS);
  });
  app.append(search);
  const tree = element('table');
  tree.id = 'tree';
  app.append(tree);
  const more = element('button', 'Show more');
  more.id = 'more';
  more.hidden = true;
  more.addEventListener('click', () => requestRows(state.rows.length));
  app.append(more);
  const stats = element('section');
  stats.id = 'stats';
  app.append(stats);
  requestRows(0);
}

function renderRows(): void {
  const tree = document.getElementById('tree') as HTMLTableElement;
  tree.replaceChildren();
  const head = element('tr');
  const titles = ['name', 'dtype', 'shape', 'parameters', 'bytes', 'offset', ...(state.showFile ? ['file'] : []), ''];
  for (const title of titles) {
    head.append(element('th', title, ['parameters', 'bytes', 'offset'].includes(title) ? 'number' : undefined));
  }
  tree.append(head);
  for (const row of state.rows) {
    const tr = element('tr');
    tr.dataset.id = row.id;
    const name = cell(tr, '');
    name.style.paddingLeft = `${row.depth * 16}px`;
    if (row.expandable) {
      const toggle = element('button', row.expanded ? '▾' : '▸', 'toggle');
      toggle.setAttribute('aria-label', row.expanded ? 'Collapse' : 'Expand');
      toggle.addEventListener('click', () => {
        if (state.expanded.has(row.id)) state.expanded.delete(row.id);
        else state.expanded.add(row.id);
        requestRows(0);
      });
      name.append(toggle);
    }
    name.append(document.createTextNode(row.label));
    if (row.kind === 'module') name.append(element('span', `${formatCount(row.tensorCount)} tensors`, 'badge'));
    if (row.fused) name.append(element('span', 'fused', 'badge'));
    cell(tr, row.dtype ?? '');
    cell(tr, row.shape ? `[${row.shape.join(', ')}]` : '', 'shape');
    cell(tr, formatCount(row.params), 'number');
    cell(tr, formatBytes(row.bytes), 'number');
    cell(tr, row.offset === null ? '' : formatCount(row.offset), 'number');
    if (state.showFile) cell(tr, row.file ?? '', 'muted file');
    const actions = cell(tr, '', 'actions');
    if (row.kind === 'tensor' && row.name !== null) {
      const tensorName = row.name;
      const button = element('button', 'Statistics');
      button.addEventListener('click', () => requestStats(tensorName));
      actions.append(button);
      if (row.fused) {
        const plan = element('button', 'Defuse plan…');
        plan.addEventListener('click', () => vscode.postMessage({ type: 'openPlan' }));
        actions.append(plan);
      }
    }
    tree.append(tr);
  }
  const more = document.getElementById('more') as HTMLButtonElement;
  more.hidden = state.rows.length >= state.total;
  more.textContent = `Show more (${formatCount(state.total - state.rows.length)} left)`;
}

function requestStats(tensor: string): void {
  if (state.statsTensor !== null) vscode.postMessage({ type: 'cancelStats', tensor: state.statsTensor });
  state.statsRequest = ++state.requestId;
  state.statsTensor = tensor;
  const section = document.getElementById('stats') as HTMLElement;
  section.replaceChildren(element('h2', `Statistics of ${tensor}`));
  const progress = element('progress');
  progress.max = 1;
  progress.value = 0;
  progress.id = 'stats-progress';
  const cancel = element('button', 'Cancel');
  cancel.addEventListener('click', () => vscode.postMessage({ type: 'cancelStats', tensor }));
  section.append(progress, cancel);
  vscode.postMessage({ type: 'stats', requestId: state.statsRequest, tensor });
}

function renderStats(tensor: string, stats: StatsView | null, error: string | null): void {
  const section = document.getElementById('stats') as HTMLElement;
  section.replaceChildren(element('h2', `Statistics of ${tensor}`));
  if (error !== null || stats === null) {
    section.append(element('p', error ?? 'No statistics.', 'error'));
    return;
  }
  if (!stats.decoded) {
    section.append(element('p', `Not decoded: ${stats.reason ?? stats.dtype}`, 'muted'));
    return;
  }
  const table = element('table');
  table.id = 'stats-table';
  const rows: Array<[string, string]> = [
    ['elements', formatCount(stats.elements)], ['min', formatNumber(stats.min)], ['max', formatNumber(stats.max)],
    ['mean', formatNumber(stats.mean)], ['std', formatNumber(stats.std)], ['zeros', formatCount(stats.zeros)],
    ['NaN', formatCount(stats.nan)], ['+Inf', formatCount(stats.posInf)], ['−Inf', formatCount(stats.negInf)],
  ];
  for (const [label, value] of rows) {
    const tr = element('tr');
    tr.append(element('th', label));
    cell(tr, value, 'number');
    table.append(tr);
  }
  section.append(table);
  if (stats.histogram) {
    const peak = Math.max(1, ...stats.histogram.counts);
    const bars = element('div', undefined, 'histogram');
    for (const count of stats.histogram.counts) {
      const bar = element('div');
      bar.style.height = `${(100 * count) / peak}%`;
      bar.title = formatCount(count);
      bars.append(bar);
    }
    section.append(bars, element('div', `${formatNumber(stats.histogram.min)} … ${formatNumber(stats.histogram.max)}`, 'muted'));
  }
}

window.addEventListener('message', (event: MessageEvent<InspectorEvent>) => {
  const message = event.data;
  switch (message.type) {
    case 'init':
      renderSummary(message.summary);
      return;
    case 'error': {
      const app = document.getElementById('app') as HTMLElement;
      app.append(element('p', message.message, 'error'));
      return;
    }
    case 'rows':
      if (message.requestId !== state.rowsRequest) return;
      state.rows = message.offset === 0 ? [...message.rows] : [...state.rows, ...message.rows];
      state.total = message.total;
      renderRows();
      return;
    case 'statsProgress': {
      const progress = document.getElementById('stats-progress') as HTMLProgressElement | null;
      if (progress && message.tensor === state.statsTensor) progress.value = message.fraction;
      return;
    }
    case 'stats':
      if (message.requestId !== state.statsRequest) return;
      state.statsTensor = null;
      renderStats(message.tensor, message.stats, message.error);
      return;
    default: {
      const unexpected: never = message;
      console.warn('unexpected message', unexpected);
    }
  }
});

vscode.postMessage({ type: 'ready' });
