package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// Person is someone who works with the system.
type Person struct {
	ID             int64
	VerificationID string // 照合ID
	Name           string
	NameKana       string
	Department     string
	Title          string // 職
	Active         bool
	CreatedAt      time.Time
	LeftAt         time.Time // zero while active
	LeftReason     string
}

// What a staff member's text may hold (docs/fields.md). The name is also
// the actor's name in every audit entry of their acts.
var (
	FieldPersonName  = resident.Field{Name: "name", Japanese: "氏名", Class: resident.ClassName, Max: resident.MaxName}
	FieldPersonKana  = resident.Field{Name: "kana", Japanese: "氏名（フリガナ）", Class: resident.ClassKana, Max: resident.MaxKana}
	FieldPersonTitle = resident.Field{Name: "title", Japanese: "職", Class: resident.ClassText, Max: 100}
)

func (s *Store) checkPerson(p Person) error {
	if err := checkID("verification_id", "verification id", "照合ID", p.VerificationID); err != nil {
		return err
	}
	if err := required([2]string{"name", p.Name}, [2]string{"title", p.Title}); err != nil {
		return err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldPersonName, Text: p.Name}, resident.Value{Field: FieldPersonKana, Text: p.NameKana},
		resident.Value{Field: FieldPersonTitle, Text: p.Title}); err != nil {
		return err
	}
	return s.checkDepartment(p.Department)
}

func insertPerson(ctx context.Context, tx *db.Tx, p Person, seq int64, now time.Time) (int64, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM staff_person WHERE verification_id = ?`, p.VerificationID).Scan(&n); err != nil {
		return 0, fmt.Errorf("check verification id: %w", err)
	}
	if n > 0 {
		return 0, apperr.New(apperr.Conflict, fmt.Sprintf("verification id %s is already registered", p.VerificationID),
			fmt.Sprintf("照合ID %s は既に登録されています", p.VerificationID)).At("verification_id")
	}
	id, err := insertID(ctx, tx, `INSERT INTO staff_person (verification_id, name, name_kana, department_id, title, active, created_at, created_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.VerificationID, p.Name, p.NameKana, p.Department, p.Title, true, now, seq)
	if err != nil {
		return 0, fmt.Errorf("add staff member: %w", err)
	}
	return id, nil
}

// Bootstrap registers the node's first system administrator, as the node
// itself: allowed only while no staff member exists (jukinet init, demo).
func (s *Store) Bootstrap(ctx context.Context, p Person) error {
	if err := s.checkPerson(p); err != nil {
		return err
	}
	e := s.asNode(ActRegisterStaff, "person:"+p.VerificationID,
		fmt.Sprintf("first system administrator: %s %s (%s, %s)", p.VerificationID, p.Name, p.Department, p.Title), "the node has no staff yet")
	return s.commit(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM staff_person`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return apperr.New(apperr.Conflict, "the node already has staff; the first system administrator is registered only once",
				"職員は既に登録されています。最初のシステム管理者の登録は一度だけです")
		}
		id, err := insertPerson(ctx, tx, p, seq, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO staff_role (person_id, role, department_id, started_at, started_seq) VALUES (?, ?, '', ?, ?)`,
			id, string(profile.SystemAdministrator), now, seq); err != nil {
			return fmt.Errorf("assign role: %w", err)
		}
		return nil
	})
}

// AddPerson registers a staff member.
func (s *Store) AddPerson(ctx context.Context, who Who, p Person) error {
	if err := s.checkPerson(p); err != nil {
		return err
	}
	return s.do(ctx, change{who: who, action: ActRegisterStaff, resource: Resource{Kind: "department", ID: p.Department},
		detail: fmt.Sprintf("add %s %s (%s, %s)", p.VerificationID, p.Name, p.Department, p.Title),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			_, err := insertPerson(ctx, tx, p, seq, now)
			return err
		}})
}

