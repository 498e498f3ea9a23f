/**
 * Parquet routing traces in the schema of FLAME-MoE-Traces (CMU FLAME,
 * https://huggingface.co/datasets/CMU-FLAME/FLAME-MoE-Traces, dataset card README.md, "Schema"):
 * one file per MoE layer, `actives/iter_NNNN/layer_NN.parquet`, one row per token, columns
 *
 * | column    | type                | meaning                                                        |
 * |-----------|---------------------|----------------------------------------------------------------|
 * | `scores`  | `list<float16>[6]`  | router softmax probabilities of the top-6 experts, descending  |
 * | `indices` | `list<int16>[6]`    | routed expert ids (0-63), one per score                        |
 *
 * Row i of every layer file is the same token (the card: "Row i in an actives file aligns with row i in
 * the samples files"), so the files are joined by row number. A file's layer is, in order: the `layers`
 * option, else the number in its name (`layer_02.parquet` -> 2). The card gives no sequence boundaries:
 * `tokensPerSequence` cuts the token stream into sequences, else it is one sequence.
 *
 * Read through hyparquet (a pure-JS Parquet reader; hyparquet-compressors adds zstd, gzip, brotli, lz4),
 * one row group at a time straight into the trace's typed arrays: memory is the trace plus one row group.
 * Column names are configurable (`columns: {experts, weights}`) for other Parquet recorders with a list of
 * ids per row.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { inputErrorAt } from '../util/errors.js';
import { TraceBuilder } from './builder.js';
import { badWeightMessage, checkTraceDims, isStorableWeight } from './checks.js';
import { layerFromFileName } from './csv.js';
import { displayName, wrapFsError } from './lines.js';
import type { Trace } from './types.js';

export interface ParquetImportOptions {
  /** The layer of each file, in path order (default: the number in the file name). */
  layers?: number[];
  /** Column names (default: FLAME's `indices` and `scores`; weights false: ignore them). */
  columns?: { experts?: string; weights?: string | false };
  tokensPerSequence?: number;
  topK?: number;
  numExperts?: number;
  /** The scenario model's expert count: an id beyond it is refused at its row. */
  modelExperts?: number;
  model?: string;
}

export const PARQUET_MAGIC = 'PAR1';

interface LayerFile {
  path: string;
  file: string;
  layer: number;
  metadata: FileMetaData;
  buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
}

