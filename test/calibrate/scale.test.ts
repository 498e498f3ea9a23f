import { describe, expect, it } from 'vitest';
import { describeScaled, scaleModel } from '../../src/calibrate/scale.js';
import { modelPresets } from '../../src/model/presets.js';

describe('describeScaled (the replayed shape, as replay and validate print it)', () => {
  const mixtral = modelPresets['mixtral-8x7b'];

  it('gives one factor when the intermediate size follows the hidden size', () => {
    expect(describeScaled(scaleModel(mixtral, { scale: 32 }, 4), mixtral)).toMatch(/^hidden 128, expert intermediate 448 \(1\/32 of 4096 x 14336\), /);
    expect(describeScaled(scaleModel(mixtral, { hiddenSize: 128 }, 4), mixtral)).toMatch(/\(1\/32 of 4096 x 14336\)/);
  });

  it('gives both factors when --hidden and --intermediate are scaled apart', () => {
    expect(describeScaled(scaleModel(mixtral, { hiddenSize: 64, intermediateSize: 128 }, 4), mixtral)).toMatch(/^hidden 64, expert intermediate 128 \(1\/64 x 1\/112 of 4096 x 14336\), /);
  });
});
