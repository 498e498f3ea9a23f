import { describe, expect, it } from 'vitest';
import { cgoPipeSchedule, chooseCgoPolicy, hrmLayerSec, type CgoOp } from '../../src/timing/cgopipe.js';
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
    // 16 GiB x 0.9 less 2.5 GB of non-expert weights and a two-layer buffer (2 x 2.8 GB): a few % of 84.6 GB of experts
    expect(searched.gpuWeightFraction).toBeGreaterThan(0);
    expect(searched.gpuWeightFraction).toBeLessThan(0.1);
  });
});
