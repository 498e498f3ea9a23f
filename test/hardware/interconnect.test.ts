import { describe, expect, test } from 'vitest';
import { interconnectPresets, machinePresets } from '../../src/hardware/interconnect.js';
import { hardwarePresets } from '../../src/hardware/presets.js';

describe('interconnect and machine presets', () => {
  test('every interconnect has a positive bandwidth, a latency and a source', () => {
    for (const [k, i] of Object.entries(interconnectPresets)) {
      expect(i.bytesPerSec, k).toBeGreaterThan(0);
      expect(i.latencySec, k).toBeGreaterThan(0);
      expect(i.source.length, k).toBeGreaterThan(10);
      if (i.perPeerBytesPerSec !== undefined) expect(i.perPeerBytesPerSec).toBeLessThanOrEqual(i.bytesPerSec);
    }
  });
  test('NVLink per direction is half the datasheet bidirectional figure', () => {
    expect(interconnectPresets['nvlink4-nvswitch'].bytesPerSec).toBe(450e9);
    expect(interconnectPresets['nvlink5-nvswitch'].bytesPerSec).toBe(900e9);
    expect(interconnectPresets['ib-ndr'].bytesPerSec).toBe(50e9);
  });
  test('every machine names a hardware preset and interconnect presets that exist', () => {
    for (const [k, m] of Object.entries(machinePresets)) {
      expect(hardwarePresets[m.hardware], k).toBeDefined();
      expect(interconnectPresets[m.intraNode], k).toBeDefined();
      expect(interconnectPresets[m.interNode], k).toBeDefined();
    }
  });
});
