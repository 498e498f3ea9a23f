/** src/scenario/load.ts: system: and precision: given together must agree on the experts' storage. */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';

const synthetic = { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 1, tokensPerSequence: 4, popularity: { kind: 'zipf', exponent: 1.0 } } };
const base = { name: 't', seed: 1, model: 'mixtral-8x7b', hardware: 'rtx-4090', trace: synthetic, policies: [{ kind: 'lru', cache: { perLayer: 2 } }] };

describe('system.quantization against precision.experts', () => {
  it('a conflict is an error naming both fields, their sizes and the agreeing value', () => {
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading', quantization: 'hqq-2bit' }, precision: { experts: 'int8' } }, 's.yaml')).toThrow(
      /^s\.yaml: precision\.experts: int8 \(8 bits per weight\) conflicts with system\.quantization: hqq-2bit \(experts hqq-2bit-g16, [\d.]+ bits per weight\); expected precision\.experts to agree with it \(hqq-2bit-g16\), or only one of the two$/,
    );
    expect(() => parseScenario({ ...base, system: { kind: 'llama-cpp', quantization: 'gguf-q4_k_m' }, precision: { experts: { format: 'gguf-q4_k' } } })).toThrow(/precision\.experts: gguf-q4_k .* conflicts with system\.quantization: gguf-q4_k_m/);
  });
  it('formats that agree, fp16 for a bf16 system, and either field alone are accepted', () => {
    expect(parseScenario({ ...base, system: { kind: 'mixtral-offloading', quantization: 'hqq-3bit' }, precision: { experts: { format: 'hqq-3bit-g64' } } }).precision.experts).toEqual({ format: 'hqq-3bit-g64' });
    expect(parseScenario({ ...base, system: { kind: 'deepspeed-zero-inference', quantization: 'bf16' }, precision: { experts: 'fp16', dense: 'fp16' } }).precision.experts).toBe('fp16');
    // only precision: held to the system's default format, which agrees here ...
    expect(parseScenario({ ...base, system: { kind: 'mixtral-offloading' }, precision: { experts: { format: 'hqq-2bit-g16' } } }).precision.experts).toEqual({ format: 'hqq-2bit-g16' });
    // ... and is refused where it does not (the default's HQQ dequantisation on int4 experts)
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading' }, precision: { experts: 'int4' } }, 's.yaml')).toThrow(
      /^s\.yaml: precision\.experts: int4 \(4\.25 bits per weight\) conflicts with system\.quantization \(the default of system kind mixtral-offloading\): hqq-2bit \(experts hqq-2bit-g16, 3\.016 bits per weight\); expected precision\.experts to agree with it \(hqq-2bit-g16\), or system\.quantization set to the format of those experts$/,
    );
    // only quantization: the system's precision
    expect(parseScenario({ ...base, system: { kind: 'mixtral-offloading', quantization: 'hqq-3bit' } }).precision.experts).toEqual({ format: 'hqq-3bit-g64' });
    // precision without experts refines the rest; the experts stay the system's (they were bf16 before s28-badin)
    const refined = parseScenario({ ...base, system: { kind: 'mixtral-offloading', quantization: 'hqq-2bit' }, precision: { dense: 'fp16' } }).precision;
    expect(refined.dense).toBe('fp16');
    expect(refined.experts).toEqual({ format: 'hqq-2bit-g16' });
    // and without dense the dense weights stay the system's (mixtral-offloading's HQQ 4-bit attention), not the bf16 default
    const kv = parseScenario({ ...base, system: { kind: 'mixtral-offloading', quantization: 'hqq-2bit' }, precision: { kvCache: 'fp16' } }).precision;
    expect([kv.experts, kv.dense, kv.kvCache]).toEqual([{ format: 'hqq-2bit-g16' }, { format: 'hqq-4bit-g64' }, 'fp16']);
    expect(parseScenario({ ...base, system: { kind: 'mixtral-offloading' }, precision: { experts: { format: 'hqq-2bit-g16' } } }).precision.dense).toEqual({ format: 'hqq-4bit-g64' });
  });
});

describe('union forms (src/scenario/errors.ts)', () => {
  it('a precision tier mixing {format} and {dtype}: the alternatives named, not "Invalid option"', () => {
    expect(() => parseScenario({ ...base, precision: { experts: { format: 'hqq-2bit-g16', dtype: 'int4' } } }, 's.yaml')).toThrow(
      /^s\.yaml: precision\.experts: \{format\} and \{dtype\} are alternatives; expected one of them, got \{"format":"hqq-2bit-g16","dtype":"int4"\}$/,
    );
    // a typo keeps its suggestion
    expect(() => parseScenario({ ...base, policies: [{ kind: 'lru', cache: { perLayr: 2 } }] }, 's.yaml')).toThrow(/^s\.yaml: policies\[0\]\.cache: unknown field "perLayr"; did you mean "perLayer"\?$/);
  });
});
