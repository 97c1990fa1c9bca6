// Package trust decides who may publish which tree: the publishers file
// (a static list, the simple mode) and trust roots (a signed, versioned,
// chained document of root keys, delegations and revocations, every
// version of it in the log). Every party — the log when it admits an
// entry, the auditor when it replays the log, the user's client — judges a
// MetaManifest by the same rule here, at the MetaManifest's position in the
// log. docs/formats.md specifies the documents.
package trust
