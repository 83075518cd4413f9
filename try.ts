import { startService } from './scripts/bench/service-process.js'
import { benchModel, photoJpeg } from './scripts/bench/fixtures.js'
const svc = await startService({ MODEL: benchModel() })
console.log('rss after start MiB', svc.rssMiB().toFixed(0), 'peak', svc.peakRssMiB().toFixed(0))
for (const size of [1024, 2048]) {
  const jpg = await photoJpeg(size, size)
  const t0 = performance.now()
  const r = await fetch(`${svc.url}/segment?tile=1024&overlap=128`, { method: 'POST', body: jpg, headers: { 'content-type': 'image/jpeg' } })
  await r.arrayBuffer()
  console.log(size, r.status, 'ms', (performance.now() - t0).toFixed(0), 'inference', r.headers.get('x-inference-time'), 'peak MiB', svc.peakRssMiB().toFixed(0), 'rss', svc.rssMiB().toFixed(0))
}
await svc.stop()
