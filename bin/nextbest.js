#!/usr/bin/env node
import { runCli } from '../dist/cli/index.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
