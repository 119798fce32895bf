/** JSON Schemas shared by the routes (and so by the OpenAPI document). */

export const idParams = {
  type: "object",
  properties: { id: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" } },
  required: ["id"],
} as const;

/** `?from=&to=` of a listing over a time range (default: the last 24 h). */
export const timeRangeQuery = {
  type: "object",
  properties: {
    from: { type: "string", description: "ISO 8601 or ms since epoch" },
    to: { type: "string", description: "ISO 8601 or ms since epoch (default now)" },
  },
} as const;

export const problemSchema = {
  type: "object",
  description: "application/problem+json",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string" },
    camera: { type: "string" },
  },
  required: ["type", "title", "status", "code"],
} as const;

export const problemResponses = {
  "4xx": problemSchema,
  "5xx": problemSchema,
} as const;
