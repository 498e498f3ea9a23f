import { describe, expect, it } from 'vitest';
import { cgoGpuBytes, cgoPipeSchedule, cgoPrefillSchedule, cgoStageCosts, chooseCgoPolicy, hrmLayerSec, residentExperts, type CgoOp, type CgoPrefillOp } from '../../src/timing/cgopipe.js';
import { modelPresets } from '../../src/model/presets.js';
import { hardwarePresets } from '../../src/hardware/presets.js';

// Round stage costs: PreAttn 1, QKV copy 1, CPU attention 3, hidden copy 1, PostAttn + FFN 2, a weight page 2.
const costs = { preSec: 1, qkvSec: 1, attnSec: 3, hidSec: 1, postSec: 2, pageSec: 2 };
const at = (ops: CgoOp[], stage: string, layer: number, micro: number) => {
  const o = ops.find((x) => x.stage === stage && x.layer === layer && x.micro === micro);
  if (!o) throw new Error(`no ${stage}(${layer}, ${micro})`);
  return [o.startSec, o.endSec];
};

describe('CGOPipe schedule (two layers, two micro-batches)', () => {
  const { makespanSec, ops } = cgoPipeSchedule(2, 2, costs, true);

  it('the prologue issues both micro-batches\' PreAttn; the CPU attends one while the GPU and the link serve the other', () => {
    expect(at(ops, 'pre', 0, 0)).toEqual([0, 1]);
    expect(at(ops, 'qkv', 0, 0)).toEqual([1, 2]);
    expect(at(ops, 'attn', 0, 0)).toEqual([2, 5]);
    expect(at(ops, 'pre', 0, 1)).toEqual([1, 2]);
    expect(at(ops, 'qkv', 0, 1)).toEqual([2, 3]);
    // micro-batch 1's attention waits for the CPU, then overlaps micro-batch 0's hidden copy, the page and PostAttn
    expect(at(ops, 'attn', 0, 1)).toEqual([5, 8]);
    expect(at(ops, 'hid', 0, 0)).toEqual([5, 6]);
    expect(at(ops, 'page', 1, 0)).toEqual([6, 8]);
    expect(at(ops, 'post', 0, 0)).toEqual([6, 8]);
  });

  it('layer 1 starts per micro-batch after its PostAttn of layer 0, and its first PostAttn waits for its last page', () => {
    expect(at(ops, 'pre', 1, 0)).toEqual([8, 9]);
    expect(at(ops, 'attn', 1, 0)).toEqual([10, 13]);
    expect(at(ops, 'hid', 0, 1)).toEqual([8, 9]);
    expect(at(ops, 'page', 1, 1)).toEqual([9, 11]);
    expect(at(ops, 'post', 0, 1)).toEqual([9, 11]);
    expect(at(ops, 'pre', 1, 1)).toEqual([11, 12]);
    expect(at(ops, 'attn', 1, 1)).toEqual([13, 16]);
    expect(at(ops, 'hid', 1, 0)).toEqual([13, 14]);
    // the next step's layer 0 pages during layer 1 (the two-layer buffer: layer 0's slots are free)
    expect(at(ops, 'page', 0, 0)).toEqual([14, 16]);
    expect(at(ops, 'post', 1, 0)).toEqual([14, 16]);
    expect(at(ops, 'hid', 1, 1)).toEqual([16, 17]);
    expect(at(ops, 'page', 0, 1)).toEqual([17, 19]);
    expect(at(ops, 'post', 1, 1)).toEqual([17, 19]);
    expect(makespanSec).toBe(19);
  });

  it('a slow link holds PostAttn back: the hidden copy queues behind a page, a layer\'s first PostAttn waits for its last page', () => {
    const slow = cgoPipeSchedule(2, 2, { ...costs, pageSec: 10 }, true);
    // page(1, 0) [6, 16], then micro-batch 1's hidden copy on the same stream [16, 17], then page(1, 1) [17, 27]
    expect(at(slow.ops, 'page', 1, 0)).toEqual([6, 16]);
    expect(at(slow.ops, 'hid', 0, 1)).toEqual([16, 17]);
    expect(at(slow.ops, 'page', 1, 1)).toEqual([17, 27]);
    // layer 1's first hidden copy queues behind that page [27, 28]: PostAttn(1, 0) after both
    expect(at(slow.ops, 'hid', 1, 0)).toEqual([27, 28]);
    expect(at(slow.ops, 'post', 1, 0)[0]).toBe(28);
  });

  it('a slow staging copy (CPU memory to the pinned buffer, one thread) holds the page and the PostAttn the host issues after it', () => {
    // pins: page 0's [0, 6] and page 1's [6, 12] in the prologue, page 2's [12, 18] (submitted at 5), page 3's [18, 24]
    const slow = cgoPipeSchedule(2, 2, { ...costs, pinSec: 6 }, true);
    expect(at(slow.ops, 'pin', 1, 1)).toEqual([6, 12]);
    expect(at(slow.ops, 'page', 1, 1)).toEqual([12, 14]);
    expect(at(slow.ops, 'post', 0, 1)).toEqual([12, 14]);
    expect(at(slow.ops, 'page', 0, 0)).toEqual([18, 20]);
    expect(at(slow.ops, 'post', 1, 1)).toEqual([24, 26]);
    expect(slow.makespanSec).toBe(26);
    // a fast one hides behind the link: the timeline without it
    expect(cgoPipeSchedule(2, 2, { ...costs, pinSec: 4 }).makespanSec).toBe(19);
  });

  it('two-layer buffer: a page of layer i + 1 waits for the last PostAttn of layer i - 1, whose half it overwrites', () => {
    // long PostAttns (5), short everything else: page(2, 0) could start after hid(1, 0) at 5.8, but
    // layer 0's last PostAttn still reads the buffer until 10.5
    const r = cgoPipeSchedule(3, 2, { preSec: 0.1, qkvSec: 0.1, attnSec: 0.1, hidSec: 0.1, postSec: 5, pageSec: 0.5 }, true);
    expect(at(r.ops, 'hid', 1, 0)[1]).toBeCloseTo(5.8, 12);
    expect(at(r.ops, 'post', 0, 1)[1]).toBeCloseTo(10.5, 12);
    expect(at(r.ops, 'page', 2, 0)[0]).toBeCloseTo(10.5, 12);
    // layer 2's pages in turn wait for layer 1's last PostAttn... of the next step's layer 0: post(1, 1)
    expect(at(r.ops, 'page', 0, 0)[0]).toBeCloseTo(at(r.ops, 'post', 1, 1)[1], 12);
  });

  it('the HRM estimate is the busiest resource per layer: max(comm, T_cpu, T_gpu)', () => {
    // comm 2 x (1 + 2) = 6, CPU 2 x 3 = 6, GPU 2 x (1 + 2) = 6, D2H 2
    expect(hrmLayerSec(costs, 2)).toBe(6);
    expect(hrmLayerSec({ ...costs, attnSec: 5 }, 2)).toBe(10);
  });

  it('the search keeps given fields and fits r_w to the GPU', () => {
    const m = modelPresets['mixtral-8x7b'];
    const hw = hardwarePresets.t4;
    const prec = { experts: 'fp16', dense: 'fp16', kvCache: 'fp16', groupSize: 128 } as const;
    const fixed = chooseCgoPolicy(m, hw, prec, 1440, 200, { microBatches: 15, gpuWeightFraction: 0.1 });
    expect(fixed).toEqual({ microBatches: 15, gpuWeightFraction: 0.1 });
    const searched = chooseCgoPolicy(m, hw, prec, 1440, 200, { microBatches: 15 });
    // 16 GiB x 0.9 less 2.5 GB of non-expert weights and a two-layer buffer (2 x 2.8 GB) leaves a few % of
    // 84.6 GB of experts, less than one expert per layer (32 x 0.35 GB): FastMoE keeps int(8 x wg) = 0, so
    // the largest wg is the largest below 1/8
    expect(searched.gpuWeightFraction).toBe(0.12);
    expect(residentExperts(m, searched.gpuWeightFraction)).toBe(0);
  });
});

