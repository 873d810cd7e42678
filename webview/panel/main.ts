/**
 * Entry point of the defuse panel webview. The webview only renders: the host plans, pages the diff and
 * converts, and every request goes through the typed protocol.
 */
import type { HostToWebview, InitState, PlanReply } from '../protocol/messages';
import { assertNever } from '../protocol/messages';
import { RpcClient, RpcError } from '../protocol/rpc';
import { CandidatesView, candidatesSection } from './candidates';
import { DiffTable, diffSection } from './diffTable';
import { byId, el, replaceChildren } from './dom';
import { headerSection, renderHeader, setPlanStale } from './header';
import { OutputView, outputSection } from './output';
import { RulesEditor, rulesSection } from './rulesEditor';
import './panel.css';
import { initialState, planInput, restoreState, type ViewState } from './state';

/** Plans are requested this long after the last keystroke, so typing a rule does not plan every character. */
const PLAN_DEBOUNCE_MS = 150;
const FREE_SPACE_DEBOUNCE_MS = 400;

const vscode = acquireVsCodeApi();
const rpc = new RpcClient((message) => vscode.postMessage(message));

/** The panel after `init`: all views, wired to one view state. */
class Panel {
  private readonly rules: RulesEditor;
  private readonly candidates: CandidatesView;
  private readonly table: DiffTable;
  private readonly output: OutputView;
  private planTimer: ReturnType<typeof setTimeout> | undefined;
  private freeTimer: ReturnType<typeof setTimeout> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** Increases with every plan request, so only the newest reply is shown. */
  private planRequest = 0;
  /** Free bytes at the destination: undefined while the first measurement is under way, null when unknown. */
  private freeBytes: number | null | undefined = undefined;
  private lastSummary: Extract<PlanReply, { ok: true }>['summary'] | null = null;

  constructor(private readonly init: InitState, private readonly state: ViewState) {
    const app = byId('app');
    replaceChildren(app,
      headerSection(),
      el('p', { id: 'panel-error', class: 'error', role: 'alert' }),
      rulesSection(),
      candidatesSection(),
      diffSection(),
      outputSection(),
    );
    app.setAttribute('aria-busy', 'false');
    const save = (): void => this.save();
    const showError = (error: unknown): void => this.showError(error);
    this.rules = new RulesEditor(state, { onChange: () => this.schedulePlan(), onRestoreDefaults: () => this.restoreDefaults() });
    this.candidates = new CandidatesView(state, save);
    this.table = new DiffTable(state, (query) => rpc.request('rows', query), save, showError);
    this.output = new OutputView(state, rpc, () => {
      const input = planInput(state);
      return 'error' in input ? null : input;
    }, save, () => this.scheduleFreeSpace(), showError);
    this.output.setRun(init.run);
    // Measured at once, so the header does not show the free space as unknown while the debounce runs.
    this.scheduleFreeSpace(0);
  }

  /** Shows the plan sent with `init` when it matches the current rules, else requests a new one. */
  start(): void {
    if (this.init.fatal !== null) {
      this.showError(new Error(this.init.fatal));
    }
    const input = planInput(this.state);
    const sameAsDefaults = !('error' in input) && this.init.plan !== null
      && JSON.stringify(input.rules) === JSON.stringify(this.init.defaultRules)
      && input.maxLayers === this.init.defaultMaxLayers;
    if (sameAsDefaults && this.init.plan) {
      this.showPlan(this.init.plan);
    } else {
      this.requestPlan();
    }
  }

  /** Applies a run state pushed by the host. */
  setRun(run: InitState['run']): void {
    this.output.setRun(run);
  }

