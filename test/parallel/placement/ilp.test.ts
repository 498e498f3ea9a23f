import { expect, test } from 'vitest';
import { CsrRows, MipColumns, range } from '../../../src/parallel/placement/ilp.js';

test('CsrRows hands HiGHS the rows it was given, as a CSR matrix with their bounds', () => {
  const rows = new CsrRows();
  rows.add([[0, 1], [2, -3]], 1, 1);
  rows.add([], 0, 5);
  rows.add([[1, 2]], -Infinity, 4);
  expect(rows.count).toBe(3);
  const m = rows.model(3);
  expect(m.numRows).toBe(3);
  expect([...m.rowLower]).toEqual([1, 0, -Infinity]);
  expect([...m.rowUpper]).toEqual([1, 5, 4]);
  expect(m.matrix).toMatchObject({ format: 'csr', numRows: 3, numCols: 3 });
  expect([...m.matrix.starts]).toEqual([0, 2, 2, 3]);
  expect([...m.matrix.indices]).toEqual([0, 2, 1]);
  expect([...m.matrix.values]).toEqual([1, -3, 2]);
  expect(range(3)).toEqual([0, 1, 2]);
  expect(range(0)).toEqual([]);
});

test('MipColumns start every column continuous in [0, 1] at cost 0', () => {
  const c = new MipColumns(3);
  expect(c.count).toBe(3);
  expect([...c.cost, ...c.lower, ...c.upper, ...c.integrality]).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
});
