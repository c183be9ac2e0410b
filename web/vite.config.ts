import path from 'node:path';
import { defaultClientConditions, defineConfig } from 'vite';

const root = import.meta.dirname;

// Two pages, one build: the storefront (index.html) and the admin console (admin/index.html)
// share the API client and styles as common chunks under assets/, named by content hash.
export default defineConfig(({ mode }) => ({
  root,
  resolve: {
    // By mode, not NODE_ENV (unset when the server builds): the build gets lit-html's production code.
    conditions: defaultClientConditions.map((condition) =>
      condition === 'development|production'
        ? mode === 'production'
          ? 'production'
          : 'development'
        : condition,
    ),
  },
  base: '/',
  publicDir: path.join(root, 'public'),
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        storefront: path.join(root, 'index.html'),
        admin: path.join(root, 'admin/index.html'),
      },
    },
  },
  server: {
    // `npx vite web` during development: the API runs on `npm run dev` at 3000.
    proxy: { '/v1': { target: 'http://127.0.0.1:3000', ws: true } },
  },
}));
