/** `npm run schema`: regenerate maintenance.config.schema.json from the zod schema. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_FILE, configJsonSchemaText } from './json-schema.js';
import { writeFileAtomic } from '../util/fs-atomic.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
writeFileAtomic(path.join(root, JSON_SCHEMA_FILE), configJsonSchemaText());
process.stdout.write(`wrote ${JSON_SCHEMA_FILE}\n`);
