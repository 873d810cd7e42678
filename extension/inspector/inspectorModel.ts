/**
 * The data behind one inspector: headers of a `.safetensors` file or of every shard of an index, the
 * module tree and the set of fused tensors. Reads headers only, so opening a 5 GB shard stays cheap.
 */
import * as path from 'node:path';
import { openCheckpoint, planDefusion, readHeader, type SafetensorsHeader } from '../../src/index';
import { buildModuleTree, totalsByDType, type InspectedTensor, type ModuleNode } from '../../src/inspect/index';
import type { InspectorSummary } from '../../webview/inspector/protocol';

/** Everything the inspector of one file shows. */
export interface InspectorModel {
  readonly summary: InspectorSummary;
  readonly tensors: readonly InspectedTensor[];
  readonly tree: ModuleNode;
  /** Header of the file that contains each tensor, by tensor name (for statistics). */
  readonly headerOf: ReadonlyMap<string, SafetensorsHeader>;
}

interface FusedInfo {
  readonly fused: ReadonlySet<string>;
  readonly modelType: string | null;
  readonly note: string | null;
}

/** Finds the fused tensors through the real planner; a file without a checkpoint around it has none. */
async function findFused(file: string): Promise<FusedInfo> {
  try {
    const checkpoint = await openCheckpoint(file);
    const plan = await planDefusion(checkpoint, { filter: null });
    return { fused: new Set(plan.candidates.flatMap((candidate) => candidate.tensors)), modelType: checkpoint.modelType, note: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { fused: new Set(), modelType: null, note: `Fused tensors are not marked because the checkpoint could not be planned: ${reason}` };
  }
}

/** Reads the headers for a `.safetensors` file or a `*.safetensors.index.json` and builds the model. */
export async function loadInspectorModel(file: string): Promise<InspectorModel> {
  const headers: Array<{ relative: string; header: SafetensorsHeader }> = [];
  const isIndex = file.endsWith('.index.json');
  if (isIndex) {
    const checkpoint = await openCheckpoint(file);
    for (const shard of checkpoint.shards) {
      const header = checkpoint.headers.get(shard);
      if (header) headers.push({ relative: shard, header });
    }
  } else {
    headers.push({ relative: path.basename(file), header: await readHeader(file) });
  }

  const fusedInfo = await findFused(file);
  const tensors: InspectedTensor[] = [];
  const headerOf = new Map<string, SafetensorsHeader>();
  let headerBytes = 0;
  for (const { relative, header } of headers) {
    headerBytes += header.dataOffset;
    for (const info of header.tensors) {
      tensors.push({
        name: info.name, dtype: info.dtype, shape: info.shape,
        params: info.shape.reduce((product, size) => product * size, 1),
        bytes: info.end - info.begin, offset: info.begin, file: relative,
        fused: fusedInfo.fused.has(info.name),
      });
      headerOf.set(info.name, header);
    }
  }

  const summary: InspectorSummary = {
    title: path.basename(file),
    path: file,
    files: headers.map(({ relative }) => relative),
    metadata: headers.length === 1 ? headers[0].header.metadata : null,
    tensorCount: tensors.length,
    params: tensors.reduce((sum, tensor) => sum + tensor.params, 0),
    bytes: tensors.reduce((sum, tensor) => sum + tensor.bytes, 0),
    headerBytes,
    totals: totalsByDType(tensors),
    fusedCount: tensors.filter((tensor) => tensor.fused).length,
    modelType: fusedInfo.modelType,
    planNote: fusedInfo.note,
  };
  return { summary, tensors, tree: buildModuleTree(tensors), headerOf };
}
