'use strict';
require('./lib/suite.js').defineNodeTests('node-red');
