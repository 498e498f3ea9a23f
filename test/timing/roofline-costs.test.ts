import { describe, expect, it } from 'vitest';
import { RooflineCosts } from '../../src/timing/roofline.js';
import { modelPresets } from '../../src/model/presets.js';
import { hardwarePresets } from '../../src/hardware/presets.js';
import { expertParams, bytesPerParam } from '../../src/model/derived.js';

const model = modelPresets['mixtral-8x7b'];
const hw = hardwarePresets['rtx-4090'];
const cost = new RooflineCosts(model, hw, { experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 128 });

describe('RooflineCosts: miss handling costs', () => {
  it('a CPU expert is the roofline of reading its weights from DRAM and its FLOPs on the cores', () => {
    const bytes = expertParams(model) * bytesPerParam('int4', 128);
    expect(cost.cpuExpertSec(1)).toBeCloseTo(bytes / hw.cpu.dramBytesPerSec, 12);
    // Many tokens: compute-bound.
    const flops = 2 * expertParams(model) * 4096;
    expect(cost.cpuExpertSec(4096)).toBeCloseTo(flops / hw.cpu.flopsPerSec, 12);
  });

  it('activations are the hidden states in bf16', () => {
    expect(cost.activationBytes(3)).toBe(3 * 4096 * 2);
  });

  it('a lower-bit copy is smaller and no slower on the GPU', () => {
    const mc = cost.missCosts('int2');
    expect(mc.lowBitExpertBytes).toBe(expertParams(model) * bytesPerParam('int2', 128));
    expect(mc.lowBitExpertBytes).toBeLessThan(cost.expertBytes);
    expect(mc.lowBitExpertSec(1)).toBeLessThan(cost.expertSec(1));
    expect(cost.missCosts().lowBitExpertBytes).toBe(cost.expertBytes);
  });
});