// Leave reasons.
const (
	LeftTransfer   = "transfer"   // 異動
	LeftRetirement = "retirement" // 退職
)

// RemovePerson records that a staff member transferred or retired: the
// person is inactive, and their roles, designations and credentials end
// (the credentials' removal is recorded in the enrolment register).
func (s *Store) RemovePerson(ctx context.Context, who Who, vid, reason string) error {
	if reason != LeftTransfer && reason != LeftRetirement {
		return apperr.New(apperr.Invalid, fmt.Sprintf("reason %q: use transfer or retirement", reason), "理由は「異動」または「退職」を選んでください").At("reason")
	}
	dept, err := s.departmentOf(ctx, vid)
	if err != nil {
		return apperr.About(err, "verification_id")
	}
	return s.do(ctx, change{who: who, action: ActRegisterStaff, resource: Resource{Kind: "department", ID: dept},
		detail: fmt.Sprintf("remove %s (%s)", vid, reason),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			id, err := personID(ctx, tx, vid)
			if err != nil {
				return apperr.About(err, "verification_id")
			}
			by := who.Actor.String()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`UPDATE staff_person SET active = ?, left_at = ?, left_reason = ?, left_seq = ? WHERE id = ?`, []any{false, now, reason, seq, id}},
				{`UPDATE staff_role SET ended_at = ?, ended_seq = ? WHERE person_id = ? AND ended_at IS NULL`, []any{now, seq, id}},
				{`UPDATE staff_designation SET ended_at = ?, ended_by = ?, ended_seq = ? WHERE person_id = ? AND ended_at IS NULL`, []any{now, by, seq, id}},
				{`UPDATE staff_credential SET removed_at = ?, removed_by = ?, removed_reason = ?, removed_seq = ? WHERE person_id = ? AND removed_at IS NULL`, []any{now, by, reason, seq, id}},
			} {
				if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
					return fmt.Errorf("remove staff member: %w", err)
				}
			}
			return nil
		}})
}

func (s *Store) departmentOf(ctx context.Context, vid string) (string, error) {
	var dept string
	if _, err := personID(ctx, s.db, vid); err != nil {
		return "", err
	}
	if err := s.db.QueryRow(ctx, `SELECT department_id FROM staff_person WHERE verification_id = ?`, vid).Scan(&dept); err != nil {
		return "", fmt.Errorf("find department of %s: %w", vid, err)
	}
	return dept, nil
}

