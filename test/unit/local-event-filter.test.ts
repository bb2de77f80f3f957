import { matchesFilters } from '../../local/event-filter';

const insert = {
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  dynamodb: {
    Keys: { code: { S: 'abc123' } },
    NewImage: { code: { S: 'abc123' }, bot: { BOOL: false }, clicks: { N: '7' } },
    SizeBytes: 120,
  },
  tags: ['red', 'blue'],
};

describe('matchesFilters', () => {
  it('matches everything when there is no pattern', () => {
    expect(matchesFilters([], insert)).toBe(true);
  });

  it('matches exact values listed in an array, and nothing else', () => {
    expect(matchesFilters(['{"eventName":["INSERT"]}'], insert)).toBe(true);
    expect(matchesFilters(['{"eventName":["INSERT"]}'], { ...insert, eventName: 'MODIFY' })).toBe(false);
    expect(matchesFilters(['{"eventName":["MODIFY","INSERT"]}'], insert)).toBe(true);
  });

  it('follows nested objects, down to DynamoDB JSON', () => {
    expect(matchesFilters(['{"dynamodb":{"NewImage":{"bot":{"BOOL":[false]}}}}'], insert)).toBe(true);
    expect(matchesFilters(['{"dynamodb":{"NewImage":{"bot":{"BOOL":[true]}}}}'], insert)).toBe(false);
    expect(matchesFilters(['{"dynamodb":{"OldImage":{"bot":{"BOOL":[false]}}}}'], insert)).toBe(false);
  });

  it('requires every field of a pattern and any one of the patterns', () => {
    expect(matchesFilters(['{"eventName":["INSERT"],"eventSource":["aws:sqs"]}'], insert)).toBe(false);
    expect(matchesFilters(['{"eventName":["REMOVE"]}', '{"eventSource":["aws:dynamodb"]}'], insert)).toBe(true);
  });

  it('matches an array field when any element matches', () => {
    expect(matchesFilters(['{"tags":["blue"]}'], insert)).toBe(true);
    expect(matchesFilters(['{"tags":["green"]}'], insert)).toBe(false);
  });

  it('supports prefix, suffix and equals-ignore-case', () => {
    expect(matchesFilters(['{"eventSource":[{"prefix":"aws:"}]}'], insert)).toBe(true);
    expect(matchesFilters(['{"eventSource":[{"prefix":"gcp:"}]}'], insert)).toBe(false);
    expect(matchesFilters(['{"eventSource":[{"suffix":"dynamodb"}]}'], insert)).toBe(true);
    expect(matchesFilters(['{"eventSource":[{"suffix":"sqs"}]}'], insert)).toBe(false);
    expect(matchesFilters(['{"eventName":[{"equals-ignore-case":"insert"}]}'], insert)).toBe(true);
  });

  it('supports exists true and false', () => {
    expect(matchesFilters(['{"dynamodb":{"NewImage":{"code":{"S":[{"exists":true}]}}}}'], insert)).toBe(true);
    expect(matchesFilters(['{"dynamodb":{"NewImage":{"owner":{"S":[{"exists":true}]}}}}'], insert)).toBe(false);
    expect(matchesFilters(['{"dynamodb":{"NewImage":{"owner":{"S":[{"exists":false}]}}}}'], insert)).toBe(true);
    expect(matchesFilters(['{"eventName":[{"exists":false}]}'], insert)).toBe(false);
  });

  it('supports anything-but with a value, a list and a prefix, never matching a missing field', () => {
    expect(matchesFilters(['{"eventName":[{"anything-but":"REMOVE"}]}'], insert)).toBe(true);
    expect(matchesFilters(['{"eventName":[{"anything-but":["INSERT","MODIFY"]}]}'], insert)).toBe(false);
    expect(matchesFilters(['{"eventSource":[{"anything-but":{"prefix":"aws:"}}]}'], insert)).toBe(false);
    expect(matchesFilters(['{"missing":[{"anything-but":"x"}]}'], insert)).toBe(false);
  });

  it('supports numeric comparisons and ranges on numbers only', () => {
    expect(matchesFilters(['{"dynamodb":{"SizeBytes":[{"numeric":[">",100,"<=",120]}]}}'], insert)).toBe(true);
    expect(matchesFilters(['{"dynamodb":{"SizeBytes":[{"numeric":[">",120]}]}}'], insert)).toBe(false);
    expect(matchesFilters(['{"dynamodb":{"SizeBytes":[{"numeric":["=",120]}]}}'], insert)).toBe(true);
    // DynamoDB numbers are strings in stream records: a numeric condition does not match them.
    expect(matchesFilters(['{"dynamodb":{"NewImage":{"clicks":{"N":[{"numeric":[">",1]}]}}}}'], insert)).toBe(false);
  });

  it('matches null exactly', () => {
    expect(matchesFilters(['{"purpose":[null]}'], { purpose: null })).toBe(true);
    expect(matchesFilters(['{"purpose":[null]}'], { purpose: 'prefetch' })).toBe(false);
  });

  it('rejects malformed patterns with a clear error', () => {
    expect(() => matchesFilters(['not json'], insert)).toThrow(/Invalid filter pattern not json/);
    expect(() => matchesFilters(['{"eventName":"INSERT"}'], insert)).toThrow(/expected an array of conditions/);
    expect(() => matchesFilters(['{"eventName":[{"wildcard":"*"}]}'], insert)).toThrow(/Unsupported filter operator "wildcard"/);
    expect(() => matchesFilters(['{"dynamodb":{"SizeBytes":[{"numeric":[">"]}]}}'], insert)).toThrow(/Invalid numeric condition/);
  });
});
