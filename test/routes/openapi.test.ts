import { Validator } from '@seriousme/openapi-schema-validator'
import t, { type Test } from 'tap'
import { Value } from 'typebox/value'
import { errorStatus, type ErrorCode } from '../../src/errors.js'
import { startApp, imageHeaders } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

/** An OpenAPI document is walked as plain JSON. */
type Json = any

/** The contract as the README states it: each endpoint's parameters with their values and defaults. */
const dense = { size: { default: 'native' }, tile: {}, overlap: {} }
const raster = { bands: {}, stretch: {} }
const endpoints: Record<string, { method: 'get' | 'post', parameters: Record<string, { enum?: string[], default?: unknown }>, errors: number[], formats: string[] }> = {
  '/embed': {
    method: 'post',
    parameters: { pool: { enum: ['cls', 'mean', 'cls+mean'], default: 'cls' }, normalize: { default: false }, format: { enum: ['json', 'npy'], default: 'json' }, size: { default: 'processor' } },
    errors: [400, 408, 413, 415, 422, 429, 503, 504, 500],
    formats: ['application/json', 'application/x-npy']
  },
  '/features': {
    method: 'post',
    parameters: { format: { enum: ['npy', 'json', 'png', 'tiff'], default: 'npy' }, ...dense, ...raster },
    errors: [400, 408, 413, 415, 422, 429, 503, 504, 500],
    formats: ['application/json', 'application/x-npy', 'image/png', 'image/tiff']
  },
  '/segment': {
    method: 'post',
    parameters: { format: { enum: ['png', 'json', 'overlay', 'tiff'], default: 'png' }, head: {}, ...dense, ...raster },
    errors: [400, 404, 408, 413, 415, 422, 429, 503, 504, 500],
    formats: ['application/json', 'image/png', 'image/tiff']
  },
  '/depth': {
    method: 'post',
    parameters: { format: { enum: ['npy', 'png', 'color', 'tiff'], default: 'npy' }, head: {}, ...dense, ...raster },
    errors: [400, 404, 408, 413, 415, 422, 429, 503, 504, 500],
    formats: ['application/x-npy', 'image/png', 'image/tiff']
  },
  '/analyze': {
    method: 'post',
    parameters: {
      tasks: { default: 'embed,segment,depth' },
      pool: { enum: ['cls', 'mean', 'cls+mean'], default: 'cls' },
      normalize: { default: false },
      segment_head: {},
      depth_head: {},
      ...dense
    },
    errors: [400, 404, 408, 413, 415, 422, 429, 503, 504, 500],
    formats: ['application/json']
  },
  '/classify': {
    method: 'post',
    parameters: { head: {}, top_k: {} },
    errors: [400, 404, 408, 413, 415, 422, 429, 503, 504, 500],
    formats: ['application/json']
  },
  '/models': { method: 'get', parameters: {}, errors: [503, 500], formats: ['application/json'] },
  '/health/live': { method: 'get', parameters: {}, errors: [], formats: ['application/json'] },
  '/health/ready': { method: 'get', parameters: {}, errors: [503], formats: ['application/json'] },
  '/metrics': { method: 'get', parameters: {}, errors: [500], formats: ['text/plain'] }
}

/** The admin routes: a path parameter, their own bodies and answers, and 401 on each (checked apart). */
const adminEndpoints: Record<string, { method: 'get' | 'post' | 'delete', status: number, errors: number[], query: string[] }> = {
  'POST /heads/{name}': { method: 'post', status: 202, errors: [400, 401, 404, 409, 413, 415, 422, 429, 500, 503], query: ['epochs', 'kind', 'task', 'val_fraction'] },
  'GET /heads/{name}/job': { method: 'get', status: 200, errors: [400, 401, 404, 500], query: [] },
  'DELETE /heads/{name}': { method: 'delete', status: 200, errors: [400, 401, 403, 404, 500, 503], query: [] }
}

const imageBodyTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif', 'application/octet-stream', 'multipart/form-data']

/** A media object's examples, whether written as `example` or as named `examples`. */
function examplesOf (media: Json): unknown[] {
  if (media.example !== undefined) return [media.example]
  return Object.values(media.examples ?? {}).map((e: Json) => e.value)
}

type Loaded = { document: Json, resolved: Json, app: Awaited<ReturnType<typeof startApp>> }
let loaded: Promise<Loaded> | undefined

/**
 * The document from the built app, checked by a real OpenAPI validator, as served and with its $refs resolved. Built
 * and checked once for the file, in the first test that asks (an app start and a validation cost seconds of CPU, and
 * every test reads the same document); the app stays up until the file ends, for the tests that send requests.
 */
async function loadDocument (test: Test): Promise<Loaded> {
  loaded ??= (async () => {
    const app = await startApp(t, syntheticModel({ preset: 'tiny', heads: true }))
    const response = await app.inject({ method: 'GET', url: '/openapi.json' })
    test.equal(response.statusCode, 200)
    const document = response.json()
    const validator = new Validator()
    const result = await validator.validate(structuredClone(document))
    test.same(result.errors, undefined, 'no validation errors')
    test.ok(result.valid, 'a valid OpenAPI document')
    test.equal(validator.version, '3.0', 'OpenAPI 3.0')
    return { document: structuredClone(document), resolved: validator.resolveRefs(), app }
  })()
  const { document, resolved, app } = await loaded
  // Each test gets its own copy, so that nothing one test does to the document reaches another.
  return { document: structuredClone(document), resolved: structuredClone(resolved), app }
}