// AssignRole gives a staff member a role of the profile; department is
// required for per-department roles (security officer, section head) and
// must be empty otherwise.
func (s *Store) AssignRole(ctx context.Context, who Who, vid string, role profile.RoleID, department string) error {
	if err := checkID("verification_id", "verification id", "照合ID", vid); err != nil {
		return err
	}
	if _, ok := s.prof.Role(role); !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("profile %s has no role %q", s.prof.ID, role), fmt.Sprintf("役割「%s」はこの規程にありません", role)).At("role")
	}
	perDept := profile.KnownRoles[role]
	switch {
	case perDept && department == "":
		return apperr.New(apperr.Invalid, fmt.Sprintf("role %s is held for a department: give the department", role), "この役割には部署の指定が必要です").At("department")
	case !perDept && department != "":
		return apperr.New(apperr.Invalid, fmt.Sprintf("role %s is node-wide: give no department", role), "この役割は部署を指定しません").At("department")
	case perDept:
		if err := s.checkDepartment(department); err != nil {
			return err
		}
	}
	return s.do(ctx, change{who: who, action: ActAssignRole, resource: Resource{Kind: "node", ID: s.node, Subjects: operator(vid)},
		detail: fmt.Sprintf("assign %s to %s %s", role, vid, department),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			id, err := personID(ctx, tx, vid)
			if err != nil {
				return apperr.About(err, "verification_id")
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM staff_role WHERE person_id = ? AND role = ? AND department_id = ? AND ended_at IS NULL`, id, string(role), department).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("%s already holds %s", vid, role), fmt.Sprintf("%s は既にこの役割に就いています", vid)).At("role")
			}
			_, err = tx.Exec(ctx, `INSERT INTO staff_role (person_id, role, department_id, started_at, started_seq) VALUES (?, ?, ?, ?, ?)`, id, string(role), department, now, seq)
			return err
		}})
}

// Designate makes a staff member a terminal operator (取扱者) for an affair
// (koto-ward:12.1). The resource is the operator's department: its
// security officer designates.
func (s *Store) Designate(ctx context.Context, who Who, vid, affair string) error {
	if err := s.checkAffair(affair); err != nil {
		return err
	}
	dept, err := s.departmentOf(ctx, vid)
	if err != nil {
		return apperr.About(err, "verification_id")
	}
	return s.do(ctx, change{who: who, action: ActDesignate, resource: Resource{Kind: "department", ID: dept, Subjects: operator(vid)},
		detail: fmt.Sprintf("designate %s for %s", vid, affair),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			id, err := personID(ctx, tx, vid)
			if err != nil {
				return apperr.About(err, "verification_id")
			}
			if err := refuseIfAny(ctx, tx, apperr.New(apperr.Conflict, fmt.Sprintf("%s is already designated for %s", vid, affair), fmt.Sprintf("%s は既にこの事務の取扱者です", vid)).At("affair"), `SELECT COUNT(*) FROM staff_designation WHERE person_id = ? AND affair_id = ? AND ended_at IS NULL`, id, affair); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO staff_designation (person_id, affair_id, designated_by, started_at, started_seq) VALUES (?, ?, ?, ?, ?)`,
				id, affair, who.Actor.String(), now, seq)
			return err
		}})
}

// EndDesignation ends a designation.
func (s *Store) EndDesignation(ctx context.Context, who Who, vid, affair string) error {
	if err := resident.CheckValues(resident.Value{Field: FieldAffairID, Text: affair, Required: true}); err != nil {
		return err
	}
	dept, err := s.departmentOf(ctx, vid)
	if err != nil {
		return apperr.About(err, "verification_id")
	}
	return s.do(ctx, change{who: who, action: ActDesignate, resource: Resource{Kind: "department", ID: dept},
		detail: fmt.Sprintf("end designation of %s for %s", vid, affair),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			id, err := personID(ctx, tx, vid)
			if err != nil {
				return apperr.About(err, "verification_id")
			}
			res, err := tx.Exec(ctx, `UPDATE staff_designation SET ended_at = ?, ended_by = ?, ended_seq = ? WHERE person_id = ? AND affair_id = ? AND ended_at IS NULL`,
				now, who.Actor.String(), seq, id, affair)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.NotFound, fmt.Sprintf("%s is not designated for %s", vid, affair), fmt.Sprintf("%s はこの事務の取扱者ではありません", vid)).At("affair")
			}
			return nil
		}})
}

// Terminal is a terminal (端末機).
type Terminal struct {
	ID         string
	Name       string
	Department string
	Location   string
	ApprovedBy string
	ApprovedAt time.Time
	// The terminal manager (端末機管理者) reported by the department head.
	ManagerVID   string
	ManagerName  string
	ManagerTitle string
	ReportedAt   time.Time
	RetiredAt    time.Time
}

// What a terminal's text may hold (docs/fields.md).
var (
	FieldTerminalName     = resident.Field{Name: "name", Japanese: "端末名", Class: resident.ClassText, Max: 100}
	FieldTerminalLocation = resident.Field{Name: "location", Japanese: "設置場所", Class: resident.ClassText, Max: 200}
	FieldManagerTitle     = resident.Field{Name: "manager_title", Japanese: "端末機管理者の職", Class: resident.ClassText, Max: 100}
)

