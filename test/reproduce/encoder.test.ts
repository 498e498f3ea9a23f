/**
 * The encoder pass of an encoder-decoder point (src/reproduce/run.ts prepareEncoder): a prefill of
 * the encoder stack over the stated prompt, by the point's system, counted in a figure that times
 * the whole request and left out of a decode-timed one; the decoder starts from one token.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite, type PublishedPoint } from '../../src/reproduce/points.js';
import { pointScenario, reproduce, simulatePoint, suiteBaseDir } from '../../src/reproduce/run.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const suite = loadSuite(FILE);
const base = suiteBaseDir(FILE);
const point = (id: string) => suite.points.find((p) => p.id === id)!;
const withContext = (p: PublishedPoint, promptTokens: number | 'unstated', outputTokens: number | 'unstated', timed: 'decode' | 'end-to-end' | 'unstated'): PublishedPoint => ({
  ...p,
  workload: { ...p.workload, promptTokens, outputTokens, timed },
});

test('an encoder-decoder point with a stated prompt: the decoder prefills one decoder_start_token, then decodes the outputs', () => {
  const p = withContext(point('mi-readme-2024-switch-large-128-moe-infinity'), 64, 4, 'end-to-end');
  const sc = pointScenario(p, { suite, baseDir: base }) as { workload: { promptTokens: number }; trace: { synthetic: { tokensPerSequence: number; layers: number } } };
  expect(sc.workload.promptTokens).toBe(1);
  expect(sc.trace.synthetic.tokensPerSequence).toBe(4);
  expect(sc.trace.synthetic.layers).toBe(12);
  // unstated prompt: the point's own context, as before (no encoder pass)
  const u = pointScenario(point('mi-readme-2024-switch-large-128-moe-infinity'), { suite, baseDir: base }) as { workload: { promptTokens: number } };
  expect(u.workload.promptTokens).toBe(0);
});

test('ZeRO-3 on the Hugging Face Switch loop streams every encoder weight once per request: one output timed end to end costs the encoder pass plus one decoder step, about two decode steps (pinned)', async () => {
  const ds = point('mi-readme-switch-large-128-deepspeed-zero-inference');
  const decode = await simulatePoint(withContext(ds, 8, 2, 'decode'), base, { suite });
  const one = await simulatePoint(withContext(ds, 8, 1, 'end-to-end'), base, { suite });
  // The encoder stack has the decoder's shape (24 layers, 12 x 128 experts) and ZeRO-3 gathers every
  // weight of it whatever the routing, as a decode step gathers the decoder's: the request's one
  // token (encoder pass + the decoder's first step) takes twice a decode step, within 5% (the
  // 8-token prompt's compute).
  expect(one / decode).toBeGreaterThan(1.95);
  expect(one / decode).toBeLessThan(2.05);
  // The decode-timed figure leaves the pass out (generate runs the encoder before the first streamer.put).
  const decodeNoPrompt = await simulatePoint(withContext(ds, 'unstated', 2, 'decode'), base, { suite });
  expect(Math.abs(decode / decodeNoPrompt - 1)).toBeLessThan(0.01);
}, 120_000);

test('MoE-Infinity fetches the experts the prompt routes: the pass grows with the prompt, bounded by the experts it can route (pinned)', async () => {
  const mi = point('mi-readme-2024-switch-large-128-moe-infinity');
  // One output timed end to end: the encoder pass, then the decoder's first step (a decode step's cost).
  const one = async (prompt: number) => simulatePoint(withContext(mi, prompt, 1, 'end-to-end'), base, { suite });
  const step = await simulatePoint(withContext(mi, 4, 4, 'decode'), base, { suite });
  const [p4, p512] = [await one(4), await one(512)];
  // fp32 Switch-Large expert: 2 x 1024 x 4096 x 4 B = 33.6 MB; 12 encoder MoE layers x 128 experts
  const expert = 2 * 1024 * 4096 * 4;
  const pcie = 31.5e9;
  // 4 tokens, top-1: at most 48 experts, moved at no more than the PCIe 4.0 x16 peak
  expect(p4 - step).toBeGreaterThan(0);
  expect(p4 - step).toBeGreaterThan((12 * expert) / pcie); // at least one expert per MoE layer
  expect(p4 - step).toBeLessThan((48 * expert) / (0.5 * pcie));
  // 512 tokens: most of the 1536 experts (the seeded trace's Zipf skew leaves some unrouted), never more
  expect(p512 - step).toBeGreaterThan((0.5 * 1536 * expert) / pcie);
  expect(p512 - step).toBeLessThan((1536 * expert) / (0.5 * pcie));
  // the timeline as simulated (seeded): 4 and 512 prompt tokens
  expect(p4).toBeCloseTo(0.0702, 3);
  expect(p512).toBeCloseTo(1.5634, 3);
}, 120_000);

test('Accelerate\'s device_map fills the GPU with the encoder first: the encoder pass keeps its first MoE layers on the GPU, the decoder what is left (pinned)', async () => {
  const { encoderLayersThatFit, layersThatFit } = await import('../../src/reproduce/systems.js');
  const { resolveModel } = await import('../../src/model/resolve.js');
  const { resolveHardware } = await import('../../src/hardware/resolve.js');
  const { encoderStack } = await import('../../src/model/derived.js');
  const p = point('mi-readme-2024-bs32-switch-large-128-hf-accelerate');
  const model = resolveModel(p.model, 'test');
  const hardware = resolveHardware(p.hardware, 'test', base);
  const enc = encoderStack(model)!;
  // RTX A5000 (24 GiB), fp32: an MoE layer with its 128 experts is 4.3 GB, so fewer than the
  // encoder's 12 fit: the encoder takes them all, the decoder none (as layersThatFit already said).
  const e = encoderLayersThatFit(p, { model: enc, hardware, siblings: [p], encoderPass: true });
  expect(e).toBeGreaterThan(0);
  expect(e).toBeLessThan(12);
  expect(e).toBe(4);
  expect(layersThatFit(p, { model, hardware, siblings: [p] })).toBe(0);
});

test('ENCODER_FIRST (the encoder\'s share of Accelerate\'s GPU) counts the MoE layers the presets\' encoders declare', async () => {
  const { ENCODER_FIRST } = await import('../../src/reproduce/systems.js');
  const { modelPresets } = await import('../../src/model/presets.js');
  for (const [m, r] of Object.entries(ENCODER_FIRST)) expect(r.encoderMoeLayers, m).toBe(modelPresets[m].encoder?.moeLayers.length);
});

test('the encoder pass is run and charged in the busy fields only where the figure holds it (end to end), not for a decode-timed point', async () => {
  const ds = point('mi-readme-switch-large-128-deepspeed-zero-inference');
  const busyOf = async (p: PublishedPoint) => {
    const r = await reproduce({ ...suite, points: [p] }, { baseDir: base, fit: { kind: 'none' } });
    return r.unfitted.points[0].busy!;
  };
  const decode = await busyOf(withContext(ds, 8, 2, 'decode'));
  const e2e = await busyOf(withContext(ds, 8, 2, 'end-to-end'));
  // ZeRO-3 streams the encoder stack once per request on the compute stream (GPU busy): about one
  // more decoder step over 2 outputs.
  expect(e2e.gpuSecPerToken / decode.gpuSecPerToken).toBeGreaterThan(1.3);
  expect(e2e.gpuSecPerToken / decode.gpuSecPerToken).toBeLessThan(1.7);
}, 120_000);
