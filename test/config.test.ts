import { usableCores } from '../src/usable-cores.js'
import { resolve } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('an empty environment gives the documented defaults', async (t) => {
  t.same(loadConfig({}), {
    model: undefined,
    modelsDir: resolve('./models'),
    variant: 'fp32',
    host: '0.0.0.0',
    port: 8080,
    logLevel: 'info',
    executionProviders: 'auto',
    inferenceInstances: 1,
    intraOpThreads: usableCores(),
    spinning: false,
    preprocessNice: 19,
    maxBatchSize: 8,
    maxBatchTokens: 8192,
    adaptiveBatchSize: true,
    batchWaitMs: 0,
    incomingWaitMs: 20,
    maxConcurrentRequests: 64,
    maxFilesPerRequest: 32,
    requestTimeoutMs: 30_000,
    uploadTimeoutMs: 60_000,
    tiledRequestTimeoutMs: 900_000,
    bodyLimitBytes: 100 * 1024 * 1024,
    maxPixels: 150_000_000,
    nativeJpeg: true,
    denseMaxSide: 1024,
    tileBatchPixels: 1024 * 1024,
    stripPixels: 16 * 1024 * 1024,
    postprocessThreads: Math.max(1, Math.min(4, Math.floor(usableCores() / 2))),
    maxQueuedPixels: 16 * 1024 * 1024,
    maxEventLoopDelayMs: 1000,
    warmup: true,
    shutdownGraceMs: 10_000,
    adminToken: undefined,
    headsDir: undefined,
    fitQueueSize: 4,
    fitMaxFiles: 2000,
    fitUploadLimitBytes: 2048 * 1024 * 1024
  })
  t.same(loadConfig({ PORT: '', MODEL: '   ', LOG_LEVEL: ' ' }), loadConfig({}), 'blank values count as unset')
})

t.test('values are read, trimmed and converted', async (t) => {
  const config = loadConfig({
    MODEL: ' dinov3-vits16 ',
    MODELS_DIR: '/srv/models',
    MODEL_VARIANT: 'fp16',
    HOST: '127.0.0.1',
    PORT: ' 0 ',
    LOG_LEVEL: 'debug',
    INTRA_OP_THREADS: '3',
    ORT_SPINNING: 'YES',
    MAX_BATCH_SIZE: '256',
    BATCH_WAIT_MS: '2.5',
    BODY_LIMIT_MB: '2',
    WARMUP: 'off',
    SHUTDOWN_GRACE_MS: '0'
  })
  t.equal(config.model, 'dinov3-vits16')
  t.equal(config.modelsDir, '/srv/models')
  t.equal(config.variant, 'fp16')
  t.equal(config.host, '127.0.0.1')
  t.equal(config.port, 0)
  t.equal(config.logLevel, 'debug')
  t.equal(config.intraOpThreads, 3)
  t.equal(config.spinning, true)
  t.equal(config.maxBatchSize, 256)
  t.equal(config.batchWaitMs, 2.5, 'a wait may be fractional')
  t.equal(config.bodyLimitBytes, 2 * 1024 * 1024)
  t.equal(config.warmup, false)
  t.equal(config.shutdownGraceMs, 0)
  t.equal(loadConfig({ MODELS_DIR: 'rel/dir' }).modelsDir, resolve('rel/dir'), 'a relative folder is made absolute')
})

t.test('INFERENCE_INSTANCES shares the usable cores among the instances unless INTRA_OP_THREADS says otherwise', async (t) => {
  const cores = usableCores()
  t.equal(loadConfig({ INFERENCE_INSTANCES: '2' }).inferenceInstances, 2)
  t.equal(loadConfig({ INFERENCE_INSTANCES: '2' }).intraOpThreads, Math.max(1, Math.floor(cores / 2)))
  t.equal(loadConfig({ INFERENCE_INSTANCES: '16' }).intraOpThreads, Math.max(1, Math.floor(cores / 16)), 'at least one thread each')
  t.equal(loadConfig({ INFERENCE_INSTANCES: '2', INTRA_OP_THREADS: '3' }).intraOpThreads, 3)
})

t.test('booleans accept 1/0, true/false, yes/no, on/off in any case', async (t) => {
  for (const value of ['1', 'true', 'TRUE', 'yes', 'On']) t.equal(loadConfig({ WARMUP: value }).warmup, true, value)
  for (const value of ['0', 'false', 'False', 'no', 'OFF']) t.equal(loadConfig({ WARMUP: value }).warmup, false, value)
})