// ApproveTerminal records the installation of a terminal, approved by the
// system administrator (aomori-pref:6.1). With t.ManagerVID it records in
// the same transaction, and the same audit entry, the terminal manager the
// department head designated (t.ManagerTitle their title; aomori-pref:6.2,
// 6.3), decided by the policies as ReportTerminalManager is: a manager
// refused (a malformed or unknown verification id, a person who left, a
// title missing or breaking its rule, a report the approver may not make)
// leaves nothing stored, the terminal neither. A manager refused before
// anything is decided is not logged; a report the policies refuse is
// logged as ReportTerminalManager logs it.
func (s *Store) ApproveTerminal(ctx context.Context, who Who, t Terminal) error {
	if err := checkID("id", "terminal id", "端末ID", t.ID); err != nil {
		return err
	}
	if err := required([2]string{"name", t.Name}, [2]string{"location", t.Location}); err != nil {
		return err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldTerminalName, Text: t.Name}, resident.Value{Field: FieldTerminalLocation, Text: t.Location}); err != nil {
		return err
	}
	if err := s.checkDepartment(t.Department); err != nil {
		return err
	}
	withManager := t.ManagerVID != ""
	if withManager {
		if err := checkManager(t.ManagerVID, t.ManagerTitle); err != nil {
			return err
		}
		if _, err := personID(ctx, s.db, t.ManagerVID); err != nil {
			return apperr.About(err, "manager")
		}
	}
	heads, err := Heads(ctx, s.db, t.Department)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("approve terminal %s (%s) for %s at %s", t.ID, t.Name, t.Department, t.Location)
	if withManager {
		dept := Resource{Kind: "department", ID: t.Department}
		report := auditlog.Entry{Node: s.node, Actor: who.Actor, Origin: who.Origin, Action: "staff." + ActReportManager,
			Query: dept.Kind + ":" + dept.ID, Detail: managerDetail(t.ID, t.ManagerVID, t.ManagerTitle)}
		v, err := decide(ctx, s.log, s.authz, who, ActReportManager, dept, report)
		if err != nil {
			return err
		}
		detail += fmt.Sprintf("; manager %s (%s), reported under %s", t.ManagerVID, t.ManagerTitle, v.Policy)
	}
	return s.do(ctx, change{who: who, action: ActApproveTerminal, resource: Resource{Kind: "department", ID: t.Department, Subjects: heads},
		detail: detail,
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := refuseIfAny(ctx, tx, apperr.New(apperr.Conflict, fmt.Sprintf("terminal %s already exists", t.ID), fmt.Sprintf("端末 %s は既に登録されています", t.ID)).At("id"), `SELECT COUNT(*) FROM staff_terminal WHERE id = ?`, t.ID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO staff_terminal (id, name, department_id, location, approved_by, approved_at, approved_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				t.ID, t.Name, t.Department, t.Location, who.Actor.String(), now, seq)
			if err != nil || !withManager {
				return err
			}
			return setManager(ctx, tx, t.ID, t.ManagerVID, t.ManagerTitle, now)
		}})
}

// checkManager applies the field rules to a terminal manager reported:
// the manager's verification id and title.
func checkManager(vid, title string) error {
	if err := checkID("manager", "verification id", "照合ID", vid); err != nil {
		return err
	}
	if err := required([2]string{"manager_title", title}); err != nil {
		return err
	}
	return resident.CheckValues(resident.Value{Field: FieldManagerTitle, Text: title})
}

// managerDetail is the detail of the audit entry of a manager reported.
func managerDetail(terminalID, vid, title string) string {
	return fmt.Sprintf("terminal %s: manager %s (%s)", terminalID, vid, title)
}

// setManager records terminalID's manager, an active staff member, in tx.
func setManager(ctx context.Context, tx *db.Tx, terminalID, vid, title string, now time.Time) error {
	id, err := personID(ctx, tx, vid)
	if err != nil {
		return apperr.About(err, "manager")
	}
	_, err = tx.Exec(ctx, `UPDATE staff_terminal SET manager_person_id = ?, manager_title = ?, manager_reported_at = ? WHERE id = ?`, id, title, now, terminalID)
	return err
}

