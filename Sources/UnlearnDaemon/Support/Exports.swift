// The package's one lock box is `UnlearnSupport.LockedValue`; re-exported here so that every file of the daemon
// (and its clients) sees it and its members without importing UnlearnSupport itself (SE-0444 counts a
// module-wide `@_exported import` as an import of every file).
@_exported import UnlearnSupport
