import t from 'tap'
import { parseBands, parseRasterOptions, parseStretch } from '../../../src/image/geotiff/raster-options.js'
import { ServiceError } from '../../../src/errors.js'

const refusal = (parse: () => unknown): string | undefined => {
  try {
    parse()
  } catch (error) {
    return error instanceof ServiceError ? error.code : String(error)
  }
  return undefined
}

t.test('stretch: percentiles, value ranges and none', async (t) => {
  t.same(parseStretch('p2,p98'), { kind: 'percentile', low: 2, high: 98 })
  t.same(parseStretch('p0,p100'), { kind: 'percentile', low: 0, high: 100 })
  t.same(parseStretch('p0.5,p99.5'), { kind: 'percentile', low: 0.5, high: 99.5 })
  t.same(parseStretch('0,3000'), { kind: 'range', min: 0, max: 3000 })
  t.same(parseStretch('-0.2,1e3'), { kind: 'range', min: -0.2, max: 1000 })
  t.same(parseStretch('none'), { kind: 'none' })
  t.equal(parseStretch(undefined), undefined)
  for (const bad of ['p98,p2', 'p2,p2', 'p-1,p50', 'p2,p100.5', '5,5', '3000,0', 'p2', 'p2,98', 'linear', '', '1,2,3', 'NaN,1', 'Infinity,1']) {
    t.equal(refusal(() => parseStretch(bad)), 'bad_request', bad)
  }
})

t.test('bands: one or three 1-based numbers', async (t) => {
  t.same(parseBands('3,2,1'), [3, 2, 1])
  t.same(parseBands('4'), [4])
  t.same(parseBands('1,1,1'), [1, 1, 1])
  t.equal(parseBands(undefined), undefined)
  for (const bad of ['1,2', '1,2,3,4', '0,1,2', 'a', '1,,2', '1.5', '-1', '']) {
    t.equal(refusal(() => parseBands(bad)), 'bad_request', bad)
  }
  t.same(parseRasterOptions({ bands: '3,2,1', stretch: 'p1,p99' }), { bands: [3, 2, 1], stretch: { kind: 'percentile', low: 1, high: 99 } })
})
