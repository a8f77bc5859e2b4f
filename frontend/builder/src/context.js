import { createContext } from 'react';

/** What the canvas nodes read: step types, group colours, errors, run state, links. */
export const BuilderContext = createContext({
  types: {},
  colors: {},
  errors: {},
  run: { steps: {} },
  pipeline: '',
  dagsterUrl: '',
});