// ReportTerminalManager records the terminal manager the department head
// designated, with title and name (aomori-pref:6.2, 6.3), for a terminal
// approved before (ApproveTerminal records one with the approval).
func (s *Store) ReportTerminalManager(ctx context.Context, who Who, terminalID, managerVID, title string) error {
	if err := checkManager(managerVID, title); err != nil {
		return err
	}
	t, err := s.Terminal(ctx, terminalID)
	if err != nil {
		return apperr.About(err, "id")
	}
	return s.do(ctx, change{who: who, action: ActReportManager, resource: Resource{Kind: "department", ID: t.Department},
		detail: managerDetail(terminalID, managerVID, title),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			return setManager(ctx, tx, terminalID, managerVID, title, now)
		}})
}

// RetireTerminal takes a terminal out of use.
func (s *Store) RetireTerminal(ctx context.Context, who Who, terminalID string) error {
	t, err := s.Terminal(ctx, terminalID)
	if err != nil {
		return err
	}
	return s.do(ctx, change{who: who, action: ActApproveTerminal, resource: Resource{Kind: "department", ID: t.Department},
		detail: "retire terminal " + terminalID,
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			_, err := tx.Exec(ctx, `UPDATE staff_terminal SET retired_at = ?, retired_seq = ? WHERE id = ? AND retired_at IS NULL`, now, seq, terminalID)
			return err
		}})
}

// Credential is an entry of the enrolment register (照合情報認証管理簿).
type Credential struct {
	ID            int64
	PersonVID     string
	PersonName    string
	CredentialID  []byte
	Data          string // the authenticator's public key and flags (JSON, from internal/auth)
	Label         string
	RegisteredBy  string
	RegisteredAt  time.Time
	RemovedAt     time.Time
	RemovedBy     string
	RemovedReason string
}

// What the enrolment register's text may hold (docs/fields.md).
var (
	FieldCredentialLabel = resident.Field{Name: "label", Japanese: "認証器の名前", Class: resident.ClassText, Max: 100}
	FieldRemovalReason   = resident.Field{Name: "reason", Japanese: "削除の理由", Class: resident.ClassText, Max: 200}
)

// RegisterCredential enters a verification credential in the enrolment
// register; only the system administrator may (koto-ward:13).
func (s *Store) RegisterCredential(ctx context.Context, who Who, vid string, c Credential) error {
	if err := checkID("verification_id", "verification id", "照合ID", vid); err != nil {
		return err
	}
	if len(c.CredentialID) == 0 || c.Data == "" {
		return apperr.New(apperr.Invalid, "a credential needs its id and public key", "照合情報が不完全です")
	}
	if c.Label == "" {
		c.Label = "authenticator"
	}
	if err := resident.CheckValues(resident.Value{Field: FieldCredentialLabel, Text: c.Label}); err != nil {
		return err
	}
	return s.do(ctx, change{who: who, action: ActEnrol, resource: Resource{Kind: "person", ID: vid},
		detail: fmt.Sprintf("register credential %x (%s) for %s", c.CredentialID, c.Label, vid),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			id, err := personID(ctx, tx, vid)
			if err != nil {
				return apperr.About(err, "verification_id")
			}
			if err := refuseIfAny(ctx, tx, apperr.New(apperr.Conflict, "this credential is already registered", "この照合情報は既に登録されています"), `SELECT COUNT(*) FROM staff_credential WHERE credential_id = ?`, c.CredentialID); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO staff_credential (person_id, credential_id, data, label, registered_by, registered_at, registered_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				id, c.CredentialID, c.Data, c.Label, who.Actor.String(), now, seq)
			return err
		}})
}

