// Validator errors -> per-step lists and summary text.

/** Group errors by the step id they name; errors without a step go under ''. */
export function errorsByStep(errors) {
  const out = {};
  for (const e of errors || []) {
    const key = e.step || '';
    (out[key] ||= []).push(e);
  }
  return out;
}

/** One line for an error: field, message. */
export function errorText(e) {
  const where = e.field ? `${e.field}: ` : '';
  return `${where}${e.message}`;
}

/** The validity label: `valid` or `N problem(s)`. */
export function validityText(errors) {
  const n = (errors || []).length;
  return n === 0 ? 'valid' : `${n} problem${n === 1 ? '' : 's'}`;
}

/** Errors from an API failure body (422 `{detail: {message, errors}}`, or any `detail`). */
export function errorsFromDetail(detail) {
  if (detail && Array.isArray(detail.errors) && detail.errors.length) return detail.errors;
  if (detail && typeof detail === 'object' && detail.message) return [{ message: detail.message }];
  if (Array.isArray(detail)) {
    return detail.map((d) => ({ message: d.msg || JSON.stringify(d), field: (d.loc || []).join('.') }));
  }
  return [{ message: typeof detail === 'string' ? detail : JSON.stringify(detail) }];
}