t.test('/openapi.json is a valid OpenAPI 3 document listing every endpoint and no other', async (t) => {
  const { document } = await loadDocument(t)
  const operations = Object.entries(document.paths).flatMap(([path, item]: [string, Json]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
  t.same(operations.sort(), [...Object.entries(endpoints).map(([path, e]) => `${e.method.toUpperCase()} ${path}`), ...Object.keys(adminEndpoints)].sort(),
    'the API\'s operations; the demo page, /docs and /openapi.json are hidden')
  for (const [path, item] of Object.entries(document.paths) as Array<[string, Json]>) {
    for (const operation of Object.values(item) as Json[]) {
      t.ok(operation.summary?.length > 0 && operation.description?.length > 0, `${path}: summary and description`)
      t.ok(operation.tags?.length === 1, `${path}: one tag`)
    }
  }
})

t.test('every parameter with its name, values, default, description and an example', async (t) => {
  const { document } = await loadDocument(t)
  for (const [path, expected] of Object.entries(endpoints)) {
    const parameters: Json[] = document.paths[path][expected.method].parameters ?? []
    t.same(parameters.map((p) => p.name).sort(), Object.keys(expected.parameters).sort(), `${path}: the parameters`)
    for (const parameter of parameters) {
      const want = expected.parameters[parameter.name]
      const where = `${path} ${parameter.name}`
      t.equal(parameter.in, 'query', `${where}: in the query`)
      t.equal(parameter.required, false, `${where}: optional`)
      t.same(parameter.schema.enum, want.enum, `${where}: its values`)
      if (want.enum !== undefined) t.equal(parameter.schema.type, 'string', `${where}: a string enum, offered as a list`)
      t.same(parameter.schema.default, want.default, `${where}: its default`)
      t.ok(parameter.description?.length > 20, `${where}: described`)
      const examples = examplesOf(parameter)
      if (want.default === undefined) {
        // Swagger UI's "Try it out" would send an example as if the user had typed it: a tile or head by default.
        t.same(examples, [], `${where}: no example to be filled in`)
        t.match(parameter.description, new RegExp(`Example: ${parameter.name}=\\S+`), `${where}: its example in the description`)
      } else {
        t.ok(examples.length > 0, `${where}: examples`)
        t.same(examples[0], want.default, `${where}: the first example is the default, so "Try it out" sends it`)
        for (const example of examples) t.ok(Value.Check(parameter.schema, example), `${where}: example ${String(example)} is valid`)
      }
    }
  }
})

t.test('the image body: raw image types and multipart files, documented but never validated', async (t) => {
  const { document, app } = await loadDocument(t)
  for (const [path, expected] of Object.entries(endpoints)) {
    const body = document.paths[path][expected.method].requestBody
    if (expected.method === 'get') {
      t.equal(body, undefined, `${path}: no body`)
      continue
    }
    t.equal(body.required, true, `${path}: a body is required`)
    t.match(body.description, /raw body.*multipart/s, `${path}: described`)
    t.same(Object.keys(body.content), imageBodyTypes, `${path}: the accepted content types`)
    for (const type of imageBodyTypes.slice(0, -1)) t.same(body.content[type].schema, { type: 'string', format: 'binary', description: 'The image file\'s bytes' }, `${path} ${type}: bytes`)
    const multipart = body.content['multipart/form-data']
    t.match(multipart.schema, { type: 'object', required: ['image'], properties: { image: { type: 'array', items: { type: 'string', format: 'binary' } } } }, `${path}: multipart files`)
    t.match(multipart.encoding, { image: { contentType: /image\/\*/ } }, `${path}: multipart file types`)
  }
  // The documentation is no schema Fastify checks: a PNG sent as octet-stream still goes to the parsers.
  const png = await patternPng(32, 32)
  const answer = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: png })
  t.equal(answer.statusCode, 200, 'raw bytes are not validated against the documented body')
})