// Round prefill costs: the layer's attention 1 and the rest 2 on the GPU, KV copy 1, hidden states 1 each way, a page 2.
const pre = { attnSec: 1, postSec: 2, kvSec: 1, hidOffSec: 1, hidLoadSec: 1, pageSec: 2 };
const pat = (ops: CgoPrefillOp[], stage: string, layer: number, micro: number) => {
  const o = ops.find((x) => x.stage === stage && x.layer === layer && x.micro === micro);
  if (!o) throw new Error(`no ${stage}(${layer}, ${micro})`);
  return [o.startSec, o.endSec];
};

describe('FastMoE prefill schedule (two layers, two micro-batches)', () => {
  const { makespanSec, ops } = cgoPrefillSchedule(2, 2, pre, true);

  it('layer 0: the page first, then each micro-batch\'s whole layer on the GPU, its KV copy after its attention, its hidden states offloaded', () => {
    expect(pat(ops, 'page', 0, 0)).toEqual([0, 2]);
    expect(pat(ops, 'layer', 0, 0)).toEqual([2, 5]);
    expect(pat(ops, 'kv', 0, 0)).toEqual([3, 4]);
    expect(pat(ops, 'hidOff', 0, 0)).toEqual([5, 6]);
    expect(pat(ops, 'layer', 0, 1)).toEqual([5, 8]);
    expect(pat(ops, 'kv', 0, 1)).toEqual([6, 7]);
    expect(pat(ops, 'hidOff', 0, 1)).toEqual([8, 9]);
    // micro-batch 0's hidden states for layer 1, issued after the host's wait on kv(0, 1) (a pageable copy)
    expect(pat(ops, 'hidLoad', 1, 0)).toEqual([7, 8]);
    // layer 1's page queues behind it on the host-to-device link
    expect(pat(ops, 'page', 1, 0)).toEqual([8, 10]);
    // no hidden load of micro-batch 1 for layer 0 (it was never offloaded)
    expect(ops.some((o) => o.stage === 'hidLoad' && o.layer === 0)).toBe(false);
  });

  it('layer 1 waits for its page; the host\'s wait on each KV copy holds back the next hidden load; the last layer offloads no hidden states; layer 0\'s page for the decode ends it', () => {
    expect(pat(ops, 'layer', 1, 0)).toEqual([10, 13]);
    expect(pat(ops, 'kv', 1, 0)).toEqual([11, 12]);
    expect(pat(ops, 'hidLoad', 1, 1)).toEqual([12, 13]);
    expect(pat(ops, 'layer', 1, 1)).toEqual([13, 16]);
    expect(pat(ops, 'kv', 1, 1)).toEqual([14, 15]);
    expect(ops.some((o) => o.stage === 'hidOff' && o.layer === 1)).toBe(false);
    expect(pat(ops, 'page', 0, 0)).toEqual([0, 2]);
    expect(ops.filter((o) => o.stage === 'page').map((o) => [o.layer, o.startSec, o.endSec])).toEqual([[0, 0, 2], [1, 8, 10], [0, 15, 17]]);
    expect(makespanSec).toBe(17);
  });

  it('one micro-batch moves no hidden states; a slow KV copy holds the GPU (the host blocks in it before issuing the next layer)', () => {
    const one = cgoPrefillSchedule(2, 1, pre, true);
    expect(one.ops.some((o) => o.stage === 'hidOff' || o.stage === 'hidLoad')).toBe(false);
    // page 0 [0, 2]; layer(0, 0) [2, 5], kv [3, 4]; page 1 [4, 6]; layer(1, 0) [6, 9], kv [7, 8]; page 0 [8, 10]
    expect(one.makespanSec).toBe(10);
    const slowKv = cgoPrefillSchedule(2, 2, { ...pre, kvSec: 4 }, true);
    // kv(0, 0) [3, 7]: layer(0, 1) is issued only then
    expect(pat(slowKv.ops, 'layer', 0, 1)).toEqual([7, 10]);
  });

  it('differs from the decode pipeline on the same stage sizes (the old prefill charge)', () => {
    const decode = cgoPipeSchedule(2, 2, { preSec: 0.5, qkvSec: 1, attnSec: 0.5, hidSec: 1, postSec: 2, pageSec: 1 }).makespanSec;
    expect(makespanSec).not.toBe(decode);
  });
});

describe('resident experts are whole experts (int(num_local_experts x wg))', () => {
  const m = modelPresets['mixtral-8x7b'];
  const prec = { experts: 'fp16', dense: 'fp16', kvCache: 'fp16', groupSize: 128 } as const;
  const hw = hardwarePresets['t4'];
  it('wg 0.12 keeps none of 8 on the GPU: the same pages and GPU bytes as wg 0; 0.125 keeps one', () => {
    expect(residentExperts(m, 0.12)).toBe(0);
    expect(residentExperts(m, 0.125)).toBe(1);
    const page = (w: number) => cgoStageCosts(m, hw, prec, 8, 800, { microBatches: 2, gpuWeightFraction: w }).pageSec;
    expect(page(0.12)).toBe(page(0));
    expect(page(0.125)).toBeLessThan(page(0));
    expect(cgoGpuBytes(m, prec, 8, 0.12)).toBe(cgoGpuBytes(m, prec, 8, 0));
  });
});
