/** The output section: destination, overwrite, Defuse with progress and Cancel, the result, and "Copy CLI command". */
import type { ConvertParams, RunState } from '../protocol/messages';
import type { RpcClient } from '../protocol/rpc';
import { byId, el, replaceChildren } from './dom';
import { formatBytes, formatCount, formatSeconds } from './format';
import type { ViewState } from './state';

/** How long the "Copied: …" status stays before it clears itself. */
const COPIED_STATUS_MS = 5000;

/** Element with a string `value`, as the toolkit's text field is. */
interface ValueElement extends HTMLElement {
  value: string;
}

/** Element with a `checked` state, as the toolkit's checkbox is. */
interface CheckedElement extends HTMLElement {
  checked: boolean;
}

/** Builds the markup of the output section. */
export function outputSection(): HTMLElement {
  return el('section', { class: 'output', 'aria-labelledby': 'output-title' },
    el('h2', { id: 'output-title' }, 'Output'),
    el('div', { class: 'row' },
      el('vscode-text-field', { id: 'out-dir', size: 60, 'aria-describedby': 'out-dir-error' }, 'Destination folder'),
      el('vscode-button', { id: 'out-browse', appearance: 'secondary' }, 'Browse…'),
    ),
    el('p', { id: 'out-dir-error', class: 'error', role: 'alert' }),
    el('vscode-checkbox', { id: 'out-overwrite' }, 'Replace the destination folder if it exists'),
    el('div', { class: 'row' },
      el('vscode-button', { id: 'defuse' }, 'Defuse'),
      el('vscode-button', { id: 'copy-cli', appearance: 'secondary' }, 'Copy CLI command'),
    ),
    el('p', { id: 'cli-copied', class: 'status', role: 'status' }),
    el('div', { id: 'run-progress', class: 'progress', hidden: true },
      el('progress', { id: 'progress-bar', max: 1, value: 0, 'aria-label': 'Conversion progress' }),
      el('span', { id: 'progress-text' }),
      el('vscode-button', { id: 'cancel', appearance: 'secondary' }, 'Cancel'),
    ),
    el('div', { id: 'run-result', role: 'status', 'aria-live': 'polite' }),
  );
}

/** Checks a destination typed by the user; the host checks it again. */
function outDirProblem(outDir: string): string | null {
  if (outDir.trim() === '') {
    return 'Enter a destination folder.';
  }
  // An absolute POSIX path, a Windows drive path or a UNC path.
  if (!/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(outDir)) {
    return `The destination "${outDir}" is not an absolute path.`;
  }
  return null;
}

/** Wires the output section to the view state and the host. */
export class OutputView {
  private readonly outDir = byId<ValueElement>('out-dir');
  private readonly overwrite = byId<CheckedElement>('out-overwrite');
  private readonly defuse = byId('defuse');
  private readonly progress = byId('run-progress');
  private readonly bar = byId<HTMLProgressElement>('progress-bar');
  private readonly progressText = byId('progress-text');
  private readonly result = byId('run-result');
  private readonly copied = byId('cli-copied');
  private copiedTimer: ReturnType<typeof setTimeout> | undefined;
  private run: RunState = { kind: 'idle' };
  private planReady = false;

  constructor(
    private readonly state: ViewState,
    private readonly rpc: RpcClient,
    /** Current rules and max layers, or null when they are invalid. */
    private readonly planInput: () => Pick<ConvertParams, 'rules' | 'maxLayers'> | null,
    private readonly onStateChange: () => void,
    private readonly onOutDirChange: () => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.outDir.value = state.outDir;
    this.overwrite.checked = state.overwrite;
    this.outDir.addEventListener('input', () => {
      this.clearCopied();
      this.state.outDir = this.outDir.value;
      this.onStateChange();
      this.onOutDirChange();
      this.render();
    });
    this.overwrite.addEventListener('change', () => {
      this.clearCopied();
      this.state.overwrite = this.overwrite.checked;
      this.onStateChange();
    });
    byId('out-browse').addEventListener('click', () => {
      this.rpc.request('pickFolder', { current: this.state.outDir }).then(({ folder }) => {
        if (folder !== null) {
          this.state.outDir = folder;
          this.outDir.value = folder;
          this.onStateChange();
          this.onOutDirChange();
          this.render();
        }
      }, this.onError);
    });
    this.defuse.addEventListener('click', () => this.startConversion());
    byId('cancel').addEventListener('click', () => {
      this.rpc.request('cancel', {}).catch(this.onError);
    });
    byId('copy-cli').addEventListener('click', () => {
      this.clearCopied();
      const params = this.params();
      if (params) {
        this.rpc.request('copyCli', params).then(({ command }) => this.showCopied(command), this.onError);
      }
    });
    this.render();
  }

