// Fuzzing the MAC parser beyond mac.test.ts: accepted exactly when a reference grammar says so, each rejection class
// with its own reason, any JSON value (not only strings) met with a MacError, and messages that stay short.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MacError,
  formatMac,
  isLocallyAdministered,
  isMulticast,
  macToNumber,
  parseMac,
  validateMac,
} from '../../src/mac/index.ts';

type Notation = 'colon' | 'dash' | 'dot' | 'bare';
const NOTATIONS: readonly Notation[] = ['colon', 'dash', 'dot', 'bare'];

// The grammar of the four notations, written as regular expressions independently of the parser.
const REFERENCE: Record<Notation, RegExp> = {
  colon: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i,
  dash: /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/i,
  dot: /^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$/i,
  bare: /^[0-9a-f]{12}$/i,
};
const referenceAccepts = (text: string): boolean => NOTATIONS.some((n) => REFERENCE[n].test(text));

const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF');
const twelveDigits = fc.array(hexDigit, { minLength: 12, maxLength: 12 }).map((d) => d.join(''));
function write(digits: string, notation: Notation): string {
  switch (notation) {
    case 'colon':
      return digits.match(/../g)!.join(':');
    case 'dash':
      return digits.match(/../g)!.join('-');
    case 'dot':
      return digits.match(/..../g)!.join('.');
    case 'bare':
      return digits;
  }
}
const written = fc
  .tuple(twelveDigits, fc.constantFrom(...NOTATIONS))
  .map(([d, n]) => ({ digits: d, notation: n, text: write(d, n) }));

// Characters that look or count like digits but are not ASCII hex: full-width, Arabic-Indic, Devanagari, mathematical
// bold, superscripts, and letters past f.
const LOOKALIKES = [
  '０',
  '５',
  'ａ',
  'Ｆ',
  '٠',
  '٥',
  '०',
  '९',
  '𝟎',
  '𝟗',
  '²',
  '½',
  'g',
  'G',
  'z',
  'o',
  'O',
  'l',
  'ß',
  'é',
];
const SEPARATORS = [':', '-', '.'];

/** Calls fn and returns the MacError it throws; fails on any other outcome. */
function macErrorOf(fn: () => unknown, what: string): MacError {
  try {
    fn();
  } catch (e) {
    assert.ok(
      e instanceof MacError,
      `${what}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a MacError`,
    );
    return e;
  }
  assert.fail(`${what}: accepted`);
}