t.test('every answer: formats with examples or descriptions, headers, and each error status with example bodies', async (t) => {
  const { document, resolved } = await loadDocument(t)
  t.ok(document.components.schemas.ErrorBody, 'the shared error body')
  for (const [path, expected] of Object.entries(endpoints)) {
    const responses: Json = document.paths[path][expected.method].responses
    const resolvedResponses: Json = resolved.paths[path][expected.method].responses
    t.same(Object.keys(responses).sort(), ['200', ...expected.errors.map(String)].sort(), `${path}: 200 and the errors it can give`)

    const ok = resolvedResponses['200']
    t.same(Object.keys(ok.content).sort(), [...expected.formats].sort(), `${path}: its formats`)
    for (const [type, media] of Object.entries(ok.content) as Array<[string, Json]>) {
      if (media.schema.format === 'binary') {
        t.ok(media.schema.description?.length > 20, `${path} ${type}: binary, described`)
        continue
      }
      const examples = examplesOf(media)
      t.equal(examples.length, 1, `${path} ${type}: an example`)
      t.ok(Value.Check(media.schema, examples[0]), `${path} ${type}: the example fits the schema`)
    }
    t.ok(ok.headers['x-request-id'] && ok.headers['x-total-time'], `${path}: x-request-id and x-total-time`)
    if (expected.method === 'post') {
      for (const header of ['x-inference-time', 'x-queue-time', 'x-decode-time']) t.ok(ok.headers[header], `${path}: ${header}`)
    }
    for (const [name, header] of Object.entries(ok.headers) as Array<[string, Json]>) {
      t.ok(header.description?.length > 0 && header.schema.example !== undefined, `${path} ${name}: described with an example`)
    }

    for (const status of expected.errors) {
      const response: Json = responses[status]
      t.ok(response.description?.length > 10, `${path} ${status}: described`)
      t.same(response.content['application/json'].schema, { $ref: '#/components/schemas/ErrorBody' }, `${path} ${status}: the error body`)
      const examples = examplesOf(resolvedResponses[status].content['application/json'])
      t.ok(examples.length > 0, `${path} ${status}: example bodies`)
      for (const example of examples as Array<{ error: ErrorCode, message: string }>) {
        t.ok(Value.Check(resolvedResponses[status].content['application/json'].schema, example), `${path} ${status}: ${example.error} fits ErrorBody`)
        t.equal(errorStatus[example.error], status, `${path} ${status}: ${example.error} is a ${status} code`)
      }
      if (status === 429 || status === 503) t.ok(response.headers['retry-after'], `${path} ${status}: Retry-After`)
    }
  }
  t.match(document.paths['/segment'].post.responses['200'].headers, { 'x-legend': {}, 'x-head': {}, 'x-classes': {}, 'x-patch-grid': {} })
  t.match(document.paths['/depth'].post.responses['200'].headers, { 'x-depth-scale': {}, 'x-depth-offset': {}, 'x-depth-unit': {}, 'x-input-size': {} })
})

t.test('/docs serves Swagger UI from the installed package, with the same document', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const page = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])
  t.ok(assets.some((a) => a.endsWith('swagger-ui-bundle.js')), 'the Swagger UI bundle')
  t.same(assets.filter((a) => /^(https?:)?\/\//.test(a)), [], 'nothing from the internet')
  for (const asset of assets) {
    const response = await app.inject({ method: 'GET', url: asset })
    t.equal(response.statusCode, 200, `${asset} is served`)
    t.ok(response.rawPayload.length > 0, `${asset} is not empty`)
  }
  const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
  t.match(initializer.body, /validatorUrl: null/, 'no call to the online validator')
  const fromUi = await app.inject({ method: 'GET', url: '/docs/json' })
  const fromApi = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.same(fromUi.json(), fromApi.json(), '/docs/json is /openapi.json')
})

t.test('the admin routes: bearer security, the name in the path, their answers with examples and every error status', async (t) => {
  const { document, resolved } = await loadDocument(t)
  t.same(document.components.securitySchemes.adminToken, { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN the service was started with' })
  for (const [operation, expected] of Object.entries(adminEndpoints)) {
    const path = operation.split(' ')[1]
    const item: Json = document.paths[path][expected.method]
    t.same(item.security, [{ adminToken: [] }], `${operation}: needs the admin token`)
    t.same(item.tags, ['fitting'])
    const parameters: Json[] = item.parameters
    t.same(parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.required]), [['name', true]], `${operation}: the name in the path`)
    t.same(parameters.filter((p) => p.in === 'query').map((p) => p.name).sort(), expected.query, `${operation}: its query`)
    for (const parameter of parameters) t.ok(parameter.description?.length > 10, `${operation} ${parameter.name}: described`)
    const responses: Json = resolved.paths[path][expected.method].responses
    t.same(Object.keys(responses).sort(), [String(expected.status), ...expected.errors.map(String)].sort(), `${operation}: ${expected.status} and its errors`)
    const media = responses[expected.status].content['application/json']
    t.ok(Value.Check(media.schema, media.example), `${operation}: the example fits the schema`)
    t.ok(responses['401'].headers['www-authenticate'], `${operation} 401: WWW-Authenticate`)
    for (const status of expected.errors) {
      for (const example of examplesOf(responses[status].content['application/json']) as Array<{ error: ErrorCode }>) {
        t.equal(errorStatus[example.error], status, `${operation} ${status}: ${example.error} is a ${status} code`)
      }
    }
  }
  const task = document.paths['/heads/{name}'].post.parameters.find((p: Json) => p.name === 'task')
  t.same([task.required, task.schema.enum], [true, ['segmentation', 'depth', 'classification']], 'task is required, one of three')
  t.same(document.paths['/heads/{name}'].post.responses['202'].headers.location.schema.example, '/heads/shapes/job')
  t.match(Object.keys(document.paths['/heads/{name}'].post.requestBody.content), ['multipart/form-data'], 'a multipart body')
})
