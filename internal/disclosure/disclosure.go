// Package disclosure serves residents who ask who looked at or received
// their identity confirmation information (本人確認情報の提供状況の開示,
// issue 18). What it holds so far is the offline verifier: a single HTML
// page, with no network access and nothing fetched, that checks a
// resident's proof (auditlog.ResidentProof) with the node's public key and
// the witnesses': the signatures, each record's inclusion in the audit
// log, and that no record concerning the resident was left out
// (docs/design/resident-map.md). It does in the browser what
// `jukinet disclosure verify` does on the command line.
package disclosure

import _ "embed"

//go:embed verify.html
var page []byte

// VerifierPage returns the self-contained offline verification page.
func VerifierPage() []byte { return page }
