// Placeholder module: see README "Status" for the issue that brings this package.
export {};