  private save(): void {
    // Saving on every scroll event would serialise the state many times a second; once per frame-ish is enough.
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => vscode.setState(this.state), 100);
  }

  private restoreDefaults(): void {
    const defaults = initialState(this.init.checkpointPath, this.init.defaultRules, this.init.defaultMaxLayers, this.init.outDir);
    this.state.rulesEnabled = defaults.rulesEnabled;
    this.state.rulesText = defaults.rulesText;
    this.state.maxLayersText = defaults.maxLayersText;
    this.rules.load();
    this.schedulePlan();
  }

  private schedulePlan(): void {
    this.output.clearCopied();
    this.save();
    clearTimeout(this.planTimer);
    this.planTimer = setTimeout(() => this.requestPlan(), PLAN_DEBOUNCE_MS);
  }

  private requestPlan(): void {
    const input = planInput(this.state);
    const request = ++this.planRequest;
    if ('error' in input) {
      this.output.setPlanReady(false);
      setPlanStale('The preview shows the last valid settings: fix max layers to update it.');
      return;
    }
    rpc.request('plan', input).then((reply) => {
      if (request === this.planRequest) {
        this.showPlan(reply);
      }
    }, (error: unknown) => {
      if (request === this.planRequest) {
        this.output.setPlanReady(false);
        this.showError(error);
      }
    });
  }

  private showPlan(reply: PlanReply): void {
    if (!reply.ok) {
      this.rules.setProblems(reply.problems);
      this.output.setPlanReady(false);
      setPlanStale('The preview shows the last valid rules: fix the invalid rules to update it.');
      return;
    }
    const summary = reply.summary;
    this.lastSummary = summary;
    byId('panel-error').textContent = '';
    setPlanStale(null);
    this.rules.setProblems([]);
    this.rules.setSummary(summary);
    renderHeader(summary, this.freeBytes);
    this.candidates.setSummary(summary);
    this.table.setShardCount(summary.shards.length);
    this.table.setGeneration(summary.generation);
    this.output.setPlanReady(true);
  }

  private scheduleFreeSpace(delayMs = FREE_SPACE_DEBOUNCE_MS): void {
    clearTimeout(this.freeTimer);
    this.freeTimer = setTimeout(() => {
      const outDir = this.state.outDir;
      if (!/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(outDir)) {
        // The output section reports the bad destination; the header must not keep saying "measuring".
        this.setFreeBytes(null);
        return;
      }
      rpc.request('freeSpace', { outDir }).then(({ freeBytes }) => this.setFreeBytes(freeBytes),
        (error: unknown) => {
          this.setFreeBytes(null);
          this.showError(error);
        });
    }, delayMs);
  }

  private setFreeBytes(freeBytes: number | null): void {
    this.freeBytes = freeBytes;
    if (this.lastSummary) {
      renderHeader(this.lastSummary, freeBytes);
    }
  }

  private showError(error: unknown): void {
    // A closed panel rejects its pending requests, and no page is left to show the error on.
    if (error instanceof RpcError && error.kind === 'disposed') {
      return;
    }
    byId('panel-error').textContent = error instanceof Error ? error.message : String(error);
  }
}

let panel: Panel | null = null;

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'init': {
      const state = restoreState(vscode.getState(), message.state.checkpointPath)
        ?? initialState(message.state.checkpointPath, message.state.defaultRules, message.state.defaultMaxLayers, message.state.outDir);
      panel = new Panel(message.state, state);
      panel.start();
      break;
    }
    case 'run':
      panel?.setRun(message.run);
      break;
    case 'response':
      rpc.handleResponse(message);
      break;
    default:
      assertNever(message, 'host message');
  }
});

window.addEventListener('unload', () => rpc.dispose());

/** Registers the toolkit's elements, then announces readiness so the host sends `init`. */
async function start(): Promise<void> {
  // A dynamic import because the toolkit is an ES module and this project compiles as CommonJS; esbuild
  // inlines it into the bundle, so nothing is fetched at run time.
  const toolkit = await import('@vscode/webview-ui-toolkit');
  toolkit.provideVSCodeDesignSystem().register(
    toolkit.vsCodeButton(), toolkit.vsCodeCheckbox(), toolkit.vsCodeDropdown(), toolkit.vsCodeOption(),
    toolkit.vsCodeRadio(), toolkit.vsCodeRadioGroup(), toolkit.vsCodeTextField(),
  );
  vscode.postMessage({ type: 'ready' });
}

void start();
