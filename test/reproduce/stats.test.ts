import { expect, test } from 'vitest';
import { median, rankAgreement, shareWithin, signedError } from '../../src/reproduce/stats.js';

test('signed error is simulated / published - 1', () => {
  expect(signedError(3, 2)).toBeCloseTo(0.5);
  expect(signedError(1, 2)).toBeCloseTo(-0.5);
});

test('median of odd, even and empty lists', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([])).toBeNaN();
});

test('share within 25%, band edge included', () => {
  expect(shareWithin([0.1, -0.25, 0.3, -0.5])).toBe(0.5);
  expect(shareWithin([])).toBeNaN();
});

test('rank agreement counts pairs in the published order', () => {
  expect(rankAgreement([1, 2, 3], [10, 20, 30])).toEqual({ pairs: 3, concordant: 3, preserved: true });
  expect(rankAgreement([1, 2, 3], [30, 20, 10])).toEqual({ pairs: 3, concordant: 0, preserved: false });
  expect(rankAgreement([1, 2, 3], [10, 30, 20])).toEqual({ pairs: 3, concordant: 2, preserved: false });
  // a simulated tie breaks a published order; a published tie is skipped
  expect(rankAgreement([1, 2], [5, 5])).toEqual({ pairs: 1, concordant: 0, preserved: false });
  expect(rankAgreement([1, 1, 2], [3, 4, 5])).toEqual({ pairs: 2, concordant: 2, preserved: true });
});
