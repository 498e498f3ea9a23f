import { describe, expect, it } from 'vitest';
import { reportMessage, shownPath } from '../../src/cli/report-out.js';

describe('the report message', () => {
  it('gives paths inside the working folder relative, others as given', () => {
    expect(shownPath('/work/m/reports/q/run', '/work/m')).toBe('reports/q/run');
    expect(shownPath('/work/m', '/work/m')).toBe('.');
    expect(shownPath('/tmp/out', '/work/m')).toBe('/tmp/out');
  });

  it('names the page and the SVG folder the same way, in or outside the working folder', () => {
    expect(reportMessage('/work/m/reports/q/run/index.html', '/work/m/reports/q/run', 6, 6, '/work/m')).toBe('report: reports/q/run/index.html (6 charts, SVGs in reports/q/run/charts/)\n');
    expect(reportMessage('/tmp/rd/index.html', '/tmp/rd', 6, 6, '/work/m')).toBe('report: /tmp/rd/index.html (6 charts, SVGs in /tmp/rd/charts/)\n');
    expect(reportMessage('/tmp/rd/index.html', '/tmp/rd', 1, 0, '/work/m')).toBe('report: /tmp/rd/index.html (1 chart)\n');
  });
});
