/**
 * A declarative mapping for a recorder's own layout: where the sequence, position, layer, expert ids and
 * weights are, in CSV/TSV (a header row), JSON Lines (an object per line), JSON (an array of row objects,
 * or objects nested by key), one file per layer, per sequence, or one file in all. Used from a scenario
 * (`trace: {path: ..., mapping: {...}}`) or the CLI (`moesim trace convert --mapping m.yaml`).
 *
 * ```yaml
 * format: csv            # csv | tsv | jsonl | json
 * layer: {fromFileName: true}   # a column/key name, a number, or the last number in the file name
 * sequence: req          # a column/key name, or {fromFileName: true} (file name without extension); default one sequence
 * position: token        # a column/key name, or "order" (the row's order within (sequence, layer)); default "order"
 * experts: ids           # a column holding a list ("[3, 7]", "3 7", "3;7"), or several columns [e0, e1]
 * weights: probs         # optional, as experts
 * rowHolds: token        # token (default) | sequence: the experts cell lists every token's ids ([[3,7],[1,2],...])
 * nest: [position, layer]       # JSON only: {"<position>": {"<layer>": [ids] | {ids: [...], probs: [...]}}}
 * ```
 * Rows go through the RowCollector (src/trace/rows.ts): CSV/TSV/JSONL are streamed line by line; JSON files are
 * parsed whole, one file at a time.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError, inputErrorAt } from '../util/errors.js';
import { layerFromFileName } from './jsonl.js';
import { fileStem } from './compressed.js';
import { isNonFiniteText, layerNumberIn, quoteNonFinite } from './numbers.js';
import { displayName, forEachLine, readJsonDocument, wrapFsError } from './lines.js';
import { splitCsv } from './moe-beyond.js';
import { RowCollector } from './rows.js';
import type { Trace } from './types.js';

const name = z.string().min(1);
const fromFileName = z.strictObject({ fromFileName: z.literal(true) });
const ids = z.union([name, z.array(name).min(1)], { error: 'expected a column/key name or a list of them' });

export const traceMappingSchema = z
  .strictObject({
    format: z.enum(['csv', 'tsv', 'jsonl', 'json']),
    layer: z.union([name, fromFileName, z.number().int().nonnegative()], { error: 'expected a column/key name, a layer number, or {fromFileName: true}' }).optional(),
    sequence: z.union([name, fromFileName], { error: 'expected a column/key name or {fromFileName: true}' }).optional(),
    position: z.union([z.literal('order'), name]).optional(),
    experts: ids.optional(),
    weights: ids.optional(),
    rowHolds: z.enum(['token', 'sequence']).optional(),
    nest: z.array(z.enum(['sequence', 'position', 'layer'])).min(1).max(3).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.nest !== undefined && m.format !== 'json') ctx.addIssue({ code: 'custom', path: ['nest'], message: 'nest is for format: json' });
    const nested = new Set(m.nest ?? []);
    if (!nested.has('layer') && m.layer === undefined) ctx.addIssue({ code: 'custom', path: ['layer'], message: 'required: a column/key name, a number, or {fromFileName: true} (or nest: [..., layer])' });
    if (m.nest === undefined && m.experts === undefined) ctx.addIssue({ code: 'custom', path: ['experts'], message: 'required: the column/key holding the expert ids' });
    if (m.rowHolds === 'sequence' && m.position !== undefined && m.position !== 'order') ctx.addIssue({ code: 'custom', path: ['position'], message: 'with rowHolds: sequence a token\'s position is its index in the list; leave position out' });
  });

export type TraceMapping = z.infer<typeof traceMappingSchema>;

/** Parse a mapping (a YAML/JSON object) with zod; errors name the field: `m.yaml: mapping.layer: ...`. */
export function parseMapping(value: unknown, where: string): TraceMapping {
  const r = traceMappingSchema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InputError(`${where}: mapping${i.path.length > 0 ? '.' + i.path.join('.') : ''}: ${i.message}`);
}

export interface MappedImportOptions {
  topK?: number;
  numExperts?: number;
  modelExperts?: number;
  model?: string;
}

/** A list cell: JSON ("[3, 7]", "[[3,7],[1,2]]") or numbers separated by spaces, commas, semicolons or bars. */
function parseList(cell: unknown): unknown {
  if (Array.isArray(cell)) return cell;
  if (typeof cell === 'number') return [cell];
  if (typeof cell !== 'string') return undefined;
  const s = cell.trim();
  if (s.startsWith('[')) {
    try {
      return JSON.parse(s);
    } catch {
      // [NaN, 0.5] as Python writes it: the NaN quoted, for numbers() and the row check to name it
      const quoted = quoteNonFinite(s);
      try {
        return quoted === undefined ? undefined : JSON.parse(quoted);
      } catch {
        return undefined;
      }
    }
  }
  if (s === '') return [];
  // the items as text: numbers() reads them (and lets "nan" / "inf" through for the row check to refuse)
  return s.split(/[\s,;|]+/);
}

