package profile

// Status says whether a feature is in the product yet.
type Status string

// Feature statuses.
const (
	Built   Status = "built"
	Planned Status = "planned"
)

// Feature is one thing the product does that an article asks for. Tests
// name the Go tests that show it works, as "package/path.TestName"
// (checked by TestFeatureTestsExist); a planned feature has none yet.
type Feature struct {
	ID          string
	Description string
	Status      Status
	Tests       []string
}

// Features is the product's feature catalogue, which profiles' article maps
// refer to. Keep it honest: a feature is Built only when its tests exist
// and pass.
var Features = []Feature{
	{"register.versions", "Identity records are versioned: a change adds a version, never overwrites; removed records (除票) are kept for their retention period.", Built,
		[]string{"internal/gate/internal/records.TestApplyVersions", "internal/gate/internal/records.TestRemovalBefore2014KeepsFiveYears"}},
	{"register.import", "Bulk import from the municipal system is all or nothing and reports every bad row; re-importing changes nothing.", Built,
		[]string{"internal/gate.TestImportAllOrNothing", "internal/gate/internal/records.TestImportIdempotentAndExport", "internal/cli.TestImportCommand",
			"internal/resident.TestReadCSVManyRows", "internal/resident.TestReadCSVDamagedCP932", "internal/gate.TestCheckRows", "internal/gate.TestImportRefusesHeldNumber",
			"internal/gate/internal/records.TestImportRefusesHeldCodesAndNumbers", "internal/gate/internal/records.TestBulkLoadKeepsIndexes"}},
	{"register.search", "Four-item search by any form the profile allows (name or surname + birth, kana prefix + birth or address, name + address, birth + address; 旧氏 and 通称 like the name; Latin names in any order and without middle names) matches variant kanji and kana spellings, says why each match matched and ranks by it, refuses a query that is not enough saying what to add and one too broad instead of cutting the list; every form an index lookup; the stored keys are rebuilt when the folding changes.", Built,
		[]string{"internal/gate/internal/records.TestSearch", "internal/gate/internal/records.TestSearchForms", "internal/gate/internal/records.TestSearchInsufficient", "internal/gate/internal/records.TestSearchCapped", "internal/gate/internal/records.TestSearchPlansUseIndexes", "internal/jptext.TestVariantSpellingsShareKey", "internal/gate/internal/records.TestKeysReplacedAndRebuilt", "internal/gate.TestEnsureSearchKeys"}},
	{"gate.single-door", "Every read and write of identity records goes through the gate; the record store is importable by the gate only.", Built,
		[]string{"internal/gate.TestLookupIsLoggedBeforeReturn", "internal/gate.TestApplyAtomicWithEntry"}},
	{"audit.every-access", "Every gate call and decision, allowed or denied, is an audit-log entry that is durable before any data leaves.", Built,
		[]string{"internal/gate.TestEveryAttemptIsLogged", "internal/gate.TestLookupIsLoggedBeforeReturn",
			"internal/auditlog.TestAppendPipelined", "internal/auditlog.TestTwoWritersShareOneLog", "internal/db.TestExecAtomic", "internal/auditlog.TestTwoCallersShareCommits"}},
	{"audit.fail-closed", "If the audit log cannot be written, the request fails and no data leaves.", Built,
		[]string{"internal/gate.TestFailsClosedWithoutLog"}},
	{"audit.tamper-evidence", "The audit log is a Merkle tree with signed checkpoints; audit verify finds a changed, removed, reordered or cut entry, and finds a live node's log intact while it is appended to.", Built,
		[]string{"internal/auditlog.TestVerifyCatchesTampering", "internal/auditlog.TestVerifyCatchesRecomputedTree", "internal/cli.TestAuditVerifyCatchesTampering",
			"internal/auditlog.TestVerifyWhileAppending", "internal/auditlog.TestOpenCheckpointTellsMistakesFromFindings", "internal/cli.TestAuditVerifyExternalCheckpoints",
			"internal/auditlog.TestVerifyStopsItsReadersOnAProblem", "internal/auditlog.TestVerifyCancelledJudgesNothing", "internal/db.TestBeginSharedReads"}},
	{"audit.provision-records", "Provision records (提供状況) for every resident whose data leaves the gate, findable by resident.", Built,
		[]string{"internal/gate.TestExportProvidesAfterLogging", "internal/api.TestSearchAndAudit"}},
	{"audit.retention", "Audit entries past the retention period are pruned to their hashes; later proofs still verify. The period cannot be set below the law's 7 years; pruning is decided by the policies and cut at midnight JST.", Built,
		[]string{"internal/auditlog.TestProveAndPrune", "internal/cli.TestAuditPrune", "internal/node.TestOpenChecksConsistency", "internal/profile.TestCheckReportsFileAndLine"}},
	{"durability.crash", "A crash loses no acknowledged change and no audit entry of an answered request.", Built,
		[]string{"cmd/jukinet.TestSIGKILLLosesNothingAcknowledged", "internal/faults.TestSIGKILLCycles", "internal/faults.TestDiskFull",
			"cmd/jukinet.TestNetworkFaultsBetweenNodes", "internal/auditlog.TestClockSteppingBackKeepsTimesInOrder"}},
	{"continuity.backup", "A backup of the register, the audit log, the configuration and the keys, taken at one instant while the node serves (SQLite or PostgreSQL), checked as it is written, optionally encrypted with age, logged and entered in the forms register before it gets its name; daily on a schedule with the generations kept, older ones erased and recorded as disposed of; the dashboard warns of a failed or stale backup.", Built,
		[]string{"internal/backup.TestBackupAndRestore", "internal/backup.TestSchedule", "internal/backup.TestBackupRefusedWithoutConsole", "internal/web.TestBackupsScreen", "internal/cli.TestBackupCommands"}},
	{"continuity.restore", "A backup restores into a new folder only (never over a node), on SQLite or PostgreSQL whatever it was taken from, and is refused with a clear message when damaged, truncated, altered, signed by another node's key or encrypted to another key.", Built,
		[]string{"internal/backup.TestRestoreRefuses", "internal/backup.TestBackupAndRestore", "internal/cli.TestBackupCommands"}},
	{"profile.load", "The regulation is a profile: organisation, roles, affairs, session rules, article map and Cedar policies, checked when loaded.", Built,
		[]string{"internal/profile.TestBuiltinProfilesLoad", "internal/profile.TestCheckReportsFileAndLine"}},
	{"profile.roles", "The roles the regulation names, and the positions that fill them, are part of the profile.", Built,
		[]string{"internal/profile.TestBuiltinProfilesLoad"}},
	{"profile.council", "The security council's chair, vice chair and members, as positions, are part of the profile.", Built,
		[]string{"internal/profile.TestBuiltinProfilesLoad"}},
	{"staff.roles", "People, their positions and role assignments (chief security officer, system administrator, security officers …), every change logged.", Built,
		[]string{"internal/staff.TestRoleAssignments"}},
	{"staff.designation", "Security officers designate terminal operators (取扱者) and the affairs each may process; every change logged.", Built,
		[]string{"internal/staff.TestDesignation"}},
	{"staff.terminals", "Terminals are installed with the system administrator's approval and belong to a department.", Built,
		[]string{"internal/staff.TestTerminals"}},
	{"staff.terminal-managers", "Each terminal has a terminal manager whose title and name are reported to the system administrator.", Built,
		[]string{"internal/staff.TestTerminals"}},
	{"staff.enrolment-register", "The enrolment register (照合情報認証管理簿): every verification credential registered, by whom, when, and when removed.", Built,
		[]string{"internal/staff.TestEnrolmentRegister"}},
	{"staff.usage-approval", "Usage approvals (利用の承認): a department's head applies to use an affair (the work, why, the terminals and the staff who handle the information, the period); the system administrator, never a head of that department nor the applicant, approves or refuses with a reason; approving designates the staff named; the department notifies the end, which ends the designations. A use outside every approval in force (none, not begun, over, ended, or a terminal the approval does not name) is refused by the article's within-usage-approval policy, naming the approval, decided from the policy snapshot on the node's clock; every step logged, bad input refused with nothing stored.", Built,
		[]string{"internal/approval.TestWorkflow", "internal/approval.TestPeriod", "internal/approval.TestBadInput", "internal/web.TestApprovalScreen",
			"internal/web.TestBrowserApprovalBindsOperators", "internal/web.TestAPIApprovals", "internal/web.TestAPIChangesNeedTheRecheck"}},
	{"staff.usage-status-report", "Status reports of approved uses (利用状況報告): the system administrator asks for one for a closed period; the department submits it, counted by the node from the audit log (each person's look-ups, searches, histories, changes, refusals, residents concerned, detection alerts) as CSV and PDF, with the SHA-256 of the CSV recorded; drawing a report is itself logged.", Built,
		[]string{"internal/approval.TestStatusReport", "internal/web.TestApprovalScreen", "internal/web.TestAPIApprovals"}},
	{"policy.decision", "One policy decision (Cedar) per request: designated and active operator, approved terminal in the operator's department, approved affair; the deciding policy goes into the audit entry.", Built,
		[]string{"internal/policy.TestDecisions", "internal/policy.TestGateUsesPolicy"}},
	{"policy.suspension", "Suspensions (利用停止) of the node, a department, a terminal, an operator or an affair are forbid rules that beat everything, effective for the next request, and logged.", Built,
		[]string{"internal/policy.TestSuspensions", "internal/staff.TestSuspensionTargets", "internal/web.TestSuspensionScreenChoosesTargets", "internal/cli.TestConsoleStaffAndSuspension"}},
	{"policy.separation-of-duties", "Nobody designates himself, gives himself a role, approves a terminal or a use of the department he heads, or closes an alert about his own acts: forbid policies, each naming the article it serves, whose id the refusal's audit entry records.", Built,
		[]string{"internal/policy.TestSeparationOfDuties", "internal/detect.TestNobodyClosesAnAlertAboutHimself", "internal/cli.TestDetectCommands"}},
	{"auth.webauthn", "Operators sign in with their 照合ID and a WebAuthn credential with user verification (the biometric), enrolled through one-time links only the system administrator issues; sessions bound to the terminal, idle lock, absolute end, lockout after repeated failures, all logged.", Built,
		[]string{"internal/auth.TestEnrolAndLogin", "internal/auth.TestLoginAttacks", "internal/auth.TestSessionTimeouts"}},
	{"ui.screens", "Clerk, staff, suspension, audit and dashboard screens in Japanese with an English switch; each screen and form open only to the roles the policies name.", Built,
		[]string{"internal/web.TestRoutesByRole", "internal/web.TestChangesByRole", "internal/web.TestLookupScreenAndSuspension", "internal/web.TestBrowserEnrolSignInLookUp",
			"internal/web.TestStaffScreenNamesDepartmentsAndAffairs", "internal/web.TestStatusKeepsTheNavigation", "internal/web.TestAuditScreenFilters"}},
	{"terminal.identity", "Terminals identified by client TLS certificates from the node's own CA, issued only to approved terminals.", Built,
		[]string{"internal/web.TestTerminalCertificate", "internal/cli.TestConsoleStaffAndSuspension"}},
	{"federation.notification", "Every change is notified upstream (municipality → prefecture → national) in signed, ordered batches, applied exactly once through the receiver's gate; forged, foreign, gapped batches refused with alerts.", Built,
		[]string{"internal/federation.TestChangesFlowUpstreamOnce", "internal/federation.TestChangesFlowInBatches", "internal/federation.TestRefusedBatchesRaiseAlerts", "cmd/jukinet.TestNetworkEndToEnd"}},
	{"federation.consistency", "Consistency check (整合性確認) of a body's records between tiers, with repair from the source; changes still on their way reported as undelivered.", Built,
		[]string{"internal/federation.TestConsistencyCheckFindsAndRepairs", "internal/federation.TestConsistencyCheckKnowsUndeliveredChanges", "internal/gate/internal/records.TestSummarize"}},
	{"federation.witness", "Each node's audit-log checkpoints are cosigned by another node, which refuses a rewritten or cut log.", Built,
		[]string{"internal/federation.TestWitnessedCheckpoints"}},
	{"federation.recovery", "A node restored from a backup recovers (jukinet recover): every audit entry its witness cosigned comes back, checked against the cosigned root and resident map, and the entries nobody holds are an explicit, cosigned audit.gap the witness alerts on; the changes that reached the upstream come back by the consistency check with repair from upstream, and the changes found nowhere are listed; a restored upstream gets its downstream nodes' later changes sent again; serve refuses a node restored and not recovered, or behind its witness, and the witness refuses a restored log that skipped recovery as a fork.", Built,
		[]string{"internal/federation.TestRecoverAfterRestore", "internal/federation.TestRecoverRefusals", "internal/cli.TestRecoverCommand",
			"internal/federation.TestRestoredUpstreamGetsChangesAgain", "internal/federation.TestWitnessKeepsEntriesFromItsOldState",
			"internal/auditlog.TestWriteRecovered", "internal/auditlog.TestFrontier"}},
	{"federation.suspension", "Suspension of a downstream node's notifications or of a node's own outbound notifications.", Built,
		[]string{"internal/federation.TestSuspensionAcrossTheNetwork"}},
	{"federation.provision", "Provision to registered bodies (別表) one by one or by batch files, through the gate, one provision record per resident.", Built,
		[]string{"internal/federation.TestBatchProvision"}},
	{"council.meetings", "Security council meetings (セキュリティ会議): regular, or extraordinary called from an incident or a detection alert (its first agenda item), convened by the chair or the vice chair acting for him, with day, time and place; attendance checked against the profile's membership, each person in the seat their role, title or department gives them, staff called to attend recorded apart; no decision without the quorum (the profile's, else a majority of the seats); decisions by consent or vote with the counts; minutes approved by the chair (the vice chair only when the chair was absent), which closes the record; every change and refusal decided by the article's policies and logged, bad input refused with nothing stored, on both databases.", Built,
		[]string{"internal/council.TestSeatOf", "internal/council.TestMeetingRecord", "internal/council.TestQuorum", "internal/council.TestWhoMayDoWhat",
			"internal/council.TestViceChairActsForTheChair", "internal/council.TestConsoleNamesTheChair", "internal/council.TestExtraordinaryMeetings",
			"internal/council.TestBadInput", "internal/council.TestNoCouncilInAomori", "internal/profile.TestBuiltinProfilesLoad", "internal/cli.TestCouncilCommands",
			"internal/web.TestCouncilScreen", "internal/web.TestBrowserCouncilWalk", "internal/web.TestRoutesByRole", "internal/web.TestChangesByRole", "internal/node.TestDemoSeedsCouncil"}},
	{"council.directives", "Directives (指示) of the chief security officer to departments after an adopted council decision — what, to which department, by when — acknowledged by the department's head and reported complete with a note; requests (要請) to other bodies (教育委員会, 選挙管理委員会 …) with their answer recorded; one not done by the end of its due day is overdue on the node's clock, listed for the dashboard and put on the next meeting's agenda; decided by the article's policies and logged.", Built,
		[]string{"internal/council.TestDirectives", "internal/council.TestWhoMayDoWhat", "internal/council.TestBadInput", "internal/cli.TestCouncilCommands",
			"internal/web.TestCouncilScreen", "internal/web.TestBrowserCouncilWalk", "internal/web.TestChangesByRole", "internal/node.TestDemoSeedsCouncil", "internal/web.TestAPICouncilAndAudits"}},
	{"incident.response", "Incidents (misuse, leakage, outage) recorded with the measures taken — coordination with the prefecture and J-LIS, notice to residents, suspension, recovery — each decided by the policies and logged; an incident closes only once the measures its kind requires are recorded.", Built,
		[]string{"internal/incident.TestIncidentLifecycle", "internal/cli.TestIncidentCommands", "internal/web.TestIncidentScreens"}},
	{"detection.misuse", "Detection of improper use from the audit log, day by day: look-ups out of office hours, many residents provided to one person, one resident looked up by many people (curiosity views), repeated refusals; each alert closed with a finding by whom the policies allow, every run and closing logged.", Built,
		[]string{"internal/detect.TestDetectionRaisesUpdatesAndReopensAlerts", "internal/detect.TestSettingsCheck", "internal/detect.TestOvertakenRunChangesNothing", "internal/detect.TestOfficeDay", "internal/jptext.TestHolidays", "internal/web.TestAlertsScreen", "internal/cli.TestDetectCommands"}},
	{"detection.case-reference", "Protected residents (支援措置: DV, stalking, child or elder abuse) in a register of their own — from when, until when, the deciding department, a reason category, never free text — marked and ended by whom the article's policies allow, logged; the policy snapshot holds those in force, so the gate knows at decision time: a read of one without a case reference for an affair the profile allows is refused by the profile's protected-resident policy, an allowed one is marked protected, both raise an immediate alert in the entry's transaction (a failed alert fails the read), a search withholds them, a batch provision withholds or flags them, and the restriction travels upstream with the notifications and is enforced there. Detection rules the real cases need, thresholds in jukinet.toml, alerts explained in Japanese: look-ups without the case reference the affair requires (延岡), the same resident read again and again unexplained within a day or over days (高知), residents sharing the operator's surname (a weak signal), many people on one resident within an hour (横手, faster than the day's crowd); each replayed through the gate raises its alert and no other, and a normal day none.", Built,
		[]string{"internal/protect.TestProtectedResidentAtTheGate", "internal/protect.TestMarkRefusesBadInput", "internal/protect.TestAomoriProtection",
			"internal/detect.TestReplayedMisuseCases", "internal/detect.TestSettingsCheck", "internal/federation.TestProtectionTravelsUpstream",
			"internal/sysaudit.TestEveryBuiltFeatureHasEvidence", "internal/profile.TestBuiltinProfilesLoad", "internal/cli.TestProtectCommands",
			"internal/cli.TestDemoServesAndStops", "internal/web.TestProtectedScreen", "internal/web.TestAPIProtectedResidents", "internal/web.TestRoutesByRole",
			"internal/web.TestBrowserWalk", "internal/detect.TestRuleIDsAreStable"}},
	{"investigation", "Investigation of improper use: an incident opened from a detection alert, with damage assessment, containment, recovery and criminal complaint recorded as measures; closing needs coordination, assessment and containment on record.", Built,
		[]string{"internal/incident.TestIncidentLifecycle", "internal/web.TestAlertsScreen", "internal/web.TestIncidentScreens"}},
	{"audits", "System audits (システム監査): the chief security officer plans an audit (periodic or ad hoc, the period audited, its scope) and names its auditor, never himself; the auditor named generates the checklist from the article map — every built feature of every article in scope one check — with evidence the node collects itself through the owning packages (the log verified intact up to entry N with its latest and cosigned checkpoints, operators whose training expired, designations unused for 90 days, suspensions in the period, alerts open over 14 days, contracts lacking clauses, terminals without an installation …), recorded with its figures and the log entry it was read up to; findings with severity, the check and article, description and root cause; corrective actions with owner and due day, follow-up notes, closing with evidence by someone other than the owner (forbid naming the article), overdue on the node's clock; the audit report as PDF and CSV; every change and refusal logged, bad input refused with nothing stored.", Built,
		[]string{"internal/sysaudit.TestAuditWorkflow", "internal/sysaudit.TestEvidenceFromTheNode", "internal/sysaudit.TestOverdueOnTheClock",
			"internal/sysaudit.TestBadInput", "internal/sysaudit.TestAomoriAudit", "internal/sysaudit.TestReportDocument",
			"internal/sysaudit.TestEveryBuiltFeatureHasEvidence", "internal/web.TestSystemAuditScreen", "internal/web.TestRoutesByRole",
			"internal/web.TestChangesByRole", "internal/cli.TestSysauditCommands", "internal/node.TestDemoSeedsGovernance", "internal/web.TestAPICouncilAndAudits", "internal/web.TestBrowserAuditWalk"}},
	{"training", "Training (研修): the profile's courses and who needs each (roles, terminal operators) for how long; sessions with date, trainer, material and attendance, recorded by whom the policies allow and logged. Whoever lacks a required course, or whose attendance expired, is refused every use of the register and the enrolment of a credential by the article's trained-operator policy, naming the course and since when, decided on the node's clock from the policy snapshot without a query of its own; the dashboard lists who expires within 30 days.", Built,
		[]string{"internal/training.TestTrainingGatesTheOperator", "internal/training.TestAomoriTrainingRefusal", "internal/training.TestRecordRefusesBadInput",
			"internal/training.TestRequiredByRoleAndDesignation", "internal/cli.TestTrainingCommands", "internal/web.TestTrainingScreen", "internal/web.TestRoutesByRole",
			"internal/web.TestChangesByRole", "internal/web.TestBrowserTrainingRestoresUse", "internal/web.TestBrowserTrainingBindsLookups",
			"internal/policy.TestDecisionReadsOnlyTheVersion", "internal/node.TestDemoSeedsGovernance", "internal/profile.TestCourses", "internal/web.TestAPITraining"}},
	{"facilities", "Rooms and installations (入退室・設置): rooms with their protection level (3 storage, 2 server and network room, 1 terminal area) and the staff authorised for each; the entry and exit log, recorded at the door or imported all-or-nothing from a card reader's CSV (each bad line named with its column), visitors with their escort; an entry by someone not authorised raises a room-entry alert in the detection. Terminals are installed in a room only with the system administrator's approval and a terminal manager; once a terminal area is recorded, a terminal not in an approved installation is refused at sign-in and at the gate by the article's installed-terminal policy (koto-ward:11, aomori-pref:6.1), decided from the policy snapshot; every change logged, bad input refused with nothing stored.", Built,
		[]string{"internal/facility.TestInstallationGatesTheTerminal", "internal/facility.TestBadInputStoresNothing", "internal/facility.TestCardReaderImport",
			"internal/facility.TestUnauthorisedEntryRaisesAlert", "internal/cli.TestFacilityCommands", "internal/web.TestFacilitiesScreen",
			"internal/web.TestRoutesByRole", "internal/web.TestChangesByRole", "internal/web.TestTerminalCertificate", "internal/web.TestAPIFacilityEntries"}},
	{"assets", "Information assets (情報資産): a register of equipment, programs, data sets and media, each with its manager, installation day and state, the terminals approved in staff shown from their own record; who registers and retires each kind is decided by policies named for the article (aomori-pref:4.2, 4.3, 5; koto-ward:14), whose id a refusal's audit entry records; an asset holding data is retired only with the record of how its media were erased or destroyed (method, by whom, witness, day); every change and refusal logged, bad input refused with nothing stored.", Built,
		[]string{"internal/asset.TestWhoRegistersWhichKind", "internal/asset.TestRetireNeedsErasure", "internal/asset.TestBadInputStoresNothing",
			"internal/cli.TestAssetCommands", "internal/web.TestAssetsScreen", "internal/web.TestRoutesByRole", "internal/web.TestChangesByRole",
			"internal/node.TestDemoSeedsGovernance", "internal/web.TestAPIContractsAndAssets"}},
	{"assets.forms", "Data, programs, documents, processing and printed forms (帳票管理簿): every printout and export the node produces — the audit log's export, usage status reports, the system audit report, the residents' batch file — gets a control number per fiscal year, printed on it (every page of a PDF, a CSV's file name), and is recorded in the transaction of the export's own audit entry with who, when, what kind, what it covers, how many residents it concerns, where it went and the SHA-256 of its bytes (a file is found again by them); a refused export takes no number, a failed one leaves its number void with the reason; storage, take-out with the day it is due back, return, hand-over and disposal (method, who did it, witness) decided by the article's policies and logged; a form not stored, returned, handed over or disposed of within the profile's period is overdue on the node's clock, flagged on the dashboard and in the audit's evidence. Program changes: the node records its version and the digest of its profile and policies at each start; a start with either changed is an unapproved program change until the administrator the article names approves it with a note.", Built,
		[]string{"internal/form.TestRegisterStepsAndOverdue", "internal/form.TestRefusedExportProducesNoForm", "internal/form.TestBadInputStoresNothing",
			"internal/form.TestProgramChanges", "internal/form.TestNumbersPerFiscalYear", "internal/form.TestRecordExisting",
			"internal/node.TestProgramChangeOnRestart", "internal/node.TestDemoSeedsGovernance", "internal/sysaudit.TestReportIsAForm",
			"internal/cli.TestFormCommands", "internal/web.TestFormsScreen", "internal/web.TestExportsAreForms", "internal/web.TestAPIForms",
			"internal/web.TestRoutesByRole", "internal/web.TestBrowserWalk"}},
	{"outsourcing", "Outsourcing (委託): contracts with vendor, scope, period and the approval of the vendor after the check of its protection measures; the five clauses of aomori-pref:10.2, each recorded with where the contract holds it; the vendor's people and reports (incident, return and disposal of materials). A contractor is refused every action unless a contract covering them holds all five clauses (contract-clauses, naming the missing clause) and is in force on the node's clock (contract-in-force: its end ends their access that minute), decided from the policy snapshot without a query of its own; a contract ended early (契約の解除, with the day and the reason) ends its people's access that minute or from the day given; every change logged.", Built,
		[]string{"internal/contract.TestContractGatesTheContractor", "internal/contract.TestContractRefusesBadInput", "internal/contract.TestContractEndedEarly",
			"internal/cli.TestContractCommands", "internal/web.TestContractScreen", "internal/web.TestRoutesByRole", "internal/web.TestChangesByRole",
			"internal/web.TestBrowserContractBindsContractor", "internal/policy.TestDecisionReadsOnlyTheVersion", "internal/node.TestDemoSeedsGovernance",
			"internal/web.TestAPIContractsAndAssets"}},
	{"disclosure", "Disclosure to residents (本人確認情報・提供状況の開示): a register of requests (who asked and how their identity and authority were checked, what is asked, the decision due in the profile's days, disclose / in part / refuse with the reason, delivery), every step policy-decided and logged as an entry concerning the resident; the document as PDF (和暦, the department that looked, never the clerk's name) and the resident's proof that every entry is in the log and none was left out (the resident map signed in every checkpoint), checked offline by jukinet disclosure verify and a self-contained HTML page.", Built,
		[]string{"internal/auditlog.TestMapProofs", "internal/auditlog.TestResidentMapInCheckpoints", "internal/auditlog.TestVerifyChecksTheMap",
			"internal/auditlog.TestResidentProof", "internal/disclosure.TestRequestLifecycle", "internal/disclosure.TestVerifierPage",
			"internal/cli.TestDisclosureVerify", "internal/cli.TestDisclosureCommands", "internal/web.TestDisclosureScreen", "internal/web.TestAPIDisclosures",
			"internal/web.TestRoutesByRole", "internal/api.TestGovernanceNeedsSignIn"}},
	{"reports", "Reports and requests between bodies (報告・依頼, koto-ward:15; aomori-pref:4.2): incident reports, audit results, usage status, answers, and requests (to investigate an access, for a report, for measures) with a due day, each with its references (incidents, audits, status reports, the audit entry of an access — no personal data); sent by the roles the article's policy names, signed as a C2SP signed note with the node's key and queued in the transaction of its audit entry, delivered over the federation's mutual TLS (POST /federation/v1/correspondence) up and down (a downstream peer's bundle gives its address), acknowledged by the recipient's signed acknowledgement, which the sender verifies and keeps; a forged document (another key, another sender claimed, no node certificate) and a replay (an id already held, a sequence not after the sender's last) refused and alerted; requests tracked to their answer, overdue ones flagged on the dashboard and in the audit's evidence; screens, CLI and JSON API; both logs.", Built,
		[]string{"internal/correspondence.TestSendQueuesSignedDocument", "internal/correspondence.TestBadDocumentsStoreNothing", "internal/correspondence.TestReceiveRefusesReplays",
			"internal/correspondence.TestRequestsTrackedToAnswer", "internal/federation.TestReportDeliveredAndAcknowledged", "internal/federation.TestForgedAndReplayedDocumentsRefused",
			"internal/federation.TestRequestTravelsDownAndIsAnswered", "cmd/jukinet.TestCorrespondenceBetweenProcesses", "internal/web.TestCorrespondenceScreen",
			"internal/web.TestAPICorrespondence", "internal/cli.TestCorrespondenceCommands", "internal/web.TestRoutesByRole", "internal/api.TestGovernanceNeedsSignIn"}},
}

// FeatureByID returns the feature with the given id.
func FeatureByID(id string) (Feature, bool) {
	for _, f := range Features {
		if f.ID == id {
			return f, true
		}
	}
	return Feature{}, false
}
