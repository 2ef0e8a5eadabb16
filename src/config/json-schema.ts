/** Generates the JSON Schema (for editor completion) from the zod schema. */
import { z } from 'zod';
import { ConfigSchema } from './schema.js';

export const JSON_SCHEMA_FILE = 'maintenance.config.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, title: 'db-maintenance configuration' };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
