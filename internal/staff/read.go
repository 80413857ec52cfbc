package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/db"
	"jukinet/internal/profile"
)

func timeOf(t sql.NullTime) time.Time {
	if t.Valid {
		return t.Time
	}
	return time.Time{}
}

// Terminal returns one terminal.
func (s *Store) Terminal(ctx context.Context, id string) (Terminal, error) {
	ts, err := s.terminals(ctx, `WHERE t.id = ?`, id)
	if err != nil {
		return Terminal{}, err
	}
	if len(ts) == 0 {
		return Terminal{}, apperr.New(apperr.NotFound, fmt.Sprintf("no terminal %s", id), fmt.Sprintf("端末 %s は登録されていません", id))
	}
	return ts[0], nil
}

// Terminals lists every terminal, retired ones too.
func (s *Store) Terminals(ctx context.Context) ([]Terminal, error) { return s.terminals(ctx, ``) }

func (s *Store) terminals(ctx context.Context, where string, args ...any) ([]Terminal, error) {
	rows, err := s.db.Query(ctx, `SELECT t.id, t.name, t.department_id, t.location, t.approved_by, t.approved_at,
		COALESCE(p.verification_id, ''), COALESCE(p.name, ''), t.manager_title, t.manager_reported_at, t.retired_at
		FROM staff_terminal t LEFT JOIN staff_person p ON p.id = t.manager_person_id `+where+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list terminals: %w", err)
	}
	defer rows.Close()
	var out []Terminal
	for rows.Next() {
		var t Terminal
		var reported, retired sql.NullTime
		if err := rows.Scan(&t.ID, &t.Name, &t.Department, &t.Location, &t.ApprovedBy, &t.ApprovedAt,
			&t.ManagerVID, &t.ManagerName, &t.ManagerTitle, &reported, &retired); err != nil {
			return nil, fmt.Errorf("list terminals: %w", err)
		}
		t.ReportedAt, t.RetiredAt = timeOf(reported), timeOf(retired)
		out = append(out, t)
	}
	return out, rows.Err()
}

