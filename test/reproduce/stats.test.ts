import { expect, test } from 'vitest';
import { median, rankAgreement, shareWithin, signedError, perSystemMedian, weightedMedian } from '../../src/reproduce/stats.js';

test('signed error is simulated / published - 1', () => {
  expect(signedError(3, 2)).toBeCloseTo(0.5);
  expect(signedError(1, 2)).toBeCloseTo(-0.5);
});

test('median of odd, even and empty lists', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([])).toBeNaN();
});

test('weighted median: equal weights give the median; weights move it; zero weights drop a value', () => {
  expect(weightedMedian([3, 1, 2], [1, 1, 1])).toBe(2);
  expect(weightedMedian([4, 1, 3, 2], [2, 2, 2, 2])).toBe(2.5);
  // one system of three points (weight 1/3 each) against one point of another system (weight 1)
  expect(weightedMedian([0.1, 0.1, 0.1, 0.9], [1 / 3, 1 / 3, 1 / 3, 1])).toBeCloseTo(0.5, 12);
  expect(weightedMedian([0.1, 0.2, 0.9], [1, 1, 5])).toBe(0.9);
  expect(weightedMedian([0.1, 5], [1, 0])).toBe(0.1);
  expect(weightedMedian([], [])).toBeNaN();
  expect(() => weightedMedian([1], [])).toThrow(/1 values, 0 weights/);
});

test('the fit objective weighs each system equally, whatever its number of points', () => {
  // three points of one system at 0.1 and one of another at 0.9: the plain median is 0.1
  expect(median([0.1, 0.1, 0.1, 0.9])).toBeCloseTo(0.1, 12);
  expect(perSystemMedian([0.1, 0.1, 0.1, 0.9], ['fiddler', 'fiddler', 'fiddler', 'hf-accelerate'])).toBeCloseTo(0.5, 12);
  expect(perSystemMedian([0.3, 0.1, 0.2], ['a', 'b', 'c'])).toBe(0.2);
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
