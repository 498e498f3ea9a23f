/** Charts as standalone SVG files (for papers), rendered in Node by vega's headless View. */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VegaLiteSpec } from './charts.js';

/** vega-lite spec -> SVG text. Text widths are estimated (no canvas in Node). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
