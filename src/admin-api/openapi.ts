/** The OpenAPI 3.1 description of the admin API, generated from the operation list. */
import { z } from 'zod';
import { API_ERROR_STATUS } from '../domain/errors.js';
import type { Operation } from './operations/index.js';
import { pathParams } from './operations/types.js';

type JsonSchema = Record<string, unknown>;

function inputSchema(schema: z.ZodObject): {
  properties: Record<string, JsonSchema>;
  required: string[];
} {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return {
    properties: (json.properties ?? {}) as Record<string, JsonSchema>,
    required: (json.required ?? []) as string[],
  };
}

function describe(operation: Operation) {
  const { properties, required } = inputSchema(operation.input);
  const inPath = pathParams(operation.path);
  const parameters: JsonSchema[] = inPath.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: properties[name] ?? { type: 'string' },
  }));
  const rest = Object.keys(properties).filter((name) => !inPath.includes(name));
  const described: JsonSchema = {
    operationId: operation.name,
    summary: operation.summary,
    tags: [operation.name.split('.')[0]],
    parameters,
    responses: {
      [String(operation.status ?? 200)]: {
        description: operation.revealsSecrets
          ? 'Success. The body carries new secrets, shown once.'
          : 'Success',
        content: { 'application/json': { schema: {} } },
      },
      default: { $ref: '#/components/responses/Error' },
    },
  };
  if (operation.method === 'GET' || operation.method === 'DELETE') {
    for (const name of rest)
      parameters.push({
        name,
        in: 'query',
        required: required.includes(name),
        schema: properties[name],
      });
  } else if (rest.length > 0) {
    described.requestBody = {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: Object.fromEntries(rest.map((name) => [name, properties[name]])),
            required: required.filter((name) => rest.includes(name)),
          },
        },
      },
    };
  }
  return described;
}

export function openApiDocument(operations: Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const path = operation.path.replace(/:([a-z_]+)/g, '{$1}');
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[operation.method.toLowerCase()] = describe(operation);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatepass admin API',
      version: '1',
      description:
        'Operator actions on platforms, credentials, users, the go-live checklist, logs and keys. Authenticate with an operator key: `Authorization: Bearer gp_admin_…`, created with `gatepass operators create-key NAME`.',
    },
    security: [{ operatorKey: [] }],
    paths,
    components: {
      securitySchemes: {
        operatorKey: { type: 'http', scheme: 'bearer', description: 'An operator API key' },
      },
      responses: {
        Error: {
          description: 'An error with a stable code',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['code', 'message', 'request_id'],
                properties: {
                  code: { type: 'string', enum: Object.keys(API_ERROR_STATUS) },
                  message: { type: 'string' },
                  request_id: { type: 'string' },
                },
              },
            },
          },
        },
      },
    },
  };
}
