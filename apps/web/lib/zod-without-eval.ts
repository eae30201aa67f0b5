/**
 * zod 4 compiles object parsers with `new Function` where it may, and the probe it runs to find
 * out is reported as a violation of the pages' Content-Security-Policy (no `'unsafe-eval'`; see
 * content-security-policy.ts). Browser code parses without it: import this before parsing.
 */
import { z } from 'zod';

z.config({ jitless: true });
