// kurento-client 7.3 ships no type declarations (and there is no @types package). The tests drive it as its
// users do, from JavaScript; this declaration lets them type-check without pretending to describe its API.
declare module 'kurento-client';
