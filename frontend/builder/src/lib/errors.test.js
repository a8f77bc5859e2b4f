import { describe, expect, it } from 'vitest';
import { errorText, errorsByStep, errorsFromDetail, validityText } from './errors.js';

describe('errors', () => {
  const errors = [
    { message: 'missing', step: 'f', field: 'config.condition' },
    { message: 'cycle', step: null },
    { message: 'one input', step: 'f', field: 'depends_on' },
  ];
  it('groups by step', () => {
    const by = errorsByStep(errors);
    expect(by.f.map((e) => e.message)).toEqual(['missing', 'one input']);
    expect(by[''].map((e) => e.message)).toEqual(['cycle']);
  });
  it('summarises validity', () => {
    expect(validityText([])).toBe('valid');
    expect(validityText(errors.slice(0, 1))).toBe('1 problem');
    expect(validityText(errors)).toBe('3 problems');
    expect(errorText(errors[0])).toBe('config.condition: missing');
  });
  it('reads API failure bodies', () => {
    expect(errorsFromDetail({ message: 'bad', errors: [errors[0]] })).toEqual([errors[0]]);
    expect(errorsFromDetail({ message: 'taken', errors: [] })).toEqual([{ message: 'taken' }]);
    expect(errorsFromDetail('nope')).toEqual([{ message: 'nope' }]);
    expect(errorsFromDetail([{ msg: 'field required', loc: ['body', 'yaml'] }])).toEqual([
      { message: 'field required', field: 'body.yaml' },
    ]);
  });
});
