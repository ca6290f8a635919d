// The cloud code both servers load for bench/run's cloud workloads: a trivial function
// (round trip of Parse.Cloud.run) and a no-op beforeSave (the overhead a trigger adds to a create).
Parse.Cloud.define('benchNoop', () => 'ok');
Parse.Cloud.beforeSave('BenchHooked', () => {});