describe('MAC parser fuzzing', () => {
  it('accepts a string exactly when the reference grammar does (property)', () => {
    // Mostly hex digits and separators at the lengths of the notations, where a wrong answer hides.
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF', ':', '-', '.', ' ', 'g', '٥');
    const nearLength = fc
      .constantFrom(11, 12, 13, 14, 15, 16, 17, 18)
      .chain((n) => fc.array(alphabet, { minLength: n, maxLength: n }).map((a) => a.join('')));
    fc.assert(
      fc.property(
        fc.oneof(
          nearLength,
          written.map((w) => w.text),
          fc.string({ maxLength: 20 }),
        ),
        (text) => {
          let accepted: string | undefined;
          try {
            accepted = parseMac(text);
          } catch (e) {
            assert.ok(e instanceof MacError, `threw ${String(e)}`);
          }
          assert.equal(
            accepted !== undefined,
            referenceAccepts(text),
            `parseMac(${JSON.stringify(text)}) → ${accepted ?? 'rejected'}`,
          );
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('round-trips across notations: parse, write in any notation, parse again gives the same address (property)', () => {
    fc.assert(
      fc.property(written, fc.constantFrom(...NOTATIONS), ({ digits, text }, to) => {
        const canonical = parseMac(text);
        assert.equal(canonical.replaceAll(':', ''), digits.toLowerCase());
        const other = formatMac(text, to);
        assert.ok(REFERENCE[to].test(other), `${other} is ${to} notation`);
        assert.equal(parseMac(other), canonical);
        assert.equal(macToNumber(other), macToNumber(text));
        assert.equal(formatMac(macToNumber(text), to), other);
      }),
      { numRuns: 3000 },
    );
  });

  it('never reads a look-alike character as a digit, wherever it stands (property)', () => {
    fc.assert(
      fc.property(written, fc.nat(), fc.constantFrom(...LOOKALIKES), ({ text }, at, lookalike) => {
        const digitPositions = [...text].flatMap((c, i) => (/[0-9a-f]/i.test(c) ? [i] : []));
        const i = digitPositions[at % digitPositions.length]!;
        const mutated = text.slice(0, i) + lookalike + text.slice(i + 1);
        const e = macErrorOf(() => parseMac(mutated), JSON.stringify(mutated));
        assert.equal(e.code, 'syntax');
        assert.equal(e.input, mutated);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives each rejection class its own reason (property)', () => {
    fc.assert(
      fc.property(
        written.filter((w) => w.notation !== 'bare'),
        fc.nat(),
        fc.constantFrom(...SEPARATORS),
        ({ text }, at, other) => {
          const separator = text.match(/[:.-]/)![0];
          fc.pre(other !== separator);
          const positions = [...text].flatMap((c, i) => (c === separator ? [i] : []));
          const i = positions[at % positions.length]!;
          const mixed = text.slice(0, i) + other + text.slice(i + 1);
          assert.match(macErrorOf(() => parseMac(mixed), mixed).message, /mixes the separators/);
        },
      ),
    );
    fc.assert(
      fc.property(
        written,
        fc.nat(),
        fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u3000'),
        ({ text }, at, space) => {
          const i = at % (text.length + 1);
          const spaced = text.slice(0, i) + space + text.slice(i);
          assert.match(
            macErrorOf(() => parseMac(spaced), JSON.stringify(spaced)).message,
            /contains whitespace/,
          );
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).filter((n) => n !== 6),
        twelveDigits,
        fc.constantFrom(':', '-'),
        (octets, digits, separator) => {
          const text = (digits + digits)
            .slice(0, octets * 2)
            .match(/../g)!
            .join(separator);
          assert.match(
            macErrorOf(() => parseMac(text), text).message,
            new RegExp(`found ${octets} octets|found 2 hex digits`),
          );
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }).filter((n) => n !== 12),
        (length) => {
          const text = 'a'.repeat(length);
          const message = macErrorOf(() => parseMac(text), text).message;
          assert.match(
            message,
            length === 0 ? /empty/ : new RegExp(`found ${length} hex digits instead of 12`),
          );
        },
      ),
    );
  });

  it('meets any JSON value that is not a string with a MacError, in every function that reads a MAC (property)', () => {
    const nonString = fc.jsonValue().filter((v) => typeof v !== 'string');
    const readers: Array<[string, (v: string) => unknown]> = [
      ['parseMac', parseMac],
      ['validateMac', (v) => validateMac(v, { masquerade: true })],
      ['macToNumber', macToNumber],
      ['formatMac', (v) => formatMac(v, 'dot')],
      ['isMulticast', isMulticast],
      ['isLocallyAdministered', isLocallyAdministered],
    ];
    fc.assert(
      fc.property(nonString, fc.constantFrom(...readers), (value, [name, read]) => {
        if (
          typeof value === 'number' &&
          (name === 'formatMac' || name === 'isMulticast' || name === 'isLocallyAdministered')
        )
          return; // numbers are MACs there
        const e = macErrorOf(
          () => read(value as unknown as string),
          `${name}(${JSON.stringify(value)})`,
        );
        assert.equal(e.code, 'syntax');
        assert.match(e.message, /expected a string/);
      }),
      // {"toString": false} once made the error's own String(value) throw a TypeError: kept as a fixed example.
      {
        numRuns: 2000,
        examples: [
          [{ toString: false }, readers[0]!],
          [null, readers[0]!],
          [[1, 2], readers[1]!],
        ],
      },
    );
  });

  it('validateMac throws only MacError, with a short message that quotes the input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 5000 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          written.map((w) => w.text),
        ),
        fc.boolean(),
        (text, masquerade) => {
          let mac: string;
          try {
            mac = validateMac(text, { masquerade });
          } catch (e) {
            assert.ok(
              e instanceof MacError,
              `validateMac(${JSON.stringify(text.slice(0, 50))}) threw ${String(e)}`,
            );
            assert.equal(e.input, text);
            assert.ok(
              e.message.startsWith(
                `invalid MAC address ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`,
              ),
              e.message,
            );
            assert.ok(e.message.length < 400, `a ${e.message.length}-character message`);
            return;
          }
          assert.equal(mac, parseMac(text));
          assert.equal(isMulticast(mac), false);
          assert.notEqual(mac, '00:00:00:00:00:00');
          if (masquerade) assert.notEqual(mac, '02:00:00:00:00:00');
        },
      ),
      { numRuns: 5000 },
    );
  });
});
