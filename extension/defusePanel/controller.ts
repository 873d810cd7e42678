/**
 * The request handling of one defuse panel, without `vscode`: it validates every webview message, plans,
 * serves diff pages and runs the conversion. `index.ts` connects it to a VS Code webview; the browser tests
 * connect it to a page in Chromium.
 */
import * as path from 'node:path';
import type { Checkpoint, ConvertProgress, ConvertResult, Plan } from '../../src/index';
import type {
  ConvertParams, ConvertSummary, HostToWebview, InitState, PlanReply, RequestMessage, RunState,
} from '../../webview/protocol/messages';
import { assertNever } from '../../webview/protocol/messages';
import { errorMessage, serveRequest } from '../../webview/protocol/rpc';
import { parseWebviewMessage, ProtocolError } from '../../webview/protocol/validate';
import { buildCliCommand } from './cliCommand';
import { freeBytesAt } from './diskSpace';
import { PlanSession, type PlanBackend } from './planSession';

/** One conversion the panel requests from the runner. */
export interface ConversionJob {
  readonly checkpoint: Checkpoint;
  readonly plan: Plan;
  readonly outDir: string;
  readonly overwrite: boolean;
  readonly signal: AbortSignal;
  readonly onProgress: (progress: ConvertProgress) => void;
}

/** Log levels the panel uses. */
export type PanelLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The starting values the panel takes from the settings. */
export interface PanelDefaults {
  /** Null is no filter (every candidate), an empty list selects nothing. */
  readonly rules: readonly string[] | null;
  readonly maxLayers: number | null;
  readonly outDir: string;
  /** Whether conversions verify what they wrote; only the copied command line needs it, as `--verify`. */
  readonly verify: boolean;
}

/** Environment of the controller: VS Code, or a test. */
export interface PanelHost {
  post(message: HostToWebview): PromiseLike<unknown>;
  log(level: PanelLogLevel, message: string): void;
  defaults(): PanelDefaults;
  pickFolder(current: string): Promise<string | null>;
  writeClipboard(text: string): Promise<void>;
  openFolder(folder: string, action: 'open' | 'reveal'): Promise<void>;
  runConversion(job: ConversionJob): Promise<ConvertResult>;
}

/** Conversion progress goes to the webview at most this often, because the core may report every chunk. */
const PROGRESS_INTERVAL_MS = 100;

/** An error with a `kind`, so the webview's RpcError carries a stable kind. */
class PanelRequestError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
    this.name = 'PanelRequestError';
  }
}

/** Handles the messages of one panel's webview. */
export class PanelController {
  private readonly session: PlanSession;
  private run: RunState = { kind: 'idle' };
  private abort: AbortController | null = null;
  private lastProgressAt = 0;

  constructor(private readonly checkpoint: Checkpoint, backend: PlanBackend, private readonly host: PanelHost) {
    this.session = new PlanSession(backend);
  }

  /** Handles one raw message from the webview. Invalid messages are logged and get an error reply instead of an exception. */
  receive(raw: unknown): void {
    let message;
    try {
      message = parseWebviewMessage(raw);
    } catch (error) {
      const reason = errorMessage(error);
      this.host.log('warn', `[panel] rejected a message from the webview: ${reason}`);
      if (error instanceof ProtocolError && error.requestId !== null) {
        void this.host.post({ type: 'response', id: error.requestId, ok: false, error: { kind: error.kind, message: reason } });
      }
      return;
    }
    if (message.type === 'ready') {
      void this.sendInit();
      return;
    }
    void serveRequest(message, (request) => this.handle(request), (reply) => this.host.post(reply));
  }

  /** Cancels a running conversion; called when the panel closes. */
  dispose(): void {
    if (this.abort !== null) {
      this.host.log('info', '[panel] panel closed during a conversion, cancelling it');
      this.abort.abort();
    }
  }

  private async sendInit(): Promise<void> {
    const defaults = this.host.defaults();
    let plan: PlanReply | null = null;
    let fatal: string | null = null;
    try {
      plan = await this.session.update(defaults.rules, defaults.maxLayers);
    } catch (error) {
      fatal = errorMessage(error);
      this.host.log('error', `[panel] planning ${this.checkpoint.root} failed: ${fatal}`);
    }
    const state: InitState = {
      checkpointPath: this.checkpoint.root,
      defaultRules: defaults.rules,
      defaultMaxLayers: defaults.maxLayers,
      outDir: defaults.outDir,
      run: this.run,
      plan,
      fatal,
    };
    await this.host.post({ type: 'init', state });
  }

