/**
 * The tensor diff as a virtual grid: only the rows in view (plus a small margin) exist in the DOM, and rows
 * come from the host in pages that are cached up to a bound.
 */
import { LIMITS, type DiffRow, type DiffView, type RowsPage, type RowsQuery, type SortKey } from '../protocol/messages';
import { byId, el, replaceChildren } from './dom';
import { formatBytes, formatCount, formatShape } from './format';
import type { ViewState } from './state';

/** Height of one row in CSS pixels; panel.css uses the same value. */
export const ROW_HEIGHT = 22;
const PAGE_SIZE = 200;
/** Pages kept in memory; older ones are dropped, so memory stays bounded for any number of rows. */
const MAX_CACHED_PAGES = 24;
/** Rows rendered above and below the visible ones, so fast scrolling shows fewer blank rows. */
const OVERSCAN = 10;
const SEARCH_DEBOUNCE_MS = 150;

/** Element with a string `value`, as the toolkit's text field and dropdown are. */
interface ValueElement extends HTMLElement {
  value: string;
}

/** Element with a `checked` state, as the toolkit's checkbox is. */
interface CheckedElement extends HTMLElement {
  checked: boolean;
}

const COLUMNS: readonly { readonly label: string; readonly sort: SortKey | null; readonly className?: string }[] = [
  { label: 'Change', sort: 'change' },
  { label: 'Name', sort: 'name' },
  { label: 'DType', sort: 'dtype' },
  { label: 'Shape', sort: null },
  { label: 'Bytes', sort: 'bytes' },
  { label: 'Source slice', sort: null },
  // Hidden when the checkpoint has one shard, because every row would repeat the same file name.
  { label: 'Shard', sort: null, className: 'shard' },
];

const VIEW_LABELS: readonly { readonly view: DiffView; readonly label: string }[] = [
  { view: 'changes', label: 'Changes (removed and added)' },
  { view: 'added', label: 'Added' },
  { view: 'removed', label: 'Removed' },
  { view: 'unchanged', label: 'Unchanged' },
  { view: 'all', label: 'All tensors' },
];

const CHANGE_MARK = { removed: '−', added: '+', unchanged: '=' } as const;

/**
 * Splits a tensor name before its first `.<word>.<number>.` part (`layers.0.`, `blocks.3.`), so the grid can
 * elide the prefix that all rows share and keep the part that tells them apart. Without such a part the
 * whole name is the prefix.
 */
export function splitTensorName(name: string): { readonly prefix: string; readonly tail: string } {
  const match = /\.[A-Za-z_]\w*\.\d+\./.exec(name);
  if (match === null) {
    return { prefix: name, tail: '' };
  }
  return { prefix: name.slice(0, match.index + 1), tail: name.slice(match.index + 1) };
}

/** Builds the markup of the diff section. */
export function diffSection(): HTMLElement {
  return el('section', { class: 'diff', 'aria-labelledby': 'diff-title' },
    el('h2', { id: 'diff-title' }, 'Tensor diff'),
    el('div', { class: 'row toolbar' },
      el('vscode-dropdown', { id: 'diff-view', 'aria-label': 'Rows to list' },
        ...VIEW_LABELS.map(({ view, label }) => el('vscode-option', { value: view }, label))),
      el('vscode-text-field', { id: 'diff-query', placeholder: 'Search names and source slices', size: 40, 'aria-label': 'Search tensors' }),
      el('vscode-checkbox', { id: 'diff-collapse' }, 'Collapse expert runs'),
      el('vscode-button', { id: 'diff-plan-order', appearance: 'secondary' }, 'Plan order'),
    ),
    el('p', { id: 'diff-count', class: 'status', role: 'status', 'aria-live': 'polite' }),
    el('div', {
      id: 'diff-grid', class: 'grid', role: 'grid', tabindex: 0, 'aria-label': 'Tensor diff', 'aria-colcount': COLUMNS.length,
      'aria-rowcount': 1,
    },
      el('div', { class: 'grid-head', role: 'rowgroup' },
        el('div', { class: 'grid-row', role: 'row', 'aria-rowindex': 1 },
          ...COLUMNS.map((column, index) => el('div', { class: column.className ? `cell ${column.className}` : 'cell', role: 'columnheader', 'aria-colindex': index + 1, id: `diff-col-${index}` },
            column.sort === null
              ? column.label
              : el('button', { class: 'sort', type: 'button', 'data-sort': column.sort }, column.label))),
        ),
      ),
      el('div', { id: 'diff-viewport', class: 'viewport' },
        el('div', { id: 'diff-spacer', class: 'spacer', role: 'rowgroup' }),
      ),
    ),
  );
}

