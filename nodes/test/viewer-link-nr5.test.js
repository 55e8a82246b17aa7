'use strict';
require('./lib/viewer-link-suite.js').defineViewerLinkTests('node-red');
