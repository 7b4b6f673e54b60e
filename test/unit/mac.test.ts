// The MAC value type: every accepted notation, every rejected class with its code, and conversions, by example and by property.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MAC_ADDRESS_MAX,
  MacError,
  type MacErrorCode,
  formatMac,
  isLocallyAdministered,
  isMulticast,
  macToNumber,
  numberToMac,
  parseMac,
  validateMac,
} from '../../src/mac/index.ts';

function rejects(fn: () => unknown, code: MacErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MacError, `expected a MacError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

// Written from the number independently of the code under test: 12 hex digits, then grouped.
function digitsOf(value: number): string {
  return value.toString(16).padStart(12, '0');
}
function canonicalOf(value: number): string {
  return digitsOf(value).match(/../g)!.join(':');
}
function notations(value: number): Record<'colon' | 'dash' | 'dot' | 'bare', string> {
  const digits = digitsOf(value);
  return {
    colon: digits.match(/../g)!.join(':'),
    dash: digits.match(/../g)!.join('-'),
    dot: digits.match(/..../g)!.join('.'),
    bare: digits,
  };
}
function firstOctet(value: number): number {
  return parseInt(digitsOf(value).slice(0, 2), 16);
}

const mac48 = fc.oneof(
  fc
    .integer({ min: 0, max: 2 ** 24 - 1 })
    .chain((low) => fc.integer({ min: 0, max: 2 ** 24 - 1 }).map((high) => high * 2 ** 24 + low)),
  fc.constantFrom(
    0,
    1,
    2 ** 24 - 1,
    2 ** 24,
    2 ** 40,
    0x0200_0000_0000,
    0x0100_0000_0000,
    MAC_ADDRESS_MAX,
    MAC_ADDRESS_MAX - 1,
  ),
);

describe('parseMac', () => {
  it('accepts the four usual notations in any case and returns the lower-case colon form', () => {
    for (const text of [
      '52:54:00:ab:cd:ef',
      '52-54-00-AB-CD-EF',
      '5254.00ab.cdef',
      '525400abcdef',
      '52:54:00:Ab:cD:eF',
      '5254.00AB.CDEF',
    ]) {
      assert.equal(parseMac(text), '52:54:00:ab:cd:ef', text);
    }
  });

  it('rejects wrong lengths, digits, separators, whitespace and empty input with a message naming the input', () => {
    const bad = [
      '',
      ' ',
      '52:54:00:ab:cd',
      '52:54:00:ab:cd:ef:01',
      '52:54:00:ab:cd:ef:01:02', // EUI-64: Go's net.ParseMAC takes it, a NIC does not
      '2:54:0:ab:cd:ef',
      '522:54:00:ab:cd:ef',
      '52:54:00:ab:cd:eg',
      '52:54-00:ab:cd:ef',
      '52:54:00.ab:cd:ef',
      '5254.00ab.cde',
      '5254.00ab.cdef.0000',
      '52540.0ab.cdef',
      '525400abcde',
      '525400abcdef0',
      '52:54:00:ab:cd:ef:',
      ':52:54:00:ab:cd:ef',
      '52::54:00:ab:cd:ef',
      ' 52:54:00:ab:cd:ef',
      '52:54:00:ab:cd:ef ',
      '52:54:00:ab: cd:ef',
      '52:54:00:ab:cd:e\u00a0',
      '0x525400abcdef',
      '５２:54:00:ab:cd:ef', // full-width digits
      '52_54_00_ab_cd_ef',
      'zz:zz:zz:zz:zz:zz',
      '52:54:00:ab:cd:eG',
      'G2:54:00:ab:cd:ef',
      '5254:00ab:cdef', // grouped by four, but only dots separate groups of four
      '5254-00ab-cdef',
      '52.54.00.ab.cd.ef',
    ];
    for (const text of bad) {
      rejects(() => parseMac(text), 'syntax', /^invalid MAC address "/);
    }
    rejects(() => parseMac(''), 'syntax', /^invalid MAC address "": empty; expected 6 octets/);
    rejects(() => parseMac('52:54:00:ab:cd'), 'syntax', /expected 6 octets.*found 5 octets/);
    rejects(() => parseMac('52:54:00:ab:cd:ef:01:02'), 'syntax', /found 8 octets/);
    rejects(() => parseMac('52:54-00:ab:cd:ef'), 'syntax', /mixes the separators ":" and "-"/);
    rejects(() => parseMac('52:54:00:ab:cd:eg'), 'syntax', /"g" is not a hexadecimal digit/);
    rejects(() => parseMac('52:54:00:ab :cd:ef'), 'syntax', /contains whitespace/);
  });

  it('keeps the message readable for a very long input', () => {
    const error = (() => {
      try {
        parseMac('a'.repeat(100_000));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof MacError);
    assert.ok(error.message.length < 400, `message is ${error.message.length} characters`);
  });
});

describe('validateMac', () => {
  it('accepts unicast addresses, locally or universally administered', () => {
    assert.equal(validateMac('52:54:00:AB:CD:EF'), '52:54:00:ab:cd:ef');
    assert.equal(validateMac('00:1a:4a:16:01:51'), '00:1a:4a:16:01:51');
    assert.equal(validateMac('02:00:00:00:00:01', { masquerade: true }), '02:00:00:00:00:01');
  });

  it('rejects broadcast, multicast and all-zero with their own codes', () => {
    rejects(() => validateMac('ff:ff:ff:ff:ff:ff'), 'broadcast', /broadcast/);
    rejects(() => validateMac('FFFF.FFFF.FFFF'), 'broadcast');
    rejects(
      () => validateMac('01:00:5e:00:00:01'),
      'multicast',
      /multicast.*bit 0 of the first octet/,
    );
    rejects(() => validateMac('33:33:00:00:00:01'), 'multicast');
    rejects(() => validateMac('03:00:00:00:00:00'), 'multicast');
    rejects(() => validateMac('00:00:00:00:00:00'), 'zero', /all-zero/);
    rejects(() => validateMac('not-a-mac'), 'syntax');
  });

  it("rejects KubeVirt's masquerade bridge address only on a masquerade interface", () => {
    rejects(
      () => validateMac('02:00:00:00:00:00', { masquerade: true }),
      'reserved',
      /reserved by KubeVirt for the masquerade/,
    );
    rejects(() => validateMac('0200.0000.0000', { masquerade: true }), 'reserved');
    assert.equal(validateMac('02:00:00:00:00:00'), '02:00:00:00:00:00');
    assert.equal(validateMac('02:00:00:00:00:00', { masquerade: false }), '02:00:00:00:00:00');
  });

  it('gives every address the code its class calls for (property)', () => {
    const special = fc.constantFrom(
      0,
      MAC_ADDRESS_MAX,
      0x0200_0000_0000,
      0x0100_0000_0000,
      0x0300_0000_0001,
    );
    fc.assert(
      fc.property(
        fc.oneof(mac48, special),
        fc.boolean(),
        fc.constantFrom<'colon' | 'dash' | 'dot' | 'bare'>('colon', 'dash', 'dot', 'bare'),
        (value, masquerade, notation) => {
          const text = notations(value)[notation];
          let expected: MacErrorCode | undefined;
          if (value === MAC_ADDRESS_MAX) expected = 'broadcast';
          else if (firstOctet(value) % 2 === 1) expected = 'multicast';
          else if (value === 0) expected = 'zero';
          else if (masquerade && canonicalOf(value) === '02:00:00:00:00:00') expected = 'reserved';
          if (expected === undefined)
            assert.equal(validateMac(text, { masquerade }), canonicalOf(value));
          else rejects(() => validateMac(text, { masquerade }), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('conversions and classification', () => {
  it('round-trips every notation for random 48-bit values (property)', () => {
    fc.assert(
      fc.property(
        mac48,
        fc.array(fc.boolean(), { minLength: 17, maxLength: 17 }),
        (value, upper) => {
          const canonical = canonicalOf(value);
          assert.equal(numberToMac(value), canonical);
          for (const [notation, text] of Object.entries(notations(value)) as Array<
            ['colon' | 'dash' | 'dot' | 'bare', string]
          >) {
            const mixedCase = [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
            assert.equal(parseMac(mixedCase), canonical);
            assert.equal(macToNumber(mixedCase), value);
            assert.equal(formatMac(value, notation), text);
            assert.equal(formatMac(mixedCase, notation), text);
          }
          assert.equal(formatMac(canonical), canonical);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('classifies by the bits of the first octet (property)', () => {
    fc.assert(
      fc.property(mac48, (value) => {
        const text = canonicalOf(value);
        assert.equal(isMulticast(text), (firstOctet(value) & 1) === 1);
        assert.equal(isLocallyAdministered(text), (firstOctet(value) & 2) === 2);
        assert.equal(isMulticast(value), isMulticast(text));
        assert.equal(isLocallyAdministered(value), isLocallyAdministered(text));
      }),
    );
    assert.equal(isLocallyAdministered('02:48:52:00:00:01'), true);
    assert.equal(isLocallyAdministered('52:54:00:12:34:56'), true); // QEMU's default prefix is locally administered
    assert.equal(isLocallyAdministered('00:1a:4a:16:01:51'), false);
    assert.equal(isMulticast('ff:ff:ff:ff:ff:ff'), true);
    assert.equal(isMulticast('02:48:52:00:00:01'), false);
  });

  it('converts the extremes and refuses numbers that are no MAC', () => {
    assert.equal(macToNumber('00:00:00:00:00:00'), 0);
    assert.equal(macToNumber('ff:ff:ff:ff:ff:ff'), 2 ** 48 - 1);
    assert.equal(numberToMac(0), '00:00:00:00:00:00');
    assert.equal(numberToMac(2 ** 48 - 1), 'ff:ff:ff:ff:ff:ff');
    assert.equal(numberToMac(0x0123_4567_89ab), '01:23:45:67:89:ab');
    for (const bad of [-1, 2 ** 48, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => numberToMac(bad), RangeError, String(bad));
      assert.throws(() => formatMac(bad), RangeError, String(bad));
    }
  });
});

describe('garbage input', () => {
  // Strings near the accepted forms are where parsers go wrong, so most garbage is a mutated valid address.
  const nearMac = fc
    .tuple(
      mac48,
      fc.constantFrom<'colon' | 'dash' | 'dot' | 'bare'>('colon', 'dash', 'dot', 'bare'),
      fc.nat(20),
      fc.constantFrom(
        '',
        ':',
        '-',
        '.',
        ' ',
        'g',
        'G',
        'x',
        '0',
        'F',
        '\t',
        '\u0000',
        '::',
        'é',
        '\u{1F600}',
      ),
      fc.constantFrom('insert', 'replace', 'delete'),
    )
    .map(([value, notation, at, piece, edit]) => {
      const text = notations(value)[notation];
      const i = at % (text.length + 1);
      if (edit === 'insert') return text.slice(0, i) + piece + text.slice(i);
      if (edit === 'replace') return text.slice(0, i) + piece + text.slice(i + 1);
      return text.slice(0, i) + text.slice(i + 1);
    });
  const garbage = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme-ascii' }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:-. '), maxLength: 20 }),
    nearMac,
  );

  it('never throws anything but MacError, and never invents digits (property)', () => {
    fc.assert(
      fc.property(garbage, (text) => {
        let result: string;
        try {
          result = parseMac(text);
        } catch (error) {
          assert.ok(
            error instanceof MacError,
            `threw ${String(error)} for ${JSON.stringify(text)}`,
          );
          assert.equal(error.code, 'syntax');
          assert.match(error.message, /^invalid MAC address "/);
          assert.equal(error.input, text);
          return;
        }
        assert.match(result, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        assert.equal(text.toLowerCase().replace(/[:.-]/g, ''), result.replaceAll(':', ''));
        assert.ok([17, 14, 12].includes(text.length));
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects an accepted form with any one character deleted or whitespace inserted (property)', () => {
    fc.assert(
      fc.property(
        mac48,
        fc.constantFrom<'colon' | 'dash' | 'dot' | 'bare'>('colon', 'dash', 'dot', 'bare'),
        fc.nat(),
        fc.constantFrom(' ', '\t', '\n', '\u00a0'),
        (value, notation, at, space) => {
          const text = notations(value)[notation];
          const i = at % text.length;
          rejects(() => parseMac(text.slice(0, i) + text.slice(i + 1)), 'syntax');
          rejects(() => parseMac(text.slice(0, i) + space + text.slice(i)), 'syntax');
        },
      ),
    );
  });
});
