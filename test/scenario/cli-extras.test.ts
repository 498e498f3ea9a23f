/** The JSON Schema shipped for editors, and the CLI's conveniences: init, presets --json, completion, run --set/--policy/--seed. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { moesim, ROOT } from '../helpers/cli.js';
import { SCHEMA_FILE, scenarioJsonSchemaText } from '../../src/scenario/json-schema.js';
import { parseScenario } from '../../src/scenario/load.js';

describe('the scenario JSON Schema', () => {
  it('the shipped file is the one generated from the zod schema (npm run schema rewrites it)', () => {
    expect(readFileSync(join(ROOT, SCHEMA_FILE), 'utf8')).toBe(scenarioJsonSchemaText());
  });
  it('every shipped scenario points at it, and uses only the fields it names', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, SCHEMA_FILE), 'utf8')) as { properties: Record<string, unknown>; required: string[] };
    for (const f of readdirSync(join(ROOT, 'scenarios')).filter((x) => x.endsWith('.yaml'))) {
      const text = readFileSync(join(ROOT, 'scenarios', f), 'utf8');
      expect(text.split('\n')[0], f).toBe('# yaml-language-server: $schema=../schema/scenario.schema.json');
      const raw = parseYaml(text) as Record<string, unknown>;
      for (const k of Object.keys(raw)) expect(Object.keys(schema.properties), `${f}: ${k}`).toContain(k);
      for (const k of schema.required) expect(Object.keys(raw), `${f}: ${k}`).toContain(k);
    }
  });
});

describe('CLI conveniences', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'moesim-cli-'));

  it('init writes a commented starter scenario that runs; refuses to overwrite', () => {
    const cwd = tmp();
    const r = moesim(['init', 'mine.yaml', '--model', 'mixtral-8x7b', '--hardware', 'rtx-4090'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(cwd, 'mine.yaml'), 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=.*schema\/scenario\.schema\.json$/m);
    expect(parseScenario(parseYaml(text)).policies.map((p) => p.kind)).toEqual(['none', 'lru', 'lfu', 'belady', 'all-on-gpu']);
    const run = moesim(['run', 'mine.yaml', '--no-report'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^lru, 4\/layer /m);
    const again = moesim(['init', 'mine.yaml'], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/mine\.yaml: exists; give --force/);
    expect(moesim(['init', 'x.yaml', '--model', 'nope'], { cwd }).stderr).toMatch(/--model nope: no such model/);
  });

  it('presets --json: one JSON document with every catalog', () => {
    const r = moesim(['presets', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['hardware', 'models', 'policies', 'prefetch', 'predictors', 'onMiss', 'schedulers', 'components', 'systems', 'executionSemantics', 'storageFormats']);
    expect(j.models['mixtral-8x7b'].numExperts).toBe(8);
    expect(j.hardware['rtx-4090']).toBeDefined();
  });

  it('completion prints a shell completion script', () => {
    const r = moesim(['completion']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('moesim completion >> ~/.bashrc');
  });

  it('run --set, --policy (label or index), --seed', () => {
    const r = moesim(['run', 'scenarios/quickstart.yaml', '--no-report', '--json', '--set', 'hardware.link.bandwidthGBps=64', '--policy', 'lru, 4/layer', '--policy', '0', '--seed', '7']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.results.map((p: { label: string }) => p.label)).toEqual(['lru, 4/layer', 'none']);
    expect(j.scenario.seed).toBe(7);
    const many = moesim(['run', 'scenarios/quickstart.yaml', '--no-report', '--set', 'hardware.link.bandwidthGBps=16,32']);
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/run takes one value \(moesim sweep runs several\)/);
    const bad = moesim(['run', 'scenarios/quickstart.yaml', '--no-report', '--policy', '9']);
    expect(bad.stderr).toMatch(/--policy 9: no such policy .* it has 0: "none", 1: "static, 4\/layer", 2: "lru, 4\/layer"/);
  });
});