function columnNames(md: FileMetaData): string[] {
  // top-level fields: children of the root, skipping nested elements
  const names: string[] = [];
  const schema = md.schema;
  let i = 1;
  const skip = (at: number): number => {
    const n = schema[at].num_children ?? 0;
    let next = at + 1;
    for (let c = 0; c < n; c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    names.push(schema[i].name);
    i = skip(i);
  }
  return names;
}

/** Import Parquet layer files (FLAME-MoE-Traces actives) as one trace; streamed by row group. */
export async function importParquet(pathOrPaths: string | string[], opts: ParquetImportOptions = {}): Promise<Trace> {
  const paths = Array.isArray(pathOrPaths) ? pathOrPaths : [pathOrPaths];
  const expertsCol = opts.columns?.experts ?? 'indices';
  const weightsCol = opts.columns?.weights === false ? undefined : (opts.columns?.weights ?? 'scores');
  if (opts.layers !== undefined && opts.layers.length !== paths.length) {
    throw inputErrorAt(displayName(paths[0]), undefined, `${opts.layers.length} layer numbers for ${paths.length} files; give one per file, in path order`);
  }
  const files: LayerFile[] = [];
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i];
    const file = displayName(path);
    const buffer = await asyncBufferFromFile(path).catch((e: unknown) => {
      throw wrapFsError(e, file);
    });
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw inputErrorAt(file, undefined, `not a readable Parquet file (${(e as Error).message})`);
    }
    const cols = columnNames(metadata);
    const want = weightsCol === undefined ? [expertsCol] : [expertsCol, weightsCol];
    for (const c of want) {
      if (!cols.includes(c)) {
        const what = c === expertsCol ? 'the routed expert ids, a list per row' : 'the gate scores, a list per row; set columns.weights: false to ignore them';
        throw inputErrorAt(file, undefined, `no column "${c}" (${what}); the file has ${cols.map((n) => `"${n}"`).join(', ')} (FLAME-MoE-Traces actives have "indices" and "scores")`);
      }
    }
    const layer = opts.layers?.[i] ?? layerFromFileName(path) ?? (paths.length === 1 ? 0 : undefined);
    if (layer === undefined) throw inputErrorAt(file, undefined, 'no layer number in the file name (e.g. layer_02.parquet); set layers: [...] (one per file, in path order)');
    const other = files.find((f) => f.layer === layer);
    if (other !== undefined) throw inputErrorAt(file, undefined, `layer ${layer} again (also ${other.file}); each file must hold a different layer`);
    files.push({ path, file, layer, metadata, buffer });
  }
  files.sort((a, b) => a.layer - b.layer);
  const rows = Number(files[0].metadata.num_rows);
  for (const f of files) {
    const n = Number(f.metadata.num_rows);
    if (n !== rows) throw inputErrorAt(f.file, undefined, `${n} rows but ${files[0].file} has ${rows}; the layer files of one capture have one row per token, the same tokens in every file`);
  }
  const first = files[0].file;
  if (rows === 0) throw inputErrorAt(first, undefined, 'no rows (expected one row per token)');
  const numLayers = files.length;

  // top-k from the first row (or the option)
  let topK = opts.topK ?? -1;
  if (topK < 0) {
    let row0: unknown;
    await parquetRead({ file: files[0].buffer, metadata: files[0].metadata, columns: [expertsCol], rowStart: 0, rowEnd: 1, compressors, onChunk: (c) => (row0 = c.columnData[0]) });
    if (!isList(row0) || row0.length === 0) throw inputErrorAt(first, undefined, `row 0: "${expertsCol}": expected a non-empty list of expert ids, got ${show(row0)}`);
    topK = row0.length;
  }
  checkTraceDims(`${first}: `, { tokens: rows, layers: numLayers, topK });
  const maxExperts = opts.numExperts ?? opts.modelExperts ?? 0xffff;
  const beyondModel = opts.numExperts === undefined && opts.modelExperts !== undefined;

  const builder = new TraceBuilder({ numLayers, topK, initialTokens: rows, weights: weightsCol !== undefined });
  const per = opts.tokensPerSequence ?? rows;
  for (let t = 0; t < rows; t++) {
    if (t % per === 0) builder.beginSequence(String(t / per));
    builder.addToken();
  }
  const ex = builder.experts;
  const w = weightsCol !== undefined ? builder.weights : undefined;
  const seen = new Uint32Array(0x10000);
  let stamp = 0;

  for (let li = 0; li < numLayers; li++) {
    const f = files[li];
    let groupStart = 0;
    for (let g = 0; g < f.metadata.row_groups.length; g++) {
      const groupRows = Number(f.metadata.row_groups[g].num_rows);
      const groupEnd = groupStart + groupRows;
      const idCells: unknown[] = new Array(groupRows);
      const wCells: unknown[] | undefined = weightsCol !== undefined ? new Array(groupRows) : undefined;
      try {
        await parquetRead({
          file: f.buffer,
          metadata: f.metadata,
          columns: weightsCol !== undefined ? [expertsCol, weightsCol] : [expertsCol],
          rowStart: groupStart,
          rowEnd: groupEnd,
          compressors,
          onChunk: (c) => {
            const dst = c.columnName === expertsCol ? idCells : wCells;
            if (dst === undefined) return;
            for (let r = 0; r < c.columnData.length; r++) dst[c.rowStart - groupStart + r] = c.columnData[r];
          },
        });
      } catch (e) {
        throw inputErrorAt(f.file, undefined, `row group ${g} (rows ${groupStart}..${groupEnd - 1}): cannot decode (${(e as Error).message})`);
      }
      for (let r = 0; r < groupRows; r++) {
        const row = groupStart + r;
        const ids = idCells[r];
        if (!isList(ids) || ids.length !== topK) {
          throw inputErrorAt(f.file, undefined, `row ${row}: "${expertsCol}": expected a list of ${topK} expert ids (${opts.topK !== undefined ? 'topK option' : 'as in row 0'}), got ${show(ids)}`);
        }
        const at = (row * numLayers + li) * topK;
        stamp++;
        for (let k = 0; k < topK; k++) {
          const e = Number(ids[k]);
          if (!Number.isInteger(e) || e < 0 || e >= maxExperts) {
            if (beyondModel && Number.isInteger(e) && e >= maxExperts) throw inputErrorAt(f.file, undefined, `row ${row}: "${expertsCol}"[${k}]: expert id ${e} is beyond the scenario's model, which has experts 0..${maxExperts - 1}`);
            throw inputErrorAt(f.file, undefined, `row ${row}: "${expertsCol}"[${k}]: expected an expert id in 0..${maxExperts - 1}, got ${show(ids[k])}`);
          }
          if (seen[e] === stamp) throw inputErrorAt(f.file, undefined, `row ${row}: "${expertsCol}": expert ${e} appears twice`);
          seen[e] = stamp;
          ex[at + k] = e;
        }
        if (w !== undefined && wCells !== undefined) {
          const ws = wCells[r];
          if (!isList(ws) || ws.length !== topK) throw inputErrorAt(f.file, undefined, `row ${row}: "${weightsCol}": expected a list of ${topK} scores (one per expert id), got ${show(ws)}`);
          for (let k = 0; k < topK; k++) {
            const v = Number(ws[k]);
            if (!isStorableWeight(v)) throw inputErrorAt(f.file, undefined, `row ${row}: "${weightsCol}"[${k}]: ${badWeightMessage(String(ws[k]))}`);
            w[at + k] = v;
          }
        }
      }
      groupStart = groupEnd;
    }
  }
  const ids = files.map((f) => f.layer);
  const identity = ids.every((l, i) => l === i);
  const trace = builder.build({
    numExperts: opts.numExperts,
    layerIds: identity ? undefined : ids,
    source: { path: paths.join(','), format: 'parquet' },
    warnings: [],
  });
  if (opts.model !== undefined) trace.source.model = opts.model;
  return trace;
}

function isList(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
