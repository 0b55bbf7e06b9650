"use strict";
// tfjs-core (and the pure-JS backend it always has beside it) as one CommonJS object, imported
// by tf.ts as this module's default export. An ES `import * as tf from "@tensorflow/tfjs-core"`
// makes Node scan tfjs-core's whole CommonJS bundle for export names (cjs-module-lexer, as it
// does the CPU backend's for a bare import): ~0.3 s of every start-up. Assigned through a
// variable, not `module.exports = require(...)`, which the scanner follows into tfjs-core.
const core = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
module.exports = core;