  private async handle(message: RequestMessage): Promise<unknown> {
    switch (message.method) {
      case 'plan':
        return this.session.update(message.params.rules, message.params.maxLayers);
      case 'rows':
        return this.session.rows(message.params);
      case 'freeSpace':
        return { freeBytes: await freeBytesAt(message.params.outDir) };
      case 'pickFolder':
        return { folder: await this.host.pickFolder(message.params.current) };
      case 'convert':
        return this.convert(message.params);
      case 'cancel': {
        const running = this.abort !== null;
        this.abort?.abort();
        return { cancelled: running };
      }
      case 'copyCli': {
        const command = buildCliCommand(this.checkpoint.root, message.params, { verify: this.host.defaults().verify });
        await this.host.writeClipboard(command);
        return { command };
      }
      case 'openResult':
        return this.openResult(message.params.outDir, message.params.action);
      default:
        return assertNever(message, 'request');
    }
  }

  private async convert(params: ConvertParams): Promise<ConvertSummary> {
    if (this.abort !== null) {
      throw new PanelRequestError('busy', 'A conversion of this checkpoint is already running; wait for it or cancel it.');
    }
    // Plan again with exactly the parameters of the request, so the output matches what the user confirmed.
    const reply = await this.session.update(params.rules, params.maxLayers);
    const plan = this.session.plan;
    if (!reply.ok || plan === null) {
      const first = reply.ok ? undefined : reply.problems[0];
      throw new PanelRequestError('invalid-rule', first
        ? `Filter rule ${first.index + 1} ${JSON.stringify(first.rule)} is invalid: ${first.message}`
        : 'There is no plan to convert.');
    }
    const abort = new AbortController();
    this.abort = abort;
    this.setRun({ kind: 'running', outDir: params.outDir, progress: null });
    this.host.log('info', `[panel] converting ${this.checkpoint.root} into ${params.outDir}`);
    try {
      const result = await this.host.runConversion({
        checkpoint: this.checkpoint,
        plan,
        outDir: params.outDir,
        overwrite: params.overwrite,
        signal: abort.signal,
        onProgress: (progress) => this.progress(params.outDir, progress),
      });
      const summary: ConvertSummary = {
        outDir: result.outDir,
        tensorsWritten: result.tensorsWritten,
        bytesWritten: result.bytesWritten,
        seconds: result.seconds,
        verified: result.verified,
        files: result.files,
      };
      this.host.log('info', `[panel] wrote ${summary.tensorsWritten} tensors into ${summary.outDir}`);
      this.setRun({ kind: 'done', summary });
      return summary;
    } catch (error) {
      if (abort.signal.aborted) {
        this.host.log('info', `[panel] conversion into ${params.outDir} cancelled`);
        this.setRun({ kind: 'cancelled' });
      } else {
        this.host.log('error', `[panel] conversion into ${params.outDir} failed: ${errorMessage(error)}`);
        this.setRun({ kind: 'failed', message: errorMessage(error) });
      }
      throw error;
    } finally {
      this.abort = null;
    }
  }

  private progress(outDir: string, progress: ConvertProgress): void {
    const now = Date.now();
    const finished = progress.bytesDone >= progress.bytesTotal;
    if (!finished && now - this.lastProgressAt < PROGRESS_INTERVAL_MS) {
      return;
    }
    this.lastProgressAt = now;
    this.setRun({ kind: 'running', outDir, progress: { ...progress } });
  }

  private setRun(run: RunState): void {
    this.run = run;
    void this.host.post({ type: 'run', run });
  }

  private async openResult(outDir: string, action: 'open' | 'reveal'): Promise<Record<string, never>> {
    // Only the folder this panel wrote may be opened, whatever path the webview sends.
    if (this.run.kind !== 'done' || path.resolve(this.run.summary.outDir) !== path.resolve(outDir)) {
      throw new PanelRequestError('bad-request', `The folder ${outDir} is not the output of this panel's last conversion.`);
    }
    await this.host.openFolder(outDir, action);
    return {};
  }
}
