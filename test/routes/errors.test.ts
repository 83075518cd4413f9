import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import t from 'tap'
import { crc32 } from '../../src/image/png.js'
import { startApp, imageHeaders } from '../helpers/app.js'
import { multipartBody, patternJpeg, patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

/** A valid PNG that claims a huge image, with only a few bytes of compressed pixel data behind its header. */
function pngClaiming (width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const chunk = (type: string, data: Buffer): Buffer => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(typed) >>> 0)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    return Buffer.concat([length, typed, crc])
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1000))), chunk('IEND', Buffer.alloc(0))])
}

t.test('every status the contract names, from the input that causes it, with a JSON body', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }), { BODY_LIMIT_MB: '1', MAX_FILES_PER_REQUEST: '2' })
  const jpeg = await patternJpeg(200, 150)
  // Random, but not starting with '<' after white space, which would be refused as XML or HTML.
  const unrecognisedBytes = randomBytes(5000)
  unrecognisedBytes[0] = 0x01
  const post = async (url: string, payload: Buffer | string, headers = imageHeaders()) => app.inject({ method: 'POST', url, headers, payload })

  const cases: Array<{ name: string, send: () => ReturnType<typeof post>, status: number, code: string, message: RegExp }> = [
    { name: 'empty body', send: () => post('/embed', Buffer.alloc(0)), status: 400, code: 'bad_request', message: /no image/ },
    { name: 'truncated JPEG', send: () => post('/embed', jpeg.subarray(0, jpeg.length >> 1)), status: 422, code: 'unprocessable_image', message: /jpeg image cannot be decoded/ },
    { name: 'random bytes', send: () => post('/embed', unrecognisedBytes), status: 415, code: 'unsupported_media_type', message: /unrecognised bytes/ },
    { name: 'SVG', send: () => post('/embed', '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', imageHeaders('image/svg+xml')), status: 415, code: 'unsupported_media_type', message: /SVG/ },
    { name: 'PDF', send: () => post('/features', '%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'), status: 415, code: 'unsupported_media_type', message: /PDF/ },
    { name: 'PNG header claiming 100000×100000', send: () => post('/features', pngClaiming(100000, 100000)), status: 413, code: 'payload_too_large', message: /100000×100000 = 10000\.0 megapixels; the limit is 150\.0/ },
    { name: 'body over the limit', send: () => post('/embed', Buffer.concat([jpeg, Buffer.alloc(1024 * 1024 + 10)])), status: 413, code: 'payload_too_large', message: /too large/i },
    { name: 'text content type', send: () => post('/embed', 'hello', { 'content-type': 'text/plain' }), status: 415, code: 'unsupported_media_type', message: /multipart/ },
    { name: 'JSON content type', send: () => post('/embed', '{"image":"x"}', { 'content-type': 'application/json' }), status: 415, code: 'unsupported_media_type', message: /image/ },
    { name: 'bad pool', send: () => post('/embed?pool=max', jpeg), status: 400, code: 'bad_request', message: /pool must be one of: cls, mean, cls\+mean/ },
    { name: 'bad normalize', send: () => post('/embed?normalize=maybe', jpeg), status: 400, code: 'bad_request', message: /normalize/ },
    { name: 'bad format', send: () => post('/features?format=bmp', jpeg), status: 400, code: 'bad_request', message: /format must be one of: npy, json, png/ },
    { name: 'bad size', send: () => post('/features?size=big', jpeg), status: 400, code: 'bad_request', message: /size/ },
    { name: 'size out of range', send: () => post('/features?size=4', jpeg), status: 400, code: 'bad_request', message: /from 16 to 1024/ },
    { name: 'unknown parameter', send: () => post('/embed?normalise=true', jpeg), status: 400, code: 'bad_request', message: /unknown querystring parameter "normalise"/ },
    { name: 'unknown route', send: () => post('/detect', jpeg), status: 404, code: 'not_found', message: /no route POST \/detect/ },
    { name: 'too many files', send: () => { const m = multipartBody([{ data: jpeg }, { data: jpeg }, { data: jpeg }]); return post('/embed', m.body, { 'content-type': m.contentType }) }, status: 413, code: 'payload_too_large', message: /files limit/i },
    { name: 'multipart without files', send: () => { const m = multipartBody([]); return post('/embed', m.body, { 'content-type': m.contentType }) }, status: 400, code: 'bad_request', message: /no file/ },
    { name: 'png format for a batch', send: () => { const m = multipartBody([{ data: jpeg }, { data: jpeg }]); return post('/features?format=png', m.body, { 'content-type': m.contentType }) }, status: 400, code: 'bad_request', message: /one image/ }
  ]
  for (const c of cases) {
    const response = await c.send()
    t.equal(response.statusCode, c.status, `${c.name}: ${c.status}`)
    t.match(response.headers['content-type'], /application\/json/, `${c.name}: JSON`)
    const body = response.json()
    t.same(Object.keys(body).sort(), ['error', 'message'], `${c.name}: {error, message}`)
    t.equal(body.error, c.code, `${c.name}: ${c.code}`)
    t.match(body.message, c.message, `${c.name}: ${body.message}`)
  }

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /dinov3_failures_total\{code="unsupported_media_type"\} 5/)
  t.match(metrics, /dinov3_failures_total\{code="payload_too_large"\} 3/)

  const good = await post('/embed', await patternPng(64, 64))
  t.equal(good.statusCode, 200, 'the server stays up and answers the next good request')
})

t.test('a 500 hides its cause from the client and logs it', async (t) => {
  const app = await startApp(t, syntheticModel({ preset: 'tiny' }))
  const engine = app.modelHost.require()
  engine.backbone.run = async () => { throw new Error('secret native failure at 0xdeadbeef') }
  const response = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders(), payload: await patternPng(32, 32) })
  t.equal(response.statusCode, 500)
  t.same(response.json().error, 'internal')
  t.notMatch(response.body, /secret|deadbeef/)
})
