/** `npm run schema`: writes schema/scenario.schema.json from the zod schema. */
import { writeFileSync } from 'node:fs';
import { SCHEMA_FILE, scenarioJsonSchemaText } from './json-schema.js';

writeFileSync(SCHEMA_FILE, scenarioJsonSchemaText());
process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
