'use strict';
require('./lib/mqtt-suite.js').defineMqttTests('node-red-4');
