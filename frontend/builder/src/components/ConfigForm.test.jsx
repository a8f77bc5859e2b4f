// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/react';
import ConfigForm from './ConfigForm.jsx';

afterEach(cleanup);

const SCHEMA = {
  title: 'CsvConfig',
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', title: 'Path', description: 'File to read.' },
    delimiter: { type: 'string', title: 'Delimiter', default: ',', description: 'Field separator.' },
    on_bad_lines: { type: 'string', title: 'On Bad Lines', enum: ['error', 'skip'], default: 'error' },
    sheet: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, title: 'Sheet' },
    columns: { anyOf: [{ type: 'array', items: { type: 'string' }, minItems: 1 }, { type: 'null' }], default: null, title: 'Columns' },
  },
};

describe('ConfigForm', () => {
  it('renders top-level fields as cfg-{field} with required marks, enums, defaults and help', () => {
    const { container } = render(<ConfigForm configSchema={SCHEMA} config={{}} columns={[]} onChange={() => {}} />);
    expect(container.querySelector('#cfg-path')).not.toBeNull();
    expect(container.querySelector('label[for="cfg-path"] .required')).not.toBeNull();
    expect(container.querySelector('label[for="cfg-delimiter"] .required')).toBeNull();
    expect(container.querySelector('#cfg-delimiter').value).toBe(',');
    const select = container.querySelector('#cfg-on_bad_lines');
    expect(select.tagName).toBe('SELECT');
    expect([...select.options].map((o) => o.textContent)).toEqual(expect.arrayContaining(['error', 'skip']));
    expect(container.querySelector('#cfg-sheet').tagName).toBe('INPUT');
    expect(container.textContent).toContain('File to read.');
    expect(container.querySelector('#cfg-columns-0')).toBeNull(); // optional arrays start empty
    expect(container.textContent).not.toContain('CsvConfig');
  });

  it('reports only the fields the user set, never untouched defaults', () => {
    const onChange = vi.fn();
    const { container } = render(<ConfigForm configSchema={SCHEMA} config={{}} columns={[]} onChange={onChange} />);
    fireEvent.change(container.querySelector('#cfg-path'), { target: { value: 'data/a.csv' } });
    expect(onChange).toHaveBeenLastCalledWith({ path: 'data/a.csv' });
  });

  it('does not report a change when nothing the user set changed', () => {
    const onChange = vi.fn();
    const { container } = render(<ConfigForm configSchema={SCHEMA} config={{ path: 'a' }} columns={[]} onChange={onChange} />);
    fireEvent.change(container.querySelector('#cfg-path'), { target: { value: 'a' } });
    expect(onChange).not.toHaveBeenCalled();
  });

  it('keeps set values and lets the user change an enum', () => {
    const onChange = vi.fn();
    const { container } = render(<ConfigForm configSchema={SCHEMA} config={{ path: 'a.csv' }} columns={[]} onChange={onChange} />);
    expect(container.querySelector('#cfg-path').value).toBe('a.csv');
    const select = container.querySelector('#cfg-on_bad_lines');
    const skip = [...select.options].find((o) => o.textContent === 'skip');
    fireEvent.change(select, { target: { value: skip.value } });
    expect(onChange).toHaveBeenLastCalledWith({ path: 'a.csv', on_bad_lines: 'skip' });
  });

  it('offers known input columns on column-like fields', () => {
    const schema = { type: 'object', properties: { by: { type: 'string', title: 'By' } } };
    const { container } = render(<ConfigForm configSchema={schema} config={{}} columns={['id', 'country']} onChange={() => {}} />);
    const options = container.querySelectorAll('datalist option');
    expect([...options].map((o) => o.value)).toEqual(['id', 'country']);
  });
});