function numbers(v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: number[] = [];
  for (const x of v) {
    const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x.trim().replace(/^[+-]?inf$/i, (t) => `${t.startsWith('-') ? '-' : ''}Infinity`)) : Number.NaN;
    // a NaN written as text ("nan", "NaN") goes on, for the row check to refuse it by its field and line
    if (Number.isNaN(n) && !isNonFiniteText(x)) return undefined;
    out.push(n);
  }
  return out;
}

/** Import files laid out as the mapping says. */
export async function importMapped(paths: string[], m: TraceMapping, opts: MappedImportOptions = {}): Promise<Trace> {
  const rows = new RowCollector({ topK: opts.topK, numExperts: opts.numExperts, modelExperts: opts.modelExperts, positions: m.position === 'order' || m.rowHolds === 'sequence' ? 'order' : 'given' });
  for (const path of paths) {
    const file = displayName(path);
    const stem = fileStem(path);
    const fileLayer = layerFromFileName(path);
    const get = (row: Record<string, unknown>, key: string, line: number | undefined, what: string): unknown => {
      if (!(key in row)) throw inputErrorAt(file, line, `no ${what} "${key}" (the mapping's ${what === 'column' ? 'columns' : 'keys'}: the row has ${Object.keys(row).slice(0, 12).map((k) => `"${k}"`).join(', ')})`);
      return row[key];
    };
    const list = (row: Record<string, unknown>, spec: string | string[], line: number | undefined, what: string): unknown => {
      if (Array.isArray(spec)) return spec.map((k) => get(row, k, line, what));
      return parseList(get(row, spec, line, what));
    };
    const emit = (row: Record<string, unknown>, line: number | undefined, what: string, keyed: { sequence?: string; position?: number; layer?: number } = {}): void => {
      let layer = keyed.layer;
      if (layer === undefined) {
        if (typeof m.layer === 'number') layer = m.layer;
        else if (typeof m.layer === 'object') {
          if (fileLayer === undefined) throw inputErrorAt(file, undefined, 'mapping.layer: fromFileName, but the file name has no number');
          layer = fileLayer;
        } else if (m.layer !== undefined) {
          const v = get(row, m.layer, line, what);
          layer = typeof v === 'number' ? v : typeof v === 'string' ? (layerNumberIn(v) ?? Number.NaN) : Number.NaN;
          if (Number.isNaN(layer)) throw inputErrorAt(file, line, `"${m.layer}": expected a layer number, got ${JSON.stringify(v)}`);
        }
      }
      let seq = keyed.sequence ?? '0';
      if (keyed.sequence === undefined && m.sequence !== undefined) {
        if (typeof m.sequence === 'object') seq = stem;
        else {
          const v = get(row, m.sequence, line, what);
          if (typeof v !== 'string' && typeof v !== 'number') throw inputErrorAt(file, line, `"${m.sequence}": expected a sequence id (string or number), got ${JSON.stringify(v)}`);
          seq = String(v);
        }
      }
      let pos = keyed.position;
      if (pos === undefined && m.position !== undefined && m.position !== 'order') {
        const v = get(row, m.position, line, what);
        pos = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
        if (Number.isNaN(pos)) throw inputErrorAt(file, line, `"${m.position}": expected a non-negative integer position, got ${JSON.stringify(v)}`);
      }
      const expSpec = m.experts ?? 'experts';
      const exLabel = Array.isArray(expSpec) ? expSpec.join(',') : expSpec;
      const ex = list(row, expSpec, line, what);
      const w = m.weights !== undefined ? list(row, m.weights, line, what) : undefined;
      if (m.rowHolds === 'sequence') {
        if (!Array.isArray(ex)) throw inputErrorAt(file, line, `"${exLabel}": expected a list of tokens, each a list of expert ids, e.g. [[3,7],[1,2]]`);
        ex.forEach((tok, t) => {
          const ids = numbers(tok);
          if (ids === undefined) throw inputErrorAt(file, line, `"${exLabel}"[${t}]: expected a list of expert ids, got ${JSON.stringify(tok)?.slice(0, 40)}`);
          const wt = Array.isArray(w) ? numbers(w[t]) : undefined;
          if (Array.isArray(w) && wt === undefined) throw inputErrorAt(file, line, `"${m.weights}"[${t}]: expected a list of numbers`);
          rows.add(file, line, seq, undefined, layer as number, ids, wt, exLabel);
        });
        return;
      }
      const ids = numbers(ex);
      if (ids === undefined) throw inputErrorAt(file, line, `"${exLabel}": expected a list of expert ids ("[3, 7]", "3 7" or one column per slot), got ${JSON.stringify(ex)?.slice(0, 40)}`);
      const wt = w !== undefined ? numbers(w) : undefined;
      if (w !== undefined && wt === undefined) throw inputErrorAt(file, line, `"${m.weights}": expected a list of numbers, got ${JSON.stringify(w)?.slice(0, 40)}`);
      rows.add(file, line, seq, pos, layer as number, ids, wt, exLabel);
    };

    if (m.format === 'csv' || m.format === 'tsv') {
      let header: string[] | undefined;
      await forEachLine(path, (buf, start, end, line) => {
        let text = buf.toString('utf8', start, end);
        if (line === 1) text = text.replace(/^\uFEFF/, '');
        if (text.endsWith('\r')) text = text.slice(0, -1);
        if (text.trim() === '') return;
        const cells = m.format === 'tsv' ? text.split('\t') : splitCsv(text);
        if (cells === undefined) throw inputErrorAt(file, line, 'unterminated quote');
        if (header === undefined) {
          header = cells.map((c) => c.trim());
          return;
        }
        if (cells.length !== header.length) throw inputErrorAt(file, line, `${cells.length} fields, but the header has ${header.length}`);
        const row: Record<string, unknown> = {};
        header.forEach((h, i) => (row[h] = cells[i]));
        emit(row, line, 'column');
      });
    } else if (m.format === 'jsonl') {
      await forEachLine(path, (buf, start, end, line) => {
        let text = buf.toString('utf8', start, end).trim();
        if (line === 1) text = text.replace(/^\uFEFF/, '');
        if (text === '') return;
        let row: unknown;
        try {
          row = JSON.parse(text);
        } catch (e) {
          // NaN / Infinity (Python's json.dumps writes them): quoted, for the row check to name the field
          const quoted = quoteNonFinite(text);
          try {
            if (quoted === undefined) throw e;
            row = JSON.parse(quoted);
          } catch {
            throw inputErrorAt(file, line, `invalid JSON (${(e as Error).message})`);
          }
        }
        if (typeof row !== 'object' || row === null || Array.isArray(row)) throw inputErrorAt(file, line, 'expected a JSON object per line');
        emit(row as Record<string, unknown>, line, 'key');
      });
    } else {
      const doc = await readJsonDocument(path, file);
      if (m.nest === undefined) {
        if (!Array.isArray(doc)) throw inputErrorAt(file, undefined, 'expected a JSON array of row objects (or set mapping.nest for objects keyed by position/layer)');
        doc.forEach((r, i) => {
          if (typeof r !== 'object' || r === null || Array.isArray(r)) throw inputErrorAt(file, undefined, `[${i}]: expected a row object`);
          emit(r as Record<string, unknown>, undefined, 'key');
        });
      } else {
        const nest = m.nest;
        const walk = (node: unknown, depth: number, keyed: { sequence?: string; position?: number; layer?: number }, at: string): void => {
          if (depth === nest.length) {
            const leaf = Array.isArray(node) ? { [m.experts === undefined || Array.isArray(m.experts) ? 'experts' : m.experts]: node } : node;
            if (typeof leaf !== 'object' || leaf === null) throw inputErrorAt(file, undefined, `${at}: expected the expert ids (a list) or an object holding them, got ${JSON.stringify(node)?.slice(0, 40)}`);
            try {
              emit(leaf as Record<string, unknown>, undefined, 'key', keyed);
            } catch (e) {
              if (e instanceof InputError) throw new InputError(e.message.replace(`${file}: `, `${file}: ${at}: `));
              throw e;
            }
            return;
          }
          if (typeof node !== 'object' || node === null) throw inputErrorAt(file, undefined, `${at}: expected an object keyed by ${nest[depth]}`);
          const entries: [string, unknown][] = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
          for (const [k, v] of entries) {
            const kind = nest[depth];
            const next = { ...keyed };
            if (kind === 'sequence') next.sequence = k;
            else {
              if (!/^\d+$/.test(k)) throw inputErrorAt(file, undefined, `${at}["${k}"]: expected a ${kind} number as key`);
              next[kind] = Number(k);
            }
            walk(v, depth + 1, next, `${at}["${k}"]`);
          }
        };
        walk(doc, 0, {}, '$');
      }
    }
  }
  const label = paths.length === 1 ? displayName(paths[0]) : `${displayName(paths[0])} (+${paths.length - 1} files)`;
  const trace = rows.build(label, { path: paths.join(','), format: `mapped ${m.format}` });
  if (opts.model !== undefined) trace.source.model = opts.model;
  return trace;
}
