'use strict';
require('./lib/runtime-suite.js').defineRuntimeTests('node-red');
