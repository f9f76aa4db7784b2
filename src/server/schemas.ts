/** JSON schemas of the API's bodies and answers: they validate input and make the OpenAPI document. */

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
      required: ['code', 'message', 'details'],
    },
  },
  required: ['error'],
} as const;

const configErrorSchema = {
  type: ['object', 'null'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    commit: { type: ['string', 'null'] },
    file: { type: 'string' },
    line: { type: 'integer' },
    column: { type: 'integer' },
  },
} as const;

export const workspaceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    repositoryName: { type: 'string' },
    repositoryUrl: { type: 'string' },
    activeEnvironment: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    protected: { type: 'boolean' },
    schedulesEnabled: {
      type: 'boolean',
      description:
        "Whether the server runs the schedules of the workspace's meltano.yml (default: off when the active environment is dev)",
    },
    ownedKeys: { type: 'array', items: { type: 'string' } },
    upstream: {
      type: ['string', 'null'],
      description: 'The id of the workspace this one is promoted from (dev for staging), or null',
    },
    requiredApprovals: {
      type: 'integer',
      description: 'Approvals a promotion into this workspace needs before it applies (0: none)',
    },
    status: {
      type: 'object',
      description:
        'Which commit the workspace runs: main when its meltano.yml loads, else lastGoodCommit, with the error.',
      properties: {
        commit: { type: ['string', 'null'] },
        lastGoodCommit: { type: ['string', 'null'] },
        error: configErrorSchema,
      },
    },
  },
  required: ['id', 'name', 'repositoryName', 'repositoryUrl', 'activeEnvironment', 'createdAt', 'updatedAt'],
} as const;

export const pageQuerySchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    cursor: { type: 'string', maxLength: 500 },
  },
  additionalProperties: false,
} as const;

export function pageOf(item: object) {
  return {
    type: 'object',
    properties: { items: { type: 'array', items: item }, nextCursor: { type: ['string', 'null'] } },
    required: ['items', 'nextCursor'],
  } as const;
}

export const workspaceParamsSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 250, description: 'Workspace id or repository name' },
  },
  required: ['id'],
} as const;

export const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    workspaces: {
      oneOf: [
        { type: 'string', enum: ['*'] },
        { type: 'array', items: { type: 'string' } },
      ],
    },
    access: { type: 'string', enum: ['read', 'write', 'approve'] },
    admin: { type: 'boolean' },
    createdAt: { type: 'string' },
    token: { type: 'string', description: 'The secret: answered once, at creation.' },
  },
  required: ['id', 'name', 'workspaces', 'access'],
} as const;

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  422: errorSchema,
} as const;