t.test('each kind of bad value throws a ConfigError naming the variable', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT=eighty is not a number between 0 and 65535$/],
    [{ PORT: '65536' }, /^PORT=65536 is not a number between 0 and 65535$/],
    [{ PORT: '-1' }, /^PORT=-1 is not a number/],
    [{ PORT: '80.5' }, /^PORT=80\.5 is not a whole number$/],
    [{ PORT: 'Infinity' }, /^PORT=Infinity is not a number/],
    [{ MAX_BATCH_SIZE: '0' }, /^MAX_BATCH_SIZE=0 is not a number between 1 and 256$/],
    [{ MAX_BATCH_SIZE: '257' }, /^MAX_BATCH_SIZE=257 /],
    [{ BATCH_WAIT_MS: '1001' }, /^BATCH_WAIT_MS=1001 is not a number between 0 and 1000$/],
    [{ BATCH_WAIT_MS: 'soon' }, /^BATCH_WAIT_MS=soon /],
    [{ INTRA_OP_THREADS: '2.5' }, /^INTRA_OP_THREADS=2\.5 is not a whole number$/],
    [{ INFERENCE_INSTANCES: '0' }, /^INFERENCE_INSTANCES=0 is not a number between 1 and 16$/],
    [{ DENSE_MAX_SIDE: '8' }, /^DENSE_MAX_SIDE=8 is not a number between 16 and 16384$/],
    [{ BODY_LIMIT_MB: '1e9' }, /^BODY_LIMIT_MB=1e9 /],
    [{ WARMUP: 'maybe' }, /^WARMUP=maybe is not a boolean/],
    [{ ORT_SPINNING: '2' }, /^ORT_SPINNING=2 is not a boolean/],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL=verbose is not one of fatal, error, warn, info, debug, trace, silent$/],
    [{ EXECUTION_PROVIDERS: 'tpu' }, /^EXECUTION_PROVIDERS=tpu: use auto or a comma-separated list of cuda, webgpu, cpu$/],
    [{ EXECUTION_PROVIDERS: 'cuda,rocm' }, /^EXECUTION_PROVIDERS=cuda,rocm: /],
    [{ EXECUTION_PROVIDERS: ' , ' }, /^EXECUTION_PROVIDERS=,: /],
    [{ EXECUTION_PROVIDERS: 'auto,cpu' }, /^EXECUTION_PROVIDERS=auto,cpu: /]
  ]
  for (const [env, message] of bad) {
    const name = Object.keys(env)[0]
    t.throws(() => loadConfig(env), message, `${name}=${env[name]}`)
    try {
      loadConfig(env)
    } catch (error) {
      t.ok(error instanceof ConfigError, `${name}=${env[name]} throws a ConfigError`)
    }
  }
})

t.test('execution providers: auto, or an ordered list', async (t) => {
  t.equal(loadConfig({}).executionProviders, 'auto')
  t.equal(loadConfig({ EXECUTION_PROVIDERS: 'auto' }).executionProviders, 'auto')
  t.equal(loadConfig({ EXECUTION_PROVIDERS: 'AUTO' }).executionProviders, 'auto')
  t.same(loadConfig({ EXECUTION_PROVIDERS: 'cuda,cpu' }).executionProviders, ['cuda', 'cpu'])
  t.same(loadConfig({ EXECUTION_PROVIDERS: ' CPU , webgpu ,' }).executionProviders, ['cpu', 'webgpu'])
  t.same(loadConfig({ EXECUTION_PROVIDERS: 'cpu' }).executionProviders, ['cpu'])
})

t.test('the config is frozen', async (t) => {
  const config = loadConfig({})
  t.ok(Object.isFrozen(config))
  t.throws(() => { (config as { port: number }).port = 1 }, TypeError)
  t.equal(config.port, 8080)
})

t.test('fitting: ADMIN_TOKEN, HEADS_DIR and the queue and upload bounds', async (t) => {
  const config = loadConfig({ ADMIN_TOKEN: ' 0123456789abcdef ', HEADS_DIR: 'fitted', FIT_QUEUE_SIZE: '0', FIT_MAX_FILES: '10', FIT_UPLOAD_LIMIT_MB: '5' })
  t.equal(config.adminToken, '0123456789abcdef', 'trimmed')
  t.equal(config.headsDir, resolve('fitted'), 'resolved against the working directory')
  t.equal(config.fitQueueSize, 0, '0: no job waits behind the running one')
  t.equal(config.fitMaxFiles, 10)
  t.equal(config.fitUploadLimitBytes, 5 * 1024 * 1024)
  t.throws(() => loadConfig({ ADMIN_TOKEN: 'short-token' }), new ConfigError('ADMIN_TOKEN is 11 characters; use at least 16 (e.g. openssl rand -hex 32), or unset it to disable what it guards'))
  try {
    loadConfig({ ADMIN_TOKEN: 'hunter2' })
  } catch (error) {
    t.notMatch((error as Error).message, 'hunter2', 'the token never appears in the message')
  }
  t.throws(() => loadConfig({ FIT_QUEUE_SIZE: '-1' }), /FIT_QUEUE_SIZE=-1 is not a number between 0 and 1000/)
  t.throws(() => loadConfig({ FIT_MAX_FILES: '1' }), /FIT_MAX_FILES=1 is not a number between 2 and 100000/)
})
