/**
 * THE ONE TABLE that maps a published point's system to today's nearest moesim policy.
 *
 * This is a stand-in: issue 12 part 4 (branch issue12b, src/systems/) builds a catalog of real
 * systems selectable in a scenario as `system: {kind: ...}`, each with its execution semantics
 * modelled from its code. When it lands, `systemPolicy` below becomes
 * `(point) => ({ system: { kind: point.system, ...point.params } })` and this table goes away; the
 * suite, the scenario builder and the statistics do not change. Until then, every row says what the
 * nearest policy leaves out, which is why today's simulator is expected to be optimistic.
 */
import type { PolicySpec } from '../scenario/schema.js';
import type { PublishedPoint } from './points.js';

export interface SystemMapping {
  /** What the real system does, in one line. */
  does: string;
  /** What the stand-in policy misses. */
  missing: string;
  policy: (p: PublishedPoint) => PolicySpec;
}

const perLayer = (p: PublishedPoint, dflt: number) => ({ perLayer: p.params.cachePerLayer ?? dflt });
const hbm = { hbm: true as const, reserveGiB: 1 };

export const systemTable: Record<string, SystemMapping> = {
  'mixtral-offloading': {
    does: 'per-layer LRU of k experts on the GPU; "full": plus speculative pre-loading of the next layer\'s experts (next gate on the current hidden state); "on-demand": no cache',
    missing: 'eager PyTorch and HQQ dequantisation cost, swaps on the compute stream, write-back; the guess is the affinity predictor, not the real next-gate guess',
    policy: (p) =>
      p.variant === 'on-demand'
        ? { kind: 'none' }
        : p.variant === 'lru'
          ? { kind: 'lru', cache: perLayer(p, 4) }
          : { kind: 'lru', cache: perLayer(p, 4), prefetch: { kind: 'speculative', lookahead: 1 } },
  },
  'hf-accelerate': {
    does: 'device_map offload: offloaded modules\' weights are copied to the GPU by hooks at every forward',
    missing: 'whole MoE layers are streamed (all experts, and dense weights) where `none` fetches only the routed experts; hook overheads',
    policy: () => ({ kind: 'none' }),
  },
  'deepspeed-zero-inference': {
    does: 'ZeRO-Inference: layer weights streamed from host memory every forward pass',
    missing: 'whole-layer streaming (not only routed experts); synchronisation per module',
    policy: () => ({ kind: 'none' }),
  },
  'vllm-cpu-offload': {
    does: '--cpu-offload-gb: a fixed part of the weights lives in host memory and is read every forward pass',
    missing: 'whole offloaded tensors are read (not only routed experts); the offloaded part is not chosen by popularity',
    policy: () => ({ kind: 'static', cache: hbm }),
  },
  'moe-infinity': {
    does: 'activation-aware expert cache filling free HBM, activation-matrix prefetching of all remaining layers',
    missing: 'its own cache priorities (LRU here) and its I/O threads; the published version differs from the paper\'s',
    policy: () => ({ kind: 'lru', cache: hbm, prefetch: { kind: 'moe-infinity', decay: true } }),
  },
  ollama: {
    does: 'llama.cpp underneath: as many layers as fit on the GPU (-ngl), the rest, attention included, on the CPU',
    missing: 'layer-granular placement with CPU attention; GGUF kernels; static popular-expert placement stands in',
    policy: () => ({ kind: 'static', cache: hbm, onMiss: { kind: 'cpu' } }),
  },
  'llama.cpp': {
    does: 'default: routed experts in host memory computed on the CPU, attention on the GPU (as in kTransformers\' comparison); "ngl": the first -ngl layers on the GPU, the rest (attention included) on the CPU',
    missing: 'GGUF CPU kernels at achieved (not peak) DRAM bandwidth; NUMA; for "ngl" layer-granular placement with CPU attention (static popular-expert placement stands in)',
    policy: (p) => (p.variant === 'ngl' ? { kind: 'static', cache: hbm, onMiss: { kind: 'cpu' } } : { kind: 'none', onMiss: { kind: 'cpu' } }),
  },
  ktransformers: {
    does: 'routed experts on the CPU (AMX/AVX-512 kernels), attention (MLA), shared experts and KV cache on the GPU',
    missing: 'CPU kernels at achieved (not peak) DRAM bandwidth; NUMA replication; CUDA graphs',
    policy: () => ({ kind: 'none', onMiss: { kind: 'cpu' } }),
  },
};

export function systemPolicy(p: PublishedPoint): PolicySpec {
  const m = systemTable[p.system];
  if (!m) throw new Error(`no mapping for system "${p.system}" (src/reproduce/systems.ts)`);
  return { ...m.policy(p), label: p.variant ? `${p.system} (${p.variant})` : p.system };
}