/** The virtual diff grid. */
export class DiffTable {
  private readonly grid = byId('diff-grid');
  private readonly headRow = this.grid.querySelector<HTMLElement>('.grid-head .grid-row') as HTMLElement;
  private readonly viewport = byId('diff-viewport');
  private readonly spacer = byId('diff-spacer');
  private readonly count = byId('diff-count');
  private readonly query = byId<ValueElement>('diff-query');
  private readonly view = byId<ValueElement>('diff-view');
  private readonly collapse = byId<CheckedElement>('diff-collapse');
  private generation = -1;
  /** Increases on every change of the query, so replies to older queries are dropped. */
  private epoch = 0;
  private total = 0;
  private readonly pages = new Map<number, readonly DiffRow[]>();
  private readonly inFlight = new Set<number>();
  private activeIndex = 0;
  private frame = 0;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private pendingScrollTop: number | null;

  constructor(
    private readonly state: ViewState,
    private readonly fetchRows: (query: RowsQuery) => Promise<RowsPage>,
    private readonly onStateChange: () => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.pendingScrollTop = state.scrollTop;
    this.query.value = state.query;
    this.view.value = state.view;
    this.collapse.checked = state.collapseExperts;
    this.query.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => {
        this.state.query = this.query.value;
        this.resetRows(true);
      }, SEARCH_DEBOUNCE_MS);
    });
    this.view.addEventListener('change', () => {
      const view = VIEW_LABELS.find((item) => item.view === this.view.value)?.view;
      if (view && view !== this.state.view) {
        this.state.view = view;
        this.resetRows(true);
      }
    });
    this.collapse.addEventListener('change', () => {
      if (this.collapse.checked !== this.state.collapseExperts) {
        this.state.collapseExperts = this.collapse.checked;
        this.resetRows(true);
      }
    });
    byId('diff-plan-order').addEventListener('click', () => this.sortBy('plan'));
    for (const button of this.grid.querySelectorAll<HTMLButtonElement>('button.sort')) {
      button.addEventListener('click', () => this.sortBy(button.dataset.sort as SortKey));
    }
    this.viewport.addEventListener('scroll', () => {
      this.state.scrollTop = this.viewport.scrollTop;
      this.onStateChange();
      this.scheduleRender();
    });
    this.grid.addEventListener('keydown', (event) => this.keydown(event));
    this.spacer.addEventListener('click', (event) => this.click(event));
    this.updateSortMarks();
  }

  /** Shows the diff of a new plan; the scroll position is kept where it still fits. */
  setGeneration(generation: number): void {
    this.generation = generation;
    this.resetRows(false);
  }

  /** Hides the Shard column when every tensor is in one file, which gives the name column its room. */
  setShardCount(count: number): void {
    const single = count <= 1;
    this.grid.classList.toggle('single-shard', single);
    this.grid.setAttribute('aria-colcount', String(single ? COLUMNS.length - 1 : COLUMNS.length));
  }

  private sortBy(sort: SortKey): void {
    if (sort === this.state.sort && sort !== 'plan') {
      this.state.descending = !this.state.descending;
    } else {
      this.state.sort = sort;
      this.state.descending = false;
    }
    this.updateSortMarks();
    this.resetRows(true);
  }

  private updateSortMarks(): void {
    COLUMNS.forEach((column, index) => {
      const header = byId(`diff-col-${index}`);
      const sorted = column.sort !== null && column.sort === this.state.sort;
      let direction = 'none';
      if (sorted) {
        direction = this.state.descending ? 'descending' : 'ascending';
      }
      header.setAttribute('aria-sort', direction);
    });
  }

  /** Drops cached pages and loads the first visible page again. */
  private resetRows(toTop: boolean): void {
    this.epoch += 1;
    this.pages.clear();
    this.inFlight.clear();
    if (toTop) {
      this.pendingScrollTop = 0;
      this.activeIndex = 0;
    }
    this.onStateChange();
    const scrollTop = this.pendingScrollTop ?? this.viewport.scrollTop;
    this.requestPage(Math.floor(scrollTop / ROW_HEIGHT / PAGE_SIZE));
    this.scheduleRender();
  }

  private requestPage(pageIndex: number): void {
    if (this.generation < 0 || this.pages.has(pageIndex) || this.inFlight.has(pageIndex)) {
      return;
    }
    const epoch = this.epoch;
    this.inFlight.add(pageIndex);
    const query: RowsQuery = {
      generation: this.generation,
      view: this.state.view,
      query: this.state.query,
      sort: this.state.sort,
      descending: this.state.descending,
      collapseExperts: this.state.collapseExperts,
      expanded: this.state.expanded,
      offset: pageIndex * PAGE_SIZE,
      limit: PAGE_SIZE,
    };
    this.fetchRows(query).then((page) => {
      if (epoch !== this.epoch || page.generation !== this.generation) {
        return;
      }
      this.inFlight.delete(pageIndex);
      this.pages.set(pageIndex, page.rows);
      this.evictPages(pageIndex);
      this.total = page.total;
      this.scheduleRender();
    }, (error: unknown) => {
      if (epoch === this.epoch) {
        this.inFlight.delete(pageIndex);
        this.onError(error);
      }
    });
  }

  /** Drops the cached pages farthest from the one just loaded once the cache is full. */
  private evictPages(near: number): void {
    while (this.pages.size > MAX_CACHED_PAGES) {
      let farthest = near;
      for (const key of this.pages.keys()) {
        if (Math.abs(key - near) > Math.abs(farthest - near)) {
          farthest = key;
        }
      }
      this.pages.delete(farthest);
    }
  }

  private scheduleRender(): void {
    if (this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  private rowAt(index: number): DiffRow | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  private render(): void {
    this.spacer.style.height = `${this.total * ROW_HEIGHT}px`;
    if (this.pendingScrollTop !== null && (this.total > 0 || this.pendingScrollTop === 0)) {
      this.viewport.scrollTop = this.pendingScrollTop;
      this.pendingScrollTop = null;
    }
    this.grid.setAttribute('aria-rowcount', String(this.total + 1));
    this.count.textContent = `${formatCount(this.total)} ${this.total === 1 ? 'row' : 'rows'}`;

    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil(this.viewport.clientHeight / ROW_HEIGHT);
    const last = Math.min(this.total, first + visible + 2 * OVERSCAN);
    const rows: HTMLElement[] = [];
    for (let index = first; index < last; index += 1) {
      const row = this.rowAt(index);
      if (!row) {
        this.requestPage(Math.floor(index / PAGE_SIZE));
      }
      rows.push(this.rowElement(index, row));
    }
    replaceChildren(this.spacer, ...rows);
    // The header sits outside the scrolling viewport, so it reserves the width of the viewport's vertical
    // scrollbar: 0 when all rows fit, and a width that depends on the platform otherwise.
    this.headRow.style.paddingRight = `${this.viewport.offsetWidth - this.viewport.clientWidth}px`;
    const active = document.getElementById(`diff-row-${this.activeIndex}`);
    if (active) {
      this.grid.setAttribute('aria-activedescendant', active.id);
    } else {
      this.grid.removeAttribute('aria-activedescendant');
    }
  }

  private rowElement(index: number, row: DiffRow | undefined): HTMLElement {
    const element = el('div', {
      id: `diff-row-${index}`,
      class: `grid-row ${row ? row.change : 'loading'}${row?.member ? ' member' : ''}${index === this.activeIndex ? ' active' : ''}`,
      role: 'row',
      'aria-rowindex': index + 2,
      // ARIA states are the strings "true" and "false", not present/absent attributes.
      'aria-selected': String(index === this.activeIndex),
      'aria-expanded': row?.group ? String(row.group.expanded) : undefined,
      'data-index': index,
    });
    element.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    if (!row) {
      element.append(el('div', { class: 'cell', role: 'gridcell' }, '…'));
      return element;
    }
    const name = el('div', { class: 'cell name', role: 'gridcell', title: row.group ? `${row.name} ×${row.group.count}` : row.name });
    const { prefix, tail } = splitTensorName(row.name);
    const nameParts = [el('span', { class: 'name-prefix' }, prefix), el('span', { class: 'name-tail' }, tail)];
    if (row.group) {
      name.append(
        el('span', { class: 'toggle', 'aria-hidden': 'true' }, row.group.expanded ? '▾ ' : '▸ '),
        ...nameParts,
        el('span', { class: 'count' }, ` ×${row.group.count}`),
      );
    } else {
      name.append(...nameParts);
    }
    element.append(
      el('div', { class: 'cell change', role: 'gridcell', title: row.change }, `${CHANGE_MARK[row.change]} ${row.change}`),
      name,
      el('div', { class: 'cell', role: 'gridcell' }, row.dtype),
      el('div', { class: 'cell', role: 'gridcell' }, formatShape(row.shape)),
      el('div', { class: 'cell number', role: 'gridcell', title: `${formatCount(row.bytes)} bytes` }, formatBytes(row.bytes)),
      el('div', { class: 'cell source', role: 'gridcell', title: row.source ?? '' }, row.source ?? ''),
      el('div', { class: 'cell shard', role: 'gridcell', title: row.shard }, row.shard),
    );
    return element;
  }

  private click(event: MouseEvent): void {
    const target = event.target instanceof Element ? event.target.closest<HTMLElement>('.grid-row') : null;
    const index = Number(target?.dataset.index);
    if (!target || !Number.isInteger(index)) {
      return;
    }
    this.activeIndex = index;
    this.grid.focus();
    this.toggle(index, null);
    this.scheduleRender();
  }

  /** Expands (`true`), collapses (`false`) or toggles (`null`) the group at a row, when it is one. */
  private toggle(index: number, expand: boolean | null): void {
    const group = this.rowAt(index)?.group;
    if (!group) {
      return;
    }
    const next = expand ?? !group.expanded;
    if (next === group.expanded) {
      return;
    }
    // The host accepts a bounded list of expanded groups, so the oldest expansions are dropped first.
    this.state.expanded = next
      ? [...this.state.expanded, group.key].slice(-LIMITS.maxExpandedGroups)
      : this.state.expanded.filter((key) => key !== group.key);
    this.resetRows(false);
  }

  private keydown(event: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / ROW_HEIGHT) - 1);
    let next = this.activeIndex;
    switch (event.key) {
      case 'ArrowDown': next += 1; break;
      case 'ArrowUp': next -= 1; break;
      case 'PageDown': next += page; break;
      case 'PageUp': next -= page; break;
      case 'Home': next = 0; break;
      case 'End': next = this.total - 1; break;
      case 'Enter':
      case ' ':
        this.toggle(this.activeIndex, null);
        event.preventDefault();
        return;
      case 'ArrowRight':
        this.toggle(this.activeIndex, true);
        event.preventDefault();
        return;
      case 'ArrowLeft':
        this.toggle(this.activeIndex, false);
        event.preventDefault();
        return;
      default:
        return;
    }
    event.preventDefault();
    this.activeIndex = Math.max(0, Math.min(this.total - 1, next));
    // Scroll just enough to bring the active row into view.
    const top = this.activeIndex * ROW_HEIGHT;
    if (top < this.viewport.scrollTop) {
      this.viewport.scrollTop = top;
    } else if (top + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight) {
      this.viewport.scrollTop = top + ROW_HEIGHT - this.viewport.clientHeight;
    }
    this.scheduleRender();
  }
}