  /** Clears the "Copied: …" status, because any later change makes the copied command stale. */
  clearCopied(): void {
    clearTimeout(this.copiedTimer);
    this.copied.textContent = '';
  }

  private showCopied(command: string): void {
    this.copied.textContent = `Copied: ${command}`;
    this.copiedTimer = setTimeout(() => this.clearCopied(), COPIED_STATUS_MS);
  }

  /** Enables Defuse only while the rules give a valid plan. */
  setPlanReady(ready: boolean): void {
    this.planReady = ready;
    this.render();
  }

  /** Shows a conversion state sent by the host. */
  setRun(run: RunState): void {
    this.run = run;
    this.render();
  }

  private params(): ConvertParams | null {
    const input = this.planInput();
    const problem = outDirProblem(this.state.outDir);
    byId('out-dir-error').textContent = problem ?? '';
    if (!input || problem !== null) {
      return null;
    }
    return { ...input, outDir: this.state.outDir, overwrite: this.state.overwrite };
  }

  private startConversion(): void {
    const params = this.params();
    if (!params || this.run.kind === 'running') {
      return;
    }
    this.clearCopied();
    this.setRun({ kind: 'running', outDir: params.outDir, progress: null });
    // No timeout: a conversion of a large checkpoint takes as long as the disk needs.
    this.rpc.request('convert', params, { timeoutMs: 0 }).then((summary) => {
      this.setRun({ kind: 'done', summary });
    }, (error: unknown) => {
      // The host also sends the final run state; this covers a failure before the conversion started.
      if (this.run.kind === 'running') {
        this.setRun({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
      }
    });
  }

  private render(): void {
    const running = this.run.kind === 'running';
    const problem = outDirProblem(this.state.outDir);
    // Said as soon as the field is wrong, or the disabled Defuse button would have no explanation.
    byId('out-dir-error').textContent = problem ?? '';
    this.defuse.toggleAttribute('disabled', running || !this.planReady || problem !== null);
    this.progress.hidden = !running;
    replaceChildren(this.result);

    switch (this.run.kind) {
      case 'idle':
        break;
      case 'running': {
        const progress = this.run.progress;
        const fraction = progress && progress.bytesTotal > 0 ? progress.bytesDone / progress.bytesTotal : 0;
        this.bar.value = fraction;
        this.progressText.textContent = progress === null
          ? `Starting the conversion into ${this.run.outDir}…`
          : `${(fraction * 100).toFixed(1)}%: ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}, `
            + `tensor ${formatCount(progress.tensorsDone)} of ${formatCount(progress.tensorsTotal)}`
            + (progress.currentTensor === null ? '' : ` (${progress.currentTensor})`);
        break;
      }
      case 'done': {
        const summary = this.run.summary;
        const throughput = summary.seconds > 0 ? `${formatBytes(summary.bytesWritten / summary.seconds)}/s` : 'n/a';
        const outDir = summary.outDir;
        const open = el('vscode-button', { appearance: 'secondary' }, 'Open folder');
        const reveal = el('vscode-button', { appearance: 'secondary' }, 'Reveal in Explorer');
        open.addEventListener('click', () => {
          this.rpc.request('openResult', { outDir, action: 'open' }).catch(this.onError);
        });
        reveal.addEventListener('click', () => {
          this.rpc.request('openResult', { outDir, action: 'reveal' }).catch(this.onError);
        });
        this.result.append(
          el('p', { class: 'done' },
            `Wrote ${formatCount(summary.tensorsWritten)} tensors, ${formatBytes(summary.bytesWritten)} in ${formatSeconds(summary.seconds)} `
            + `(${throughput}) into ${outDir}. `
            + (summary.verified ? 'Output verified.' : 'Output not verified.')),
          el('div', { class: 'row' }, open, reveal),
        );
        break;
      }
      case 'failed':
        this.result.append(el('p', { class: 'error' }, `Conversion failed: ${this.run.message}`));
        break;
      case 'cancelled':
        this.result.append(el('p', {}, 'Conversion cancelled; nothing was written.'));
        break;
    }
  }
}