// RegisterFirstCredential enters the first system administrator's
// credential, as the node itself (the link jukinet init printed): only
// while that person is the only staff member and no credential exists.
func (s *Store) RegisterFirstCredential(ctx context.Context, vid string, c Credential) error {
	if err := resident.CheckValues(resident.Value{Field: FieldCredentialLabel, Text: c.Label}); err != nil {
		return err
	}
	e := s.asNode(ActEnrol, "person:"+vid, fmt.Sprintf("register credential %x (%s) for %s", c.CredentialID, c.Label, vid),
		"the first system administrator's credential")
	return s.commit(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
		var people, creds int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM staff_person`).Scan(&people); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM staff_credential`).Scan(&creds); err != nil {
			return err
		}
		if people != 1 || creds != 0 {
			return apperr.New(apperr.Forbidden, "the first credential is registered only once, for the only staff member",
				"最初の照合情報の登録は、職員が一人で照合情報が未登録のときだけ行えます")
		}
		id, err := personID(ctx, tx, vid)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO staff_credential (person_id, credential_id, data, label, registered_by, registered_at, registered_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, c.CredentialID, c.Data, c.Label, e.Actor.String(), now, seq)
		return err
	})
}

// RemoveCredential removes a credential from use; the register keeps the
// entry with who removed it, when and why (lost, transfer, retirement …).
func (s *Store) RemoveCredential(ctx context.Context, who Who, id int64, reason string) error {
	if err := required([2]string{"reason", reason}); err != nil {
		return err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldRemovalReason, Text: reason}); err != nil {
		return err
	}
	var vid string
	if err := s.db.QueryRow(ctx, `SELECT p.verification_id FROM staff_credential c JOIN staff_person p ON p.id = c.person_id WHERE c.id = ?`, id).Scan(&vid); err != nil {
		return apperr.New(apperr.NotFound, fmt.Sprintf("no credential %d", id), fmt.Sprintf("照合情報 %d はありません", id))
	}
	// The resource is the credential, not the person: removing one is
	// never refused for the person's training (koto-ward:13/trained-operator).
	return s.do(ctx, change{who: who, action: ActEnrol, resource: Resource{Kind: "credential", ID: vid},
		detail: fmt.Sprintf("remove credential %d of %s: %s", id, vid, reason),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE staff_credential SET removed_at = ?, removed_by = ?, removed_reason = ?, removed_seq = ? WHERE id = ? AND removed_at IS NULL`,
				now, who.Actor.String(), reason, seq, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("credential %d was already removed", id), "この照合情報は既に削除されています")
			}
			return nil
		}})
}

// Scope is what a suspension covers.
type Scope string

// The scopes of a suspension.
const (
	ScopeNode       Scope = "node"
	ScopeDepartment Scope = "department"
	ScopeTerminal   Scope = "terminal"
	ScopeOperator   Scope = "operator"
	ScopeAffair     Scope = "affair"
	// ScopePeer covers the notifications of one downstream node (at a
	// prefecture or the national node); ScopeOutbound this node's own
	// notifications to its upstream.
	ScopePeer     Scope = "peer"
	ScopeOutbound Scope = "outbound"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeNode, ScopeDepartment, ScopeTerminal, ScopeOperator, ScopeAffair, ScopePeer, ScopeOutbound}

// Suspension is a suspension of use (利用停止, koto-ward:7.1).
type Suspension struct {
	ID         int64
	Scope      Scope
	Target     string // department, terminal, operator (照合ID), affair id or peer code; empty for the node and outbound
	Reason     string
	OrderedBy  string
	StartedAt  time.Time
	LiftedAt   time.Time
	LiftedBy   string
	LiftReason string // why it was lifted
	// Confirmed is the orderer's confirmation that the whole node is to
	// stop: a whole-node suspension stops every clerk, so it is never made
	// by a slip (a scope left at its default, a forgotten target). Asked
	// for ScopeNode only; not stored.
	Confirmed bool
}

// What a suspension's text may hold (docs/fields.md). The target is an id
// (a department, terminal, verification id, affair or node code) checked
// against the register in the suspension's transaction, after its attempt
// is logged: so it is checked as text first.
var (
	FieldSuspensionTarget = resident.Field{Name: "target", Japanese: "停止の対象", Class: resident.ClassText, Max: 64}
	FieldSuspensionReason = resident.Field{Name: "reason", Japanese: "停止の理由", Class: resident.ClassText, Max: 200}
	FieldLiftReason       = resident.Field{Name: "reason", Japanese: "解除の理由", Class: resident.ClassText, Max: 200}
)

// scopeJA names the scopes in messages.
var scopeJA = map[Scope]string{
	ScopeNode: "システム全体", ScopeDepartment: "部署", ScopeTerminal: "端末", ScopeOperator: "操作者（照合ID）",
	ScopeAffair: "利用事務", ScopePeer: "下位ノード", ScopeOutbound: "上位ノードへの通知",
}

// Suspend suspends use of the register for a scope; it takes effect for
// the next request. The target must exist when the suspension is made
// (checked in its transaction): a typo must not leave the real target
// usable while the list says it is suspended. A whole-node suspension
// takes no target and must be confirmed.
func (s *Store) Suspend(ctx context.Context, who Who, sp Suspension) (int64, error) {
	if !slices.Contains(Scopes, sp.Scope) {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("scope %q: use node, department, terminal, operator, affair, peer or outbound", sp.Scope), "停止の範囲を選んでください")
	}
	if err := required([2]string{"reason", sp.Reason}); err != nil {
		return 0, err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldSuspensionReason, Text: sp.Reason}, resident.Value{Field: FieldSuspensionTarget, Text: sp.Target}); err != nil {
		return 0, err
	}
	switch sp.Scope {
	case ScopeNode, ScopeOutbound:
		if sp.Target != "" {
			return 0, apperr.New(apperr.Invalid,
				fmt.Sprintf("a %s suspension takes no target, but %q was given: to suspend %q alone, choose its scope (department, terminal, operator, affair or peer)", sp.Scope, sp.Target, sp.Target),
				fmt.Sprintf("「%s」の停止には対象を指定しません（「%s」が指定されました）。「%s」だけを停止するときは、その範囲（部署・端末・操作者・利用事務・下位ノード）を選んでください", scopeJA[sp.Scope], sp.Target, sp.Target))
		}
		if sp.Scope == ScopeNode && !sp.Confirmed {
			return 0, apperr.New(apperr.Invalid, "suspending the whole node stops every use of the register: confirm it (--confirm-node, or tick the confirmation)",
				"システム全体の利用停止は、すべての職員の利用を止めます。確認の欄にチェックを入れてから実行してください")
		}
	default:
		if sp.Target == "" {
			return 0, apperr.New(apperr.Invalid, fmt.Sprintf("a %s suspension needs its target (--target)", sp.Scope), fmt.Sprintf("停止する%sを選んでください", scopeJA[sp.Scope]))
		}
	}
	var id int64
	err := s.do(ctx, change{who: who, action: ActSuspend, resource: Resource{Kind: "node", ID: s.node},
		detail: fmt.Sprintf("suspend %s %s: %s", sp.Scope, sp.Target, sp.Reason),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := s.checkTarget(ctx, tx, sp.Scope, sp.Target); err != nil {
				return err
			}
			// A second order for what is already suspended would outlive
			// the lifting of the first: refused, naming the one in force.
			var existing int64
			err := tx.QueryRow(ctx, `SELECT id FROM suspension WHERE scope = ? AND target = ? AND lifted_at IS NULL ORDER BY id LIMIT 1`, string(sp.Scope), sp.Target).Scan(&existing)
			switch {
			case err == nil:
				return apperr.New(apperr.Conflict, fmt.Sprintf("%s %s is already suspended (suspension %d)", sp.Scope, sp.Target, existing),
					fmt.Sprintf("この対象は既に利用停止中です（停止番号 %d）", existing))
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("read suspensions in force: %w", err)
			}
			id, err = insertID(ctx, tx, `INSERT INTO suspension (scope, target, reason, ordered_by, started_at, started_seq) VALUES (?, ?, ?, ?, ?, ?)`,
				string(sp.Scope), sp.Target, sp.Reason, who.Actor.String(), now, seq)
			return err
		}})
	return id, err
}

// checkTarget returns a not-found error naming the scope and the target
// unless the target of a suspension exists and is in use: a department or
// affair of the profile, a terminal not retired, a staff member who has
// not left, a registered downstream node.
func (s *Store) checkTarget(ctx context.Context, tx *db.Tx, scope Scope, target string) error {
	var found bool
	switch scope {
	case ScopeNode, ScopeOutbound:
		return nil
	case ScopeDepartment:
		_, found = s.prof.Department(target)
	case ScopeAffair:
		_, found = s.prof.Affair(target)
	default:
		var query string
		args := []any{target}
		switch scope {
		case ScopeTerminal:
			query = `SELECT COUNT(*) FROM staff_terminal WHERE id = ? AND retired_at IS NULL`
		case ScopeOperator:
			query, args = `SELECT COUNT(*) FROM staff_person WHERE verification_id = ? AND active = ?`, append(args, true)
		case ScopePeer:
			// The peer register is the network's (internal/federation);
			// only whether the code is there is read here.
			query = `SELECT COUNT(*) FROM fed_peer WHERE code = ? AND role = 'downstream'`
		}
		var n int
		if err := tx.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			return fmt.Errorf("check the %s %s: %w", scope, target, err)
		}
		found = n > 0
	}
	if found {
		return nil
	}
	en := map[Scope]string{
		ScopeDepartment: "profile %[2]s has no department %[1]q",
		ScopeAffair:     "profile %[2]s has no affair %[1]q",
		ScopeTerminal:   "no terminal %[1]q is in use (not registered, or retired)",
		ScopeOperator:   "no staff member with verification id %[1]q is in post (not registered, or left)",
		ScopePeer:       "no downstream node %[1]q is registered",
	}[scope]
	ja := map[Scope]string{
		ScopeDepartment: "部署「%s」はこの規程にありません",
		ScopeAffair:     "利用事務「%s」はこの規程にありません",
		ScopeTerminal:   "端末「%s」は登録されていないか、廃止されています",
		ScopeOperator:   "照合ID「%s」の職員は登録されていないか、異動・退職済みです",
		ScopePeer:       "下位ノード「%s」は登録されていません",
	}[scope]
	return apperr.New(apperr.NotFound, fmt.Sprintf("suspension of %s %q: ", scope, target)+fmt.Sprintf(en, target, s.prof.ID),
		fmt.Sprintf("停止の対象（%s）: ", scopeJA[scope])+fmt.Sprintf(ja, target)+"。一覧から選んでください")
}

// Lift ends a suspension; the reason is required, stored with it and
// logged, as the order's was.
func (s *Store) Lift(ctx context.Context, who Who, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return apperr.New(apperr.Invalid, fmt.Sprintf("lifting suspension %d needs its reason (--reason)", id),
			fmt.Sprintf("利用停止 %d を解除する理由を入力してください", id))
	}
	if err := resident.CheckValues(resident.Value{Field: FieldLiftReason, Text: reason}); err != nil {
		return err
	}
	return s.do(ctx, change{who: who, action: ActSuspend, resource: Resource{Kind: "node", ID: s.node},
		detail: fmt.Sprintf("lift suspension %d: %s", id, reason),
		work: func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE suspension SET lifted_at = ?, lifted_by = ?, lifted_seq = ?, lifted_reason = ? WHERE id = ? AND lifted_at IS NULL`,
				now, who.Actor.String(), seq, reason, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.NotFound, fmt.Sprintf("no active suspension %d", id), fmt.Sprintf("有効な利用停止 %d はありません", id))
			}
			return nil
		}})
}
