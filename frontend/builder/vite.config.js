import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The bundle is served by the DatasetGen API at /builder (datasetgen_api/routes/builder.py).
export default defineConfig({
  base: '/builder/',
  plugins: [react()],
  build: {
    outDir: '../../datasetgen_api/static/builder',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', ws: true, changeOrigin: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.{js,jsx}'],
  },
});
