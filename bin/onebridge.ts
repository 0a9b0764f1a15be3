#!/usr/bin/env node
// The `onebridge` command: the CLI with the built-in adapters. It lives outside src/ because
// core never imports adapters/; this is the one place that joins them.
import { builtinAdapters } from '../adapters/index.js';
import { runCli } from '../src/cli.js';

await runCli({ adapters: builtinAdapters });
