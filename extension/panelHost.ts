/** Opens the defuse panel for a checkpoint path and gives it the host's conversion runner. */
import * as vscode from 'vscode';
import { executeConversion, isCancellation, showDone, showFailure } from './convertRunner';
import { DefusePanel } from './defusePanel/index';
import { describeError } from './log';
import { readSettings } from './settings';

/** Opens (or reveals) the defuse panel of a checkpoint folder, config.json, index or shard. */
export async function openDefusePanel(
  deps: { readonly context: vscode.ExtensionContext; readonly log: vscode.LogOutputChannel }, checkpointPath: string,
): Promise<void> {
  await DefusePanel.show(deps.context, {
    log: deps.log,
    settings: () => readSettings(vscode.Uri.file(checkpointPath)),
    // The panel shows the outcome itself; the host adds the notification and the final message.
    runConversion: async (job) => {
      const settings = readSettings(vscode.Uri.file(job.checkpoint.root));
      try {
        const result = await executeConversion(deps, job.checkpoint, job.plan, {
          outDir: job.outDir,
          overwrite: job.overwrite,
          verify: settings.verifyAfterWrite,
          otherFiles: settings.otherFiles,
          signal: job.signal,
          onProgress: job.onProgress,
        });
        void showDone(deps, result);
        return result;
      } catch (error) {
        if (!isCancellation(error)) {
          deps.log.error(`[panel] conversion of ${job.checkpoint.root} failed: ${describeError(error)}`);
          void showFailure(deps, error);
        }
        throw error;
      }
    },
  }, checkpointPath);
}
