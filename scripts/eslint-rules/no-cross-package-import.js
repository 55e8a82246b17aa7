// @ts-check
/**
 * ESLint rule `camgate/no-cross-package-import`: a relative import must stay inside the package (the folder of the
 * nearest package.json) of the file that makes it. Packages reach each other by name (`@camgate/core`,
 * `@camgate/camera-sim`, `@camgate/test-helpers`), through their published faces, never by a path such as
 * `../../gateway-core/src/hub/index.js`. Checked: static imports and re-exports, `import()` and `typeof import()`
 * with a literal specifier, and `require()`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** @type {Map<string, string | undefined>} */
const rootCache = new Map();

/** The folder of the nearest package.json at or above `dir`. */
function packageRoot(dir) {
  if (rootCache.has(dir)) return rootCache.get(dir);
  const up = path.dirname(dir);
  const root = existsSync(path.join(dir, 'package.json')) ? dir : up === dir ? undefined : packageRoot(up);
  rootCache.set(dir, root);
  return root;
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'forbid relative imports that leave the importing file’s package' },
    schema: [],
    messages: {
      crossPackage:
        '"{{source}}" leaves the package {{from}} for {{to}}: import the other package by its name and public face.',
    },
  },
  create(context) {
    const file = context.filename;
    const home = packageRoot(path.dirname(path.resolve(file)));
    /** @param {import('estree').Node | null | undefined} node */
    const check = (node) => {
      if (!node) return;
      let source;
      if (node.type === 'Literal' && typeof node.value === 'string') source = node.value;
      else if (node.type === 'TemplateLiteral' && node.expressions.length === 0) source = node.quasis[0]?.value.cooked;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(path.resolve(file)), source);
      const there = packageRoot(path.dirname(target));
      if (home === undefined || there === home) return;
      const rel = (/** @type {string | undefined} */ p) =>
        p === undefined ? '(none)' : path.relative(context.cwd, p) || '.';
      context.report({ node, messageId: 'crossPackage', data: { source, from: rel(home), to: rel(there) } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      /** @param {any} node  typescript-eslint's TSImportType: `typeof import('…')` */
      TSImportType: (node) => check(node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require')
          check(/** @type {any} */ (node.arguments[0]));
      },
    };
  },
};
