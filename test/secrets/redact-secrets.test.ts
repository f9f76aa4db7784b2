import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeRedactor } from '../../src/secrets/redact-secrets.js';

describe('makeRedactor', () => {
  it('replaces every occurrence of each value with ****', () => {
    const redact = makeRedactor(['hunter22', 's3cr3t-token']);
    expect(redact('login hunter22 then hunter22 with s3cr3t-token.')).toBe('login **** then **** with ****.');
  });

  it('leaves lines without a secret untouched (the same string)', () => {
    const redact = makeRedactor(['hunter22']);
    const line = '{"type": "RECORD", "stream": "users", "record": {"id": 1}}';
    expect(redact(line)).toBe(line);
    expect(makeRedactor([])(line)).toBe(line);
  });

  it.each([
    ['a secret inside a longer one', ['abcd', 'xxabcdyy'], 'v=xxabcdyy;', 'v=****;'],
    ['the longer one given first', ['xxabcdyy', 'abcd'], 'v=xxabcdyy; w=abcd', 'v=****; w=****'],
    ['two secrets that overlap', ['abcdef', 'defghi'], '[abcdefghi]', '[****]'],
    ['two secrets that overlap, given the other way', ['defghi', 'abcdef'], '[abcdefghi]', '[****]'],
    ['a chain of overlaps', ['aaaab', 'abbbb', 'bbbbc'], '<aaaabbbbc>', '<****>'],
    ['two adjacent secrets', ['abcd', 'efgh'], 'abcdefgh', '********'],
    ['a secret overlapping itself', ['abab'], 'x abababa y', 'x ****a y'],
  ])('hides %s completely', (_, values, line, expected) => {
    expect(makeRedactor(values)(line)).toBe(expected);
  });

  it('hides the JSON-escaped form of a value, as plugins log JSON', () => {
    const value = 'pa"ss\\word\nline2';
    const redact = makeRedactor([value]);
    const line = JSON.stringify({ level: 'info', message: `connecting with ${value}` });
    expect(redact(line)).toBe('{"level":"info","message":"connecting with ****"}');
  });

  it("hides the form Python's json.dumps writes (non-ASCII as \\uXXXX)", () => {
    const value = 'clé-secrète-€';
    const redact = makeRedactor([value]);
    const python = '{"password": "cl\\u00e9-secr\\u00e8te-\\u20ac"}';
    expect(redact(python)).toBe('{"password": "****"}');
    expect(redact(JSON.stringify({ password: value }))).toBe('{"password":"****"}');
  });

  it('hides a value in JSON carried inside a JSON string', () => {
    const value = 'pa"ss';
    const inner = JSON.stringify({ password: value });
    const line = JSON.stringify({ message: inner });
    expect(makeRedactor([value])(line)).toBe(JSON.stringify({ message: '{"password":"****"}' }));
  });

  it('hides each line of a multi-line value, as logs come line by line', () => {
    const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----';
    const redact = makeRedactor([pem]);
    expect(redact('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe('****');
  });

  it('treats regular-expression characters literally', () => {
    const redact = makeRedactor(['a.b*c+(d)', '$^[x]|y']);
    expect(redact('a.b*c+(d) $^[x]|y axbbbc')).toBe('**** **** axbbbc');
  });

  it('does not redact values shorter than 4 characters', () => {
    const redact = makeRedactor(['abc', 'on', 'x']);
    expect(redact('abc on x')).toBe('abc on x');
  });

  it('stays fast for many lines and many secrets', () => {
    const secrets = Array.from({ length: 200 }, () => randomBytes(12).toString('base64'));
    const redact = makeRedactor(secrets);
    const line = `{"type":"RECORD","stream":"events","record":{"id":123,"name":"some ordinary text here","n":4.5}}`;
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) redact(line);
    expect(performance.now() - start).toBeLessThan(3000);
    expect(redact(`x ${secrets[42]} y`)).toBe('x **** y');
  });
});
