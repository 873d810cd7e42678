/** Reads the `defuser.*` settings into one typed object, falling back to the defaults on bad values. */
import * as vscode from 'vscode';

/** Mode of carrying files other than safetensors weights into the output folder. */
export type OtherFilesMode = 'copy' | 'symlink';

/** The extension's settings. */
export interface DefuserSettings {
  /** Output folder template with `${folder}`, `${folderName}` and `${parent}`. */
  readonly outputFolder: string;
  /** Filter rules the panel starts with; null is "no filter" (defuse everything), [] selects nothing. */
  readonly defaultFilterRules: readonly string[] | null;
  /** Only modules whose `layers.<n>` index is below this are defused; null is all layers. */
  readonly maxLayers: number | null;
  readonly verifyAfterWrite: boolean;
  readonly otherFiles: OtherFilesMode;
}

/** Default output folder template. */
export const DEFAULT_OUTPUT_FOLDER = '${folder}-defused';

/** Reads the settings for a resource (the checkpoint folder), so folder-level settings apply. */
export function readSettings(scope?: vscode.Uri): DefuserSettings {
  const config = vscode.workspace.getConfiguration('defuser', scope);

  const outputFolder = config.get<unknown>('outputFolder');
  const rules = config.get<unknown>('defaultFilterRules');
  const maxLayers = config.get<unknown>('maxLayers');
  const verify = config.get<unknown>('verifyAfterWrite');
  const otherFiles = config.get<unknown>('otherFiles');

  return {
    outputFolder: typeof outputFolder === 'string' && outputFolder.trim() !== '' ? outputFolder : DEFAULT_OUTPUT_FOLDER,
    defaultFilterRules: Array.isArray(rules) && rules.every((rule) => typeof rule === 'string') ? rules as string[] : null,
    maxLayers: typeof maxLayers === 'number' && Number.isInteger(maxLayers) && maxLayers >= 1 ? maxLayers : null,
    verifyAfterWrite: typeof verify === 'boolean' ? verify : true,
    otherFiles: otherFiles === 'symlink' ? 'symlink' : 'copy',
  };
}
