#!/usr/bin/env node
import { runCli } from '../dist/src/main/cli/main.js';

runCli();
