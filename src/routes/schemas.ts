import { Type, type TSchema } from 'typebox'
import { errorStatus, type ErrorCode } from '../errors.js'

export const ErrorBody = Type.Object({
  error: Type.Enum(Object.keys(errorStatus) as ErrorCode[], { type: 'string', description: 'A stable code to branch on' }),
  message: Type.String({ description: 'What was wrong and what to do about it' })
}, { $id: 'ErrorBody', description: 'Every failure has this body' })

/**
 * `native` and no size mean the same to parseDenseSize, so the documented default changes nothing. Examples of
 * a parameter lead with its default: Swagger UI's "Try it out" fills the first one in.
 */
export const SizeParameter = Type.String({
  pattern: '^(native|[0-9]{1,6})$',
  default: 'native',
  description: '`native` (the default: native resolution, scaled down to DENSE_MAX_SIDE on the long side) or the long side ' +
    'in pixels, from one patch to DENSE_MAX_SIDE; the aspect ratio is kept. Example: size=512',
  // One example only: @fastify/swagger names examples by value, and JSON puts a key like "512" before "native".
  examples: ['native']
})

/** A string parameter with a closed set of values; `type` makes /docs offer them as a list. */
export const StringEnum = <T extends string>(values: T[], options: Record<string, unknown>) =>
  Type.Enum(values, { type: 'string', ...options })

interface JsonAnswer { schema: TSchema, example: unknown }

interface Answer {
  description: string
  headers: Record<string, TSchema>
  /** The JSON answer: validated and serialised by its schema, shown with its example. */
  json?: JsonAnswer
  /** Binary answers by content type, with what they hold. Fastify sends them as they are. */
  binary?: Record<string, string>
}

/**
 * A 200 answer in OpenAPI's per-content-type form, which Fastify also understands (it serialises the JSON one
 * with its schema): /docs then lists every format with its example or description, and the headers sent.
 */
export function answer ({ description, headers, json, binary = {} }: Answer): TSchema {
  const content: Record<string, { schema: TSchema, example?: unknown }> = {}
  if (json !== undefined) content['application/json'] = { schema: json.schema, example: json.example }
  for (const [type, what] of Object.entries(binary)) {
    content[type] = { schema: Type.Unsafe({ type: 'string', format: 'binary', description: what }) }
  }
  return Type.Unsafe({ description, headers, content })
}