// People lists every staff member, those who left too.
func (s *Store) People(ctx context.Context) ([]Person, error) {
	rows, err := s.db.Query(ctx, `SELECT id, verification_id, name, name_kana, department_id, title, active, created_at, left_at, left_reason
		FROM staff_person ORDER BY department_id, verification_id`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var p Person
		var left sql.NullTime
		if err := rows.Scan(&p.ID, &p.VerificationID, &p.Name, &p.NameKana, &p.Department, &p.Title, &p.Active, &p.CreatedAt, &left, &p.LeftReason); err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		p.LeftAt = timeOf(left)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Credentials is the enrolment register (照合情報認証管理簿): every
// credential ever registered, removed ones included, oldest first.
func (s *Store) Credentials(ctx context.Context) ([]Credential, error) {
	rows, err := s.db.Query(ctx, `SELECT c.id, p.verification_id, p.name, c.credential_id, c.data, c.label, c.registered_by, c.registered_at,
		c.removed_at, c.removed_by, c.removed_reason FROM staff_credential c JOIN staff_person p ON p.id = c.person_id ORDER BY c.id`)
	if err != nil {
		return nil, fmt.Errorf("read enrolment register: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var c Credential
		var removed sql.NullTime
		if err := rows.Scan(&c.ID, &c.PersonVID, &c.PersonName, &c.CredentialID, &c.Data, &c.Label, &c.RegisteredBy, &c.RegisteredAt,
			&removed, &c.RemovedBy, &c.RemovedReason); err != nil {
			return nil, fmt.Errorf("read enrolment register: %w", err)
		}
		c.RemovedAt = timeOf(removed)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Suspensions lists suspensions, newest first; active only when asked.
func (s *Store) Suspensions(ctx context.Context, activeOnly bool) ([]Suspension, error) {
	return suspensions(ctx, s.db, activeOnly)
}

// ListSuspensions is Store.Suspensions for a reader without the store (a
// command that has not opened the gate).
func ListSuspensions(ctx context.Context, q db.Querier, activeOnly bool) ([]Suspension, error) {
	return suspensions(ctx, q, activeOnly)
}

func suspensions(ctx context.Context, q db.Querier, activeOnly bool) ([]Suspension, error) {
	where := ""
	if activeOnly {
		where = "WHERE lifted_at IS NULL"
	}
	rows, err := q.Query(ctx, `SELECT id, scope, target, reason, ordered_by, started_at, lifted_at, lifted_by, lifted_reason FROM suspension `+where+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list suspensions: %w", err)
	}
	defer rows.Close()
	var out []Suspension
	for rows.Next() {
		var sp Suspension
		var scope string
		var lifted sql.NullTime
		if err := rows.Scan(&sp.ID, &scope, &sp.Target, &sp.Reason, &sp.OrderedBy, &sp.StartedAt, &lifted, &sp.LiftedBy, &sp.LiftReason); err != nil {
			return nil, fmt.Errorf("list suspensions: %w", err)
		}
		sp.Scope, sp.LiftedAt = Scope(scope), timeOf(lifted)
		out = append(out, sp)
	}
	return out, rows.Err()
}

// State is what a policy decision needs of the staff data, as of Version.
type State struct {
	Version     int64
	People      map[string]*Member   // active people by verification id
	Terminals   map[string]Terminal  // terminals in use by id
	Suspensions []Suspension         // active
	Recipients  map[string]Recipient // registered recipient bodies by id
}

// Member is an active staff member with what they hold.
type Member struct {
	Person
	Roles            []profile.RoleID            // node-wide roles
	DepartmentRoles  map[profile.RoleID][]string // per-department roles → departments
	Affairs          []string                    // designated affairs (取扱者)
	ManagedTerminals []string
}

// Load reads the staff state in one read transaction.
func Load(ctx context.Context, d *db.DB) (*State, error) {
	st := &State{People: map[string]*Member{}, Terminals: map[string]Terminal{}, Recipients: map[string]Recipient{}}
	err := d.ReadTx(ctx, func(q db.Querier) error {
		var err error
		if st.Version, err = Version(ctx, q); err != nil {
			return err
		}
		byID := map[int64]*Member{}
		rows, err := q.Query(ctx, `SELECT id, verification_id, name, name_kana, department_id, title, created_at FROM staff_person WHERE active = ?`, true)
		if err != nil {
			return err
		}
		for rows.Next() {
			m := &Member{DepartmentRoles: map[profile.RoleID][]string{}}
			if err := rows.Scan(&m.ID, &m.VerificationID, &m.Name, &m.NameKana, &m.Department, &m.Title, &m.CreatedAt); err != nil {
				rows.Close()
				return err
			}
			m.Active = true
			st.People[m.VerificationID], byID[m.ID] = m, m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.Query(ctx, `SELECT person_id, role, department_id FROM staff_role WHERE ended_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var role, dept string
			if err := rows.Scan(&id, &role, &dept); err != nil {
				rows.Close()
				return err
			}
			if m := byID[id]; m != nil {
				if dept == "" {
					m.Roles = append(m.Roles, profile.RoleID(role))
				} else {
					m.DepartmentRoles[profile.RoleID(role)] = append(m.DepartmentRoles[profile.RoleID(role)], dept)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.Query(ctx, `SELECT person_id, affair_id FROM staff_designation WHERE ended_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var affair string
			if err := rows.Scan(&id, &affair); err != nil {
				rows.Close()
				return err
			}
			if m := byID[id]; m != nil {
				m.Affairs = append(m.Affairs, affair)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.Query(ctx, `SELECT id, name, department_id, location, manager_person_id FROM staff_terminal WHERE retired_at IS NULL`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var t Terminal
			var manager sql.NullInt64
			if err := rows.Scan(&t.ID, &t.Name, &t.Department, &t.Location, &manager); err != nil {
				rows.Close()
				return err
			}
			if m := byID[manager.Int64]; manager.Valid && m != nil {
				t.ManagerVID = m.VerificationID
				m.ManagedTerminals = append(m.ManagedTerminals, t.ID)
			}
			st.Terminals[t.ID] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if st.Suspensions, err = suspensions(ctx, q, true); err != nil {
			return err
		}
		rs, err := recipients(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range rs {
			st.Recipients[r.ID] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load staff state: %w", err)
	}
	return st, nil
}

// ActiveCredentials returns the credentials in use of an active staff
// member (removed ones are not).
func (s *Store) ActiveCredentials(ctx context.Context, vid string) ([]Credential, error) {
	rows, err := s.db.Query(ctx, `SELECT c.id, p.verification_id, p.name, c.credential_id, c.data, c.label, c.registered_by, c.registered_at
		FROM staff_credential c JOIN staff_person p ON p.id = c.person_id
		WHERE p.verification_id = ? AND p.active = ? AND c.removed_at IS NULL ORDER BY c.id`, vid, true)
	if err != nil {
		return nil, fmt.Errorf("read credentials of %s: %w", vid, err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var c Credential
		if err := rows.Scan(&c.ID, &c.PersonVID, &c.PersonName, &c.CredentialID, &c.Data, &c.Label, &c.RegisteredBy, &c.RegisteredAt); err != nil {
			return nil, fmt.Errorf("read credentials of %s: %w", vid, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Person returns an active staff member.
func (s *Store) Person(ctx context.Context, vid string) (Person, error) {
	var p Person
	err := s.db.QueryRow(ctx, `SELECT id, verification_id, name, name_kana, department_id, title, active, created_at FROM staff_person WHERE verification_id = ? AND active = ?`, vid, true).
		Scan(&p.ID, &p.VerificationID, &p.Name, &p.NameKana, &p.Department, &p.Title, &p.Active, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.New(apperr.NotFound, fmt.Sprintf("no active staff member has verification id %s", vid), fmt.Sprintf("照合ID %s の職員は登録されていないか、異動・退職済みです", vid))
	}
	if err != nil {
		return p, fmt.Errorf("find staff member %s: %w", vid, err)
	}
	return p, nil
}

// UpdateCredentialData stores a credential's state after a sign-in (its
// signature counter and flags), in the caller's transaction. The sign-in's
// audit entry records it.
func UpdateCredentialData(ctx context.Context, tx *db.Tx, credentialID []byte, data string) error {
	if _, err := tx.Exec(ctx, `UPDATE staff_credential SET data = ? WHERE credential_id = ? AND removed_at IS NULL`, data, credentialID); err != nil {
		return fmt.Errorf("update credential: %w", err)
	}
	return nil
}

// Designation is a designation of a terminal operator (取扱者) for an
// affair in force, and since when.
type Designation struct {
	VerificationID string
	Name           string
	Department     string
	Affair         string
	Since          time.Time
}

// Designations lists the designations in force of active staff members, by
// verification id and affair: what a system audit compares with the log's
// uses (internal/sysaudit).
func Designations(ctx context.Context, q db.Querier) ([]Designation, error) {
	rows, err := q.Query(ctx, `SELECT p.verification_id, p.name, p.department_id, d.affair_id, d.started_at
		FROM staff_designation d JOIN staff_person p ON p.id = d.person_id
		WHERE d.ended_at IS NULL AND p.active = ? ORDER BY p.verification_id, d.affair_id`, true)
	if err != nil {
		return nil, fmt.Errorf("list designations: %w", err)
	}
	defer rows.Close()
	var out []Designation
	for rows.Next() {
		var d Designation
		if err := rows.Scan(&d.VerificationID, &d.Name, &d.Department, &d.Affair, &d.Since); err != nil {
			return nil, fmt.Errorf("list designations: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
