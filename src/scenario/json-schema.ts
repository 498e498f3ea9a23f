/**
 * The scenario's JSON Schema, generated from the zod schema (zod 4's z.toJSONSchema) for editors:
 * the shipped scenarios point at schema/scenario.schema.json with a `# yaml-language-server:
 * $schema=...` line. `npm run schema` writes the file; a test checks it matches.
 */
import { z } from 'zod';
import { scenarioSchema } from './schema.js';

export const SCHEMA_FILE = 'schema/scenario.schema.json';

export function scenarioJsonSchema(): Record<string, unknown> {
  // The input side: what a user writes (defaults optional), not the parsed result.
  const s = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  // `policies` may be left out when `system:` is given: parseScenario fills it from the system preset
  // before the strict schema sees it, so an editor must not demand it.
  const required = Array.isArray(s.required) ? (s.required as string[]).filter((k) => k !== 'policies') : s.required;
  return {
    ...s,
    required,
    $id: 'https://github.com/moesim/moesim/schema/scenario.schema.json',
    title: 'moesim scenario',
    description: 'A moesim scenario: model, hardware, trace, workload and the policies to compare (moesim run / sweep).',
  };
}

export const scenarioJsonSchemaText = (): string => JSON.stringify(scenarioJsonSchema(), null, 2) + '\n';
